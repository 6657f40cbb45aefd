"""Tenant isolation of the API: another tenant's user, JWT, API key or object id gets 401/404, never data.

Every refusal leaves exactly one audit row, in the schema of the tenant whose domain was called.
"""

import datetime as dt
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context
from rest_framework.exceptions import NotAuthenticated
from rest_framework.test import APIClient

from governance.policies.demo import MEGAMART_POLICY_RULES
from rmn_saas import api_urls
from rmn_saas.errors import NOT_FOUND_MESSAGE
from tenants.api import BAD_CREDENTIALS
from tenants.authentication import INVALID_API_KEY, WRONG_TENANT_TOKEN
from tenants.jobs.models import Job
from tenants.models import ApiKey
from tests.conftest import (
    PASSWORD,
    api_client_for,
    api_key_for,
    audit_rows,
    host_of,
    job_in,
    job_reloaded,
    jwt_for,
)
from tests.inference.adapters.builders import lora_files


def _upload() -> dict:
    """A multipart body with a fresh file for each call (a file is read once)."""
    return {"file": SimpleUploadedFile("export.csv", b"Date,Clicks\n2026-05-01,3\n")}


def _adapter_upload() -> dict:
    return {"name": "isolation-voice", "files": lora_files()}


SPEC = {"name": "isolation-spec", "network": "kroger", "columns": {"date": {"headers": ["Date"], "transform": "date"}}}

# (route name, method, path, body): every route of a tenant's API that takes credentials. A callable body is sent
# as multipart.
ROUTES = [
    ("me", "GET", "/api/v1/me", None),
    ("api-keys", "GET", "/api/v1/api-keys", None),
    ("api-keys", "POST", "/api/v1/api-keys", {"name": "stolen", "role": "admin"}),
    ("api-key-revoke", "POST", "/api/v1/api-keys/{key_id}/revoke", None),
    ("jobs", "GET", "/api/v1/jobs", None),
    ("job-detail", "GET", "/api/v1/jobs/{job_id}", None),
    ("job-cancel", "POST", "/api/v1/jobs/{job_id}/cancel", None),
    ("generate", "POST", "/api/v1/generate", {"prompt": "hello", "max_new_tokens": 8}),
    ("rag-search", "POST", "/api/v1/rag/search", {"query": "Can I say lowest price?"}),
    ("ingest", "POST", "/api/v1/ingest", _upload),
    ("ingest-batches", "GET", "/api/v1/ingest/batches", None),
    ("ingest-batch-detail", "GET", "/api/v1/ingest/batches/{batch_id}", None),
    ("ingest-batch-rejects", "GET", "/api/v1/ingest/batches/{batch_id}/rejects.csv", None),
    ("mapping-specs", "GET", "/api/v1/mapping-specs", None),
    ("mapping-specs", "POST", "/api/v1/mapping-specs", SPEC),
    ("rmis-metrics", "GET", "/api/v1/rmis/metrics", None),
    ("optimize-allocate", "POST", "/api/v1/optimize/allocate", {
        "cells": [{"id": "x", "path": ["onsite", "x"], "curve": {"form": "exp", "vmax": 100, "h": 50},
                   "margin_rate": 0.3}],
        "constraints": {"budget": "100"}}),
    ("experiments", "GET", "/api/v1/experiments", None),
    ("experiment-detail", "GET", "/api/v1/experiments/{experiment_id}", None),
    ("experiment-readout", "POST", "/api/v1/experiments/{experiment_id}/readout", {"spend": "100"}),
    ("experiment-cancel", "POST", "/api/v1/experiments/{experiment_id}/cancel", None),
    ("experiments-power", "POST", "/api/v1/experiments/power", {"kind": "proportion", "baseline": 0.02,
                                                              "lift": 0.1}),
    ("plans", "GET", "/api/v1/plans", None),
    ("plans", "POST", "/api/v1/plans", {"budget": "1000", "scope": {"days": 7}}),
    ("plan-detail", "GET", "/api/v1/plans/{plan_id}", None),
    ("plan-compare", "GET", "/api/v1/plans/{plan_id}/compare/{other_id}", None),
    ("leases", "GET", "/api/v1/leases", None),
    ("leases", "POST", "/api/v1/leases", {"brand": "acme"}),
    ("lease-detail", "GET", "/api/v1/leases/{lease_id}", None),
    ("lease-revoke", "POST", "/api/v1/leases/{lease_id}/revoke", None),
    ("lease-queries", "GET", "/api/v1/leases/{lease_id}/queries", None),
    ("lease-statement", "GET", "/api/v1/leases/{lease_id}/statement?month=2026-11", None),
    ("cleanroom-query", "POST", "/api/v1/cleanroom/query", {"lease": "{lease_id}", "sql": "SELECT segment, "
                                                            "COUNT(*) FROM segments GROUP BY segment"}),
    ("cleanroom-budget", "GET", "/api/v1/cleanroom/budget?lease={lease_id}", None),
    ("cleanroom-audience", "POST", "/api/v1/cleanroom/audience", {"lease": "{lease_id}", "audience": "vips",
                                                                  "user_keys": ["ab12", "cd34"]}),
    ("audit", "GET", "/api/v1/audit", None),
    ("audit-export", "GET", "/api/v1/audit/export.csv", None),
    ("governance-scan", "POST", "/api/v1/governance/scan", {"kind": "text", "text": "Best cereal ever"}),
    ("governance-redact", "POST", "/api/v1/governance/redact", {"text": "mail jo@example.com", "mode": "mask"}),
    ("governance-check-creative", "POST", "/api/v1/governance/check-creative",
     {"retailer": "megamart", "placement": "in_grid", "text": "Chips"}),
    ("governance-policies", "GET", "/api/v1/governance/policies", None),
    ("governance-policies", "POST", "/api/v1/governance/policies",
     {"retailer": "megamart", "rules": MEGAMART_POLICY_RULES[:1]}),
    ("governance-policy-detail", "GET", "/api/v1/governance/policies/{version}", None),
    ("governance-policy-activate", "POST", "/api/v1/governance/policies/{version}/activate", None),
    ("adapters", "GET", "/api/v1/adapters", None),
    ("adapters", "POST", "/api/v1/adapters", _adapter_upload),
    ("adapter-route", "POST", "/api/v1/adapters/route", {"task": "ad_copy"}),
    ("adapter-detail", "GET", "/api/v1/adapters/{adapter_id}", None),
    ("adapter-detail", "PATCH", "/api/v1/adapters/{adapter_id}", {"metrics": {"rougeL": 0.41}}),
    ("adapter-approve", "POST", "/api/v1/adapters/{adapter_id}/approve", None),
    ("adapter-retire", "POST", "/api/v1/adapters/{adapter_id}/retire", None),
    ("training-runs", "GET", "/api/v1/adapters/train", None),
    ("training-runs", "POST", "/api/v1/adapters/train", {"name": "isolation-voice", "dataset": "isolation"}),
    ("training-run-detail", "GET", "/api/v1/adapters/train/{run_id}", None),
    ("training-run-cancel", "POST", "/api/v1/adapters/train/{run_id}/cancel", None),
    ("training-run-resume", "POST", "/api/v1/adapters/train/{run_id}/resume", None),
]
# Routes only a retailer uses: their control call is megamart's admin on megamart's domain.
RETAILER_ROUTES = {("leases", "POST"), ("lease-revoke", "POST"), ("governance-policies", "GET"),
                   ("governance-policies", "POST"), ("governance-policy-detail", "GET"),
                   ("governance-policy-activate", "POST")}
