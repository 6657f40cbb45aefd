"""The jobs API (detail, list, cancel) and the fail-closed rule of tenant tasks."""

import uuid

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from governance.audit.models import AuditEntry
from inference.tasks import generate_text
from rmn_saas.errors import NOT_FOUND_MESSAGE
from tenants.jobs.runner import TENANT_REQUIRED, TenantRequired
from tenants.jobs.services import JOB_ALREADY_FINISHED
from tests.conftest import api_client_for, audit_rows, job_in, job_reloaded


def test_job_detail_returns_status_progress_and_result(acme):
    # given a finished job
    job = job_in(acme, status="succeeded", progress=1.0, message="done", result={"text": "Hi!", "seconds": 0.5},
                 created_by="user:acme-analyst")

    # when a viewer polls it
    response = api_client_for(acme, username="acme-viewer").get(f"/api/v1/jobs/{job.id}")

    # then
    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in ("id", "kind", "status", "progress", "message", "result", "error",
                                       "created_by", "started_at", "finished_at")} == {
        "id": str(job.id), "kind": "generate", "status": "succeeded", "progress": 1.0, "message": "done",
        "result": {"text": "Hi!", "seconds": 0.5}, "error": None, "created_by": "user:acme-analyst",
        "started_at": None, "finished_at": None,
    }


def test_job_detail_of_a_failed_job_carries_the_error(acme):
    job = job_in(acme, status="failed", error={"code": "prompt_too_long", "message": "too long"})

    body = api_client_for(acme, username="acme-viewer").get(f"/api/v1/jobs/{job.id}").json()

    assert (body["status"], body["result"], body["error"]) == (
        "failed", None, {"code": "prompt_too_long", "message": "too long"}
    )


@pytest.mark.parametrize("job_id", ["not-a-uuid", str(uuid.uuid4())])
def test_unknown_job_is_404(acme, job_id):
    response = api_client_for(acme, username="acme-viewer").get(f"/api/v1/jobs/{job_id}")

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": NOT_FOUND_MESSAGE, "details": {}}}


def test_job_list_filters_by_status(acme):
    queued = job_in(acme)
    done = job_in(acme, status="succeeded", progress=1.0)
    client = api_client_for(acme, username="acme-viewer")

    response = client.get("/api/v1/jobs", {"status": "queued"})
    invalid = client.get("/api/v1/jobs", {"status": "sleeping"})

    listed = response.json()
    assert {item["status"] for item in listed} == {"queued"}
    assert str(queued.id) in [item["id"] for item in listed]
    assert str(done.id) not in [item["id"] for item in listed]
    assert invalid.status_code == 400
    assert invalid.json()["error"]["details"] == {"status": "one of queued, running, succeeded, failed, cancelled"}


@pytest.mark.parametrize("status", ["queued", "running"])
def test_cancel_an_unfinished_job(acme, status):
    # given a job not yet finished
    job = job_in(acme, status=status)

    # when an analyst cancels it
    response = api_client_for(acme, username="acme-analyst").post(f"/api/v1/jobs/{job.id}/cancel")

    # then it is cancelled, stored so, and the cancel is audited once
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["message"]) == ("cancelled", "cancelled by user:acme-analyst")
    assert body["finished_at"] is not None
    assert job_reloaded(acme, job).status == "cancelled"
    rows = audit_rows(acme, action="job.cancel", object_id=str(job.id))
    assert [(row.actor, row.object_type, row.object_id, row.request_id) for row in rows] == [
        ("user:acme-analyst", "job", str(job.id), response["X-Request-ID"])
    ]


@pytest.mark.parametrize("status", ["succeeded", "failed", "cancelled"])
def test_cancel_a_finished_job_is_409(acme, status):
    # given a finished job
    job = job_in(acme, status=status)

    # when an analyst cancels it
    response = api_client_for(acme, username="acme-analyst").post(f"/api/v1/jobs/{job.id}/cancel")

    # then it is refused and unchanged
    assert response.status_code == 409
    assert response.json() == {
        "error": {"code": "job_finished", "message": JOB_ALREADY_FINISHED, "details": {"status": status}}
    }
    assert job_reloaded(acme, job).status == status
    assert audit_rows(acme, action="job.cancel", object_id=str(job.id)) == []


def _audit_counts() -> dict[str, int]:
    counts = {}
    for schema in ("public", "acme", "megamart"):
        with schema_context(schema):
            counts[schema] = AuditEntry.objects.count()
    return counts


def test_task_sent_without_a_tenant_fails_closed(acme):
    # given a queued job of acme, and a connection on the public schema (as when no tenant was sent)
    job = job_in(acme)
    connection.set_schema_to_public()
    audits_before = _audit_counts()

    # when its task runs
    result = generate_text.apply(args=[str(job.id)])

    # then it refuses before touching anything
    assert result.failed()
    assert isinstance(result.result, TenantRequired)
    assert str(result.result) == TENANT_REQUIRED
    assert "TenantRequired" in result.traceback
    with pytest.raises(TenantRequired, match=TENANT_REQUIRED):
        generate_text.apply(args=[str(job.id)], throw=True)
    reloaded = job_reloaded(acme, job)
    assert (reloaded.status, reloaded.started_at, reloaded.progress) == ("queued", None, 0.0)
    assert _audit_counts() == audits_before


def test_task_sent_for_the_public_schema_fails_closed(acme):
    # Naming the platform's schema explicitly is no better than naming none.
    job = job_in(acme)

    result = generate_text.apply(args=[str(job.id)], headers={"_schema_name": "public"})

    assert isinstance(result.result, TenantRequired)
    assert job_reloaded(acme, job).status == "queued"


def test_task_for_a_missing_job_returns_quietly(acme):
    # given the acme schema on the connection, as the worker sets it from the task's header
    with schema_context(acme.schema_name):
        result = generate_text.apply(args=[str(uuid.uuid4())])

    assert result.successful()
    assert result.result is None
