"""The audit log: append-only in the database itself, and one row for every API call."""

import re
from datetime import UTC, timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from governance.audit.models import AuditEntry
from governance.audit.services import audit_record
from tests.conftest import api_client_for, audit_rows, job_in


def _refused(operation: str) -> str:
    return re.escape(f"audit_auditentry is append-only ({operation} refused)")


@pytest.fixture
def acme_entry(acme):
    """One row in acme's log, so row-level triggers have something to fire on."""
    with schema_context(acme.schema_name):
        return audit_record(actor="user:acme-admin", action="test.written", details={"n": 1})


@pytest.mark.parametrize(("sql", "operation"), [
    ("UPDATE audit_auditentry SET actor = 'someone else'", "UPDATE"),
    ("DELETE FROM audit_auditentry", "DELETE"),
    ("TRUNCATE audit_auditentry", "TRUNCATE"),
])
def test_raw_sql_cannot_change_the_log(acme, acme_entry, sql, operation):
    with schema_context(acme.schema_name):
        # when someone with SQL access tries to rewrite history (in a savepoint, so the test goes on)
        with pytest.raises(DatabaseError, match=_refused(operation)), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(sql)

        # then the row is still there, unchanged
        row = AuditEntry.objects.get(pk=acme_entry.pk)
    assert (row.actor, row.action, row.details) == ("user:acme-admin", "test.written", {"n": 1})


def test_orm_update_is_refused(acme, acme_entry):
    with schema_context(acme.schema_name):
        with pytest.raises(DatabaseError, match=_refused("UPDATE")), transaction.atomic():
            AuditEntry.objects.filter(pk=acme_entry.pk).update(outcome="denied")
        with pytest.raises(DatabaseError, match=_refused("UPDATE")), transaction.atomic():
            acme_entry.actor = "someone else"
            acme_entry.save()
        row = AuditEntry.objects.get(pk=acme_entry.pk)
    assert (row.actor, row.outcome) == ("user:acme-admin", "success")


def test_orm_delete_is_refused(acme, acme_entry):
    with schema_context(acme.schema_name):
        with pytest.raises(DatabaseError, match=_refused("DELETE")), transaction.atomic():
            AuditEntry.objects.filter(pk=acme_entry.pk).delete()
        with pytest.raises(DatabaseError, match=_refused("DELETE")), transaction.atomic():
            AuditEntry.objects.get(pk=acme_entry.pk).delete()
        assert AuditEntry.objects.filter(pk=acme_entry.pk).exists()


@pytest.mark.parametrize("schema", ["public", "megamart"])
def test_every_schemas_log_is_append_only(db, schema):
    with schema_context(schema):
        entry = audit_record(actor="test", action="test.written")
        with pytest.raises(DatabaseError, match=_refused("DELETE")), transaction.atomic():
            AuditEntry.objects.filter(pk=entry.pk).delete()
        assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_every_api_call_writes_one_row(acme):
    # given a job, so the route has an id in it
    job = job_in(acme)
    client = api_client_for(acme, username="acme-analyst")
    before = timezone.now()

    # when the analyst reads it
    response = client.get(f"/api/v1/jobs/{job.id}")

    # then one row records who called which route, how it went, under the response's request id
    assert response.status_code == 200
    [row] = audit_rows(acme, request_id=response["X-Request-ID"])
    assert (row.actor, row.action, row.object_type, row.object_id, row.outcome, row.ip) == (
        "user:acme-analyst", "api.get", "route", "api/v1/jobs/<str:job_id>", "success", "127.0.0.1"
    )
    assert row.details == {
        "method": "GET", "path": f"/api/v1/jobs/{job.id}", "status": 200, "ids": {"job_id": str(job.id)}
    }
    assert row.created_at.utcoffset() == timedelta(0)
    assert row.created_at.tzinfo == UTC
    assert before <= row.created_at <= timezone.now()


def test_caller_supplied_request_id_is_kept(acme):
    client = api_client_for(acme, username="acme-viewer")

    response = client.get("/api/v1/me", HTTP_X_REQUEST_ID="trace-0123456789")

    assert response["X-Request-ID"] == "trace-0123456789"
    [row] = audit_rows(acme, request_id="trace-0123456789")
    assert (row.action, row.object_id) == ("api.get", "api/v1/me")


def test_unsafe_request_id_is_replaced(acme):
    response = api_client_for(acme, username="acme-viewer").get("/api/v1/me", HTTP_X_REQUEST_ID="bad id; drop")

    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
    assert len(audit_rows(acme, request_id=response["X-Request-ID"])) == 1


@pytest.mark.parametrize(("username", "path", "status", "outcome"), [
    (None, "/api/v1/me", 401, "denied"),
    ("acme-viewer", "/api/v1/api-keys", 403, "denied"),
    ("acme-viewer", "/api/v1/jobs/not-a-job", 404, "failure"),
    ("acme-viewer", "/api/v1/no-such-route", 404, "failure"),
])
def test_refused_and_failed_calls_are_logged_too(acme, username, path, status, outcome):
    response = api_client_for(acme, username=username).get(path)

    assert response.status_code == status
    [row] = audit_rows(acme, request_id=response["X-Request-ID"])
    assert (row.actor, row.action, row.outcome, row.details["status"]) == (
        f"user:{username}" if username else "anonymous", "api.get", outcome, status
    )


def test_writes_log_the_call_and_the_change(acme):
    job = job_in(acme)

    response = api_client_for(acme, username="acme-analyst").post(f"/api/v1/jobs/{job.id}/cancel")

    rows = audit_rows(acme, request_id=response["X-Request-ID"])
    assert [(row.actor, row.action, row.outcome) for row in rows] == [
        ("user:acme-analyst", "job.cancel", "success"),
        ("user:acme-analyst", "api.post", "success"),
    ]