ID_KEYS = ("job_id", "key_id", "batch_id", "plan_id", "other_id", "experiment_id", "lease_id", "version",
           "adapter_id", "run_id")
# The login routes take no credentials; their cross-tenant cases have their own tests below.
LOGIN_ROUTES = {"token-obtain", "token-refresh"}
ROUTE_PATTERNS = {pattern.name: f"api/v1/{pattern.pattern}" for pattern in api_urls.tenant}
PLATFORM_ROUTES = [route for route in ROUTES if route[0] not in {p.name for p in api_urls.identity}]
ROUTE_IDS = [f"{method} {name}" for name, method, _, _ in ROUTES]


def test_every_tenant_api_route_is_covered():
    # A new route must be added to ROUTES, so its isolation is tested too.
    assert {name for name, *_ in ROUTES} | LOGIN_ROUTES == set(ROUTE_PATTERNS)


@pytest.fixture
def acme_objects(acme, megamart, settings, tmp_path, monkeypatch):
    """A queued job, an active API key, an ingest batch, two plans, an experiment, a draft adapter and a queued
    training run of acme, a lease megamart granted it and a draft policy version of megamart, which the other
    tenant's callers aim at."""
    from campaigns.models import Experiment, IngestBatch, Plan
    from governance.policies.services import policy_import
    from inference.adapters.services import adapter_upload
    from inference.training.datasets import BUILDERS, planner_dataset
    from inference.training.services import training_start
    from tenants.leases import lease_grant

    job = job_in(acme)
    _, key_id = api_key_for(acme, role="viewer", name="acme integration")
    with schema_context(acme.schema_name):
        batch = IngestBatch.objects.create(file_name="export.csv", file_sha256="0" * 64, file_size=10,
                                           spec_name="walmart-ui", spec_version=1, network="walmart",
                                           kind="ad_events", status="loaded", created_by="user:acme-analyst")
        plans = [Plan.objects.create(name=f"acme plan {i}", created_by="user:acme-analyst", status="failed",
                                     request={"budget": "1000"}) for i in range(2)]
        day = dt.date(2026, 12, 1)
        experiment = Experiment.objects.create(name="acme geo", kind="geo", created_by="user:acme-analyst",
                                               retailer="walmart", start_date=day, end_date=day, pre_from=day,
                                               pre_to=day, treated=[["US-W"]], control=["US-NE"])
    lease = lease_grant(retailer=megamart, actor="user:megamart-admin", data={"brand": "acme"})
    draft = policy_import(retailer=megamart, actor="user:megamart-admin",
                          document={"retailer": "megamart", "rules": MEGAMART_POLICY_RULES[:1]})
    settings.RMN_ADAPTER_DIR = tmp_path / "adapters"
    settings.RMN_ADAPTER_SIGNING_KEY, settings.RMN_ADAPTER_SIGNING_KEY_DEFAULT = "", tmp_path / "signing_key.pem"
    adapter = adapter_upload(owner=acme, actor="user:acme-admin", name="acme-voice", kind="brand", files=lora_files())
    monkeypatch.setitem(BUILDERS, ("brand", "isolation"), planner_dataset)  # no brand dataset exists yet
    run = training_start(owner=acme, actor="user:acme-admin", kind="brand", name="acme-voice", dataset="isolation",
                         enqueue=False)
    return {"job_id": str(job.id), "key_id": key_id, "batch_id": str(batch.pk), "job": job,
            "plan_id": str(plans[0].pk), "other_id": str(plans[1].pk), "experiment_id": str(experiment.pk),
            "lease_id": str(lease.pk), "version": str(draft.version), "adapter_id": str(adapter.pk),
            "run_id": str(run.pk)}


def _megamart_caller(kind: str, megamart, acme) -> tuple[APIClient, dict, dict]:
    """A client on acme's domain with megamart's credentials of `kind`; the error and audit details it must get."""
    if kind == "session":
        client = api_client_for(megamart, username="megamart-admin")
        # The same session cookie, sent to acme's domain.
        client.defaults["HTTP_HOST"] = host_of(acme)
        return client, {"code": "not_authenticated", "message": str(NotAuthenticated.default_detail)}, {}
    client = APIClient(HTTP_HOST=host_of(acme))
    if kind == "jwt":
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {jwt_for(megamart, 'megamart-admin')}")
        return (client, {"code": "authentication_failed", "message": WRONG_TENANT_TOKEN},
                {"auth_failure": "jwt_of_other_tenant"})
    full_key, _ = api_key_for(megamart, role="admin", name="megamart automation")
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {full_key}")
    return (client, {"code": "authentication_failed", "message": INVALID_API_KEY},
            {"auth_failure": "api_key_of_other_tenant"})


def _job_ids(tenant) -> set:
    with schema_context(tenant.schema_name):
        return set(Job.objects.values_list("id", flat=True))


def _call(client: APIClient, method: str, path: str, body, objects: dict | None = None):
    if isinstance(body, dict) and objects:
        body = {key: (int(value.format(**objects)) if isinstance(value, str) and value.startswith("{") else value)
                for key, value in body.items()}
    if callable(body):
        return getattr(client, method.lower())(path, body(), format="multipart")
    return getattr(client, method.lower())(path, body, format="json") if body else getattr(client, method.lower())(path)


@pytest.mark.parametrize("kind", ["session", "jwt", "api_key"])
@pytest.mark.parametrize(("name", "method", "template", "body"), ROUTES, ids=ROUTE_IDS)
def test_other_tenants_credentials_get_401_and_one_audit_row(acme, megamart, acme_objects, kind, name, method,
                                                            template, body):
    # given megamart's admin credentials, sent to acme's domain
    client, error, auth_details = _megamart_caller(kind, megamart, acme)
    path = template.format(**acme_objects)
    keys_before = set(ApiKey.objects.values_list("key_id", flat=True))
    jobs_before = _job_ids(acme)

    # when they call one of acme's routes
    response = _call(client, method, path, body, acme_objects)

    # then they are refused, with nothing of acme's in the answer
    assert response.status_code == 401
    assert response.json() == {"error": {**error, "details": {}}}
    # and exactly one row, in acme's audit log, records the refusal and why
    rows = audit_rows(acme, request_id=response["X-Request-ID"])
    assert [(row.actor, row.action, row.outcome, row.object_type, row.object_id) for row in rows] == [
        ("anonymous", f"api.{method.lower()}", "denied", "route", ROUTE_PATTERNS[name])
    ]
    ids = {key: acme_objects[key] for key in ID_KEYS if f"{{{key}}}" in template.split("?")[0]}
    assert rows[0].details == {
        "method": method, "path": path.split("?")[0], "status": 401, **auth_details, **({"ids": ids} if ids else {})
    }
    assert audit_rows(megamart, request_id=response["X-Request-ID"]) == []
    # and nothing of acme's changed
    assert job_reloaded(acme, acme_objects["job"]).status == "queued"
    assert ApiKey.objects.get(key_id=acme_objects["key_id"]).revoked_at is None
    assert set(ApiKey.objects.values_list("key_id", flat=True)) == keys_before
    assert _job_ids(acme) == jobs_before


@pytest.mark.parametrize(("name", "method", "template", "body"), ROUTES, ids=ROUTE_IDS)
def test_own_tenants_credentials_pass_on_the_same_calls(request, acme, megamart, acme_objects, name, method, template,
                                                        body):
    # The control for the test above: the very same calls with acme's own admin succeed (a retailer's routes with
    # megamart's admin on its own domain).
    if name == "rag-search":  # answered by the gpu worker while the request waits
        request.getfixturevalue("celery_workers")
    if name == "training-run-resume":  # only a cancelled or failed run resumes
        from inference.training.models import TrainingRun

        TrainingRun.objects.filter(pk=acme_objects["run_id"]).update(status="cancelled")
    own = megamart if (name, method) in RETAILER_ROUTES else acme
    client = api_client_for(own, username=f"{own.slug}-admin")

    response = _call(client, method, template.format(**acme_objects), body, acme_objects)

    assert response.status_code in (200, 201, 202), response.content
    [row] = audit_rows(own, request_id=response["X-Request-ID"], action=f"api.{method.lower()}")
    assert (row.actor, row.outcome) == (f"user:{own.slug}-admin", "success")
    if name == "ingest":  # no worker runs here: remove the upload the job would have read
        from campaigns.services import upload_path

        with schema_context(acme.schema_name):
            key = Job.objects.get(pk=response.json()["job"]).params["upload"]
        upload_path(schema=acme.schema_name, key=key).unlink()


def test_other_tenants_job_id_is_the_same_404_as_a_missing_one(acme, megamart):
    # given a job of acme, and megamart's admin on megamart's own domain
    job = job_in(acme)
    client = api_client_for(megamart, username="megamart-admin")

    # when megamart asks for acme's job, and for one that exists nowhere
    theirs = client.get(f"/api/v1/jobs/{job.id}")
    missing = client.get(f"/api/v1/jobs/{uuid.uuid4()}")

    # then both are the same not-found
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json() == {
        "error": {"code": "not_found", "message": NOT_FOUND_MESSAGE, "details": {}}
    }
    # and the attempt is audited once, in megamart, and not in acme
    rows = audit_rows(megamart, request_id=theirs["X-Request-ID"])
    assert [(row.actor, row.action, row.outcome, row.details["ids"]) for row in rows] == [
        ("user:megamart-admin", "api.get", "failure", {"job_id": str(job.id)})
    ]
    assert audit_rows(acme, request_id=theirs["X-Request-ID"]) == []


def test_other_tenants_job_cannot_be_cancelled(acme, megamart):
    job = job_in(acme)

    response = api_client_for(megamart, username="megamart-admin").post(f"/api/v1/jobs/{job.id}/cancel")

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": NOT_FOUND_MESSAGE, "details": {}}}
    assert job_reloaded(acme, job).status == "queued"
    assert audit_rows(acme, action="job.cancel", object_id=str(job.id)) == []
    assert len(audit_rows(megamart, request_id=response["X-Request-ID"])) == 1


def test_other_tenants_job_is_not_listed(acme, megamart):
    job = job_in(acme)
    own = job_in(megamart)

    response = api_client_for(megamart, username="megamart-admin").get("/api/v1/jobs")

    assert response.status_code == 200
    listed = [item["id"] for item in response.json()]
    assert str(own.id) in listed
    assert str(job.id) not in listed


def test_other_tenants_api_key_id_is_the_same_404_as_a_missing_one(acme, megamart):
    # given a key of megamart, and acme's admin on acme's domain
    _, key_id = api_key_for(megamart, role="admin", name="megamart automation")
    client = api_client_for(acme, username="acme-admin")

    # when acme's admin revokes megamart's key, and one that exists nowhere
    theirs = client.post(f"/api/v1/api-keys/{key_id}/revoke")
    missing = client.post("/api/v1/api-keys/000000000000/revoke")

    # then both are the same not-found, and megamart's key still works
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json() == {
        "error": {"code": "not_found", "message": NOT_FOUND_MESSAGE, "details": {}}
    }
    assert ApiKey.objects.get(key_id=key_id).revoked_at is None
    assert audit_rows(acme, action="api_key.revoke", object_id=key_id) == []
    assert audit_rows(megamart, action="api_key.revoke", object_id=key_id) == []
    [row] = audit_rows(acme, request_id=theirs["X-Request-ID"])
    assert (row.actor, row.outcome, row.details["ids"]) == ("user:acme-admin", "failure", {"key_id": key_id})


def test_other_tenants_api_keys_are_not_listed(acme, megamart):
    _, megamart_key = api_key_for(megamart, role="admin", name="megamart automation")
    _, acme_key = api_key_for(acme, role="viewer", name="acme integration")

    response = api_client_for(acme, username="acme-admin").get("/api/v1/api-keys")

    listed = [item["key_id"] for item in response.json()]
    assert acme_key in listed
    assert megamart_key not in listed


def test_other_tenants_user_cannot_get_a_token_here(acme, megamart):
    # when megamart's admin logs in on acme's domain with megamart's real password
    response = api_client_for(acme).post(
        "/api/v1/auth/token", {"username": "megamart-admin", "password": PASSWORD}, format="json"
    )

    # then there is no such user here
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "authentication_failed", "message": BAD_CREDENTIALS, "details": {}}}
    rows = audit_rows(acme, request_id=response["X-Request-ID"])
    assert sorted((row.action, row.outcome) for row in rows) == [("api.post", "denied"), ("login", "failure")]
    assert audit_rows(megamart, request_id=response["X-Request-ID"]) == []


def test_other_tenants_refresh_token_is_refused(acme, megamart):
    # given a refresh token issued by megamart
    refresh = api_client_for(megamart).post(
        "/api/v1/auth/token", {"username": "megamart-admin", "password": PASSWORD}, format="json"
    ).json()["refresh"]

    # when it is refreshed on acme's domain
    response = api_client_for(acme).post("/api/v1/auth/token/refresh", {"refresh": refresh}, format="json")

    # then it is refused, and the one audit row says why
    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": "authentication_failed", "message": WRONG_TENANT_TOKEN, "details": {}}
    }
    [row] = audit_rows(acme, request_id=response["X-Request-ID"])
    assert (row.action, row.outcome, row.details["auth_failure"]) == ("api.post", "denied", "jwt_of_other_tenant")


@pytest.mark.parametrize(("issuer", "audience"), [("acme", "platform"), ("platform", "acme")])
def test_platform_and_tenant_jwts_do_not_cross(acme, platform, issuer, audience):
    tenants = {"acme": acme, "platform": platform}
    token = jwt_for(tenants[issuer], f"{issuer}-admin")
    client = APIClient(HTTP_HOST=host_of(tenants[audience]))
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    response = client.get("/api/v1/me")

    assert response.status_code == 401
    assert response.json()["error"]["message"] == WRONG_TENANT_TOKEN
    [row] = audit_rows(tenants[audience], request_id=response["X-Request-ID"])
    assert (row.outcome, row.details["auth_failure"]) == ("denied", "jwt_of_other_tenant")


@pytest.mark.parametrize(("name", "method", "template", "body"), PLATFORM_ROUTES,
                         ids=[f"{method} {name}" for name, method, _, _ in PLATFORM_ROUTES])
def test_platform_domain_does_not_serve_tenant_routes(platform, name, method, template, body):
    # given the platform's own admin on the platform domain
    client = api_client_for(platform, username="platform-admin")

    # when it calls a tenant-only route
    ids = {"job_id": uuid.uuid4(), "key_id": "000000000000", "batch_id": 0, "plan_id": 0, "other_id": 0,
           "experiment_id": 0, "lease_id": 0, "version": 0, "adapter_id": 0, "run_id": 0}
    response = _call(client, method, template.format(**ids), body, {key: str(value) for key, value in ids.items()})

    # then there is no such route here
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": NOT_FOUND_MESSAGE, "details": {}}}
