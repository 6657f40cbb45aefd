"""The ingest API: uploads become jobs the real default worker runs; batches, rejects and mapping specs read back."""

import csv
import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django_tenants.utils import schema_context

from campaigns.harmonize import IngestOptions, ingest_file, readers
from campaigns.harmonize.pipeline import UNKNOWN_FORMAT
from campaigns.models import IngestBatch, MappingSpec, RMISEvent
from campaigns.services import FILE_EMPTY, FILE_TOO_LARGE, SPEC_INVALID, UNKNOWN_SPEC
from campaigns.tasks import ProgressChannel
from rmn_saas.errors import NOT_FOUND_MESSAGE
from tenants.jobs.models import Job
from tenants.jobs.services import JobCancelled
from tenants.permissions import VIEWER_CANNOT_WRITE
from tests.conftest import api_client_for, job_in, wait_for_job

WALMART_HEADER = ("Date,Campaign Name,Campaign Id,Ad Group Name,Ad Group Id,Item Name,Item Id,Searched Keyword,"
                  "Bidded Keyword,Match Type,Impressions,Clicks,CTR,Ad Spend,Conversion Rate (Units Sold Based),"
                  "Orders,Conversion Rate (Orders Based),Total Attributed Sales,Advertised SKU Sales,Other SKU Sales,"
                  "Units Sold,Advertised SKU Units (#),Other SKU Units (#),RoAS")


def walmart_row(day: int, *, keyword: str = "cereal", spend: str = "12.50", sales: str = "40.00",
                clicks: str = "20") -> str:
    return (f"2026-05-{day:02d},Cereal,111,AG,222,Oat Crunch,123456789,{keyword},{keyword},exact,"
            f"1000,{clicks},2.0,{spend},10,2,10,{sales},30.00,10.00,3,2,1,3.2")


def walmart_csv(rows: list[str]) -> bytes:
    return ("\n".join([WALMART_HEADER, *rows]) + "\n").encode()


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


def uploads_of(tenant) -> set[str]:
    folder = Path(settings.RMN_UPLOAD_DIR) / tenant.schema_name
    return {path.name for path in folder.glob("*")} if folder.exists() else set()


def job_params(tenant, job_id: str) -> dict:
    with schema_context(tenant.schema_name):
        return Job.objects.get(pk=job_id).params


@pytest.fixture
def committed_batches_cleanup(acme):
    """Live tests commit their batches: remove them (and their facts) afterwards, so later tests start clean."""
    with schema_context("acme"):
        last = IngestBatch.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    yield
    with schema_context("acme"):
        RMISEvent.objects.filter(batch_id__gt=last).delete()
        IngestBatch.objects.filter(pk__gt=last).delete()


# -- uploads through the real worker ----------------------------------------------------------------------------


@pytest.mark.worker
def test_upload_is_ingested_by_the_worker_and_the_job_carries_the_batch_summary(
        live_db, celery_workers, acme, committed_batches_cleanup):
    # given an analyst and a three-row Walmart export
    client = api_client_for(acme, username="acme-analyst")
    content = walmart_csv([walmart_row(1, keyword="a"), walmart_row(2, keyword="b"), walmart_row(3, keyword="c")])

    # when they upload it for account "api-test"
    response = client.post("/api/v1/ingest", {"file": upload("walmart.csv", content), "account": "api-test"},
                           format="multipart")

    # then the API answers 202 with a job the default worker completes with the batch summary
    assert response.status_code == 202, response.content
    job_id = response.json()["job"]
    assert response["Location"] == f"/api/v1/jobs/{job_id}"
    job = wait_for_job(client, job_id)
    assert (job["status"], job["progress"], job["error"]) == ("succeeded", 1.0, None)
    result = job["result"]
    assert {key: result[key] for key in ("status", "format", "format_version", "rows_read", "rows_loaded",
                                         "rows_replaced", "rows_rejected", "date_min", "date_max", "unchanged")} == {
        "status": "loaded", "format": "walmart-ui", "format_version": 1, "rows_read": 3, "rows_loaded": 3,
        "rows_replaced": 0, "rows_rejected": 0, "date_min": "2026-05-01", "date_max": "2026-05-03",
        "unchanged": False,
    }
    assert result["totals"]["spend"] == "37.50"
    assert result["totals"]["attributed_sales"] == "120.00"
    assert result["detection"]["auto"] is True
    # and the batch, its rows and its creator are in acme's schema
    with schema_context("acme"):
        batch = IngestBatch.objects.get(pk=result["batch"])
        assert (batch.account, batch.created_by, batch.file_name) == ("api-test", "user:acme-analyst", "walmart.csv")
        assert RMISEvent.objects.filter(batch_id=batch.pk).count() == 3
    # and the upload is gone from the upload folder
    assert job_params(acme, job_id)["upload"] not in uploads_of(acme)


@pytest.mark.worker
@pytest.mark.parametrize(("name", "content", "code", "message"), [
    ("junk.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "unreadable_file",
     readers.BINARY_JUNK),
    ("report.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "unreadable_file", readers.LEGACY_XLS),
    ("mystery.csv", b"Foo,Bar,Baz\n1,2,3\n4,5,6\n", "unknown_format", UNKNOWN_FORMAT),
], ids=["junk-bytes", "legacy-xls", "unknown-headers"])
def test_files_the_harmonizer_cannot_read_fail_the_job_with_the_reason(
        live_db, celery_workers, acme, committed_batches_cleanup, name, content, code, message):
    # given an analyst
    client = api_client_for(acme, username="acme-analyst")

    # when they upload a file that is no export it can read
    response = client.post("/api/v1/ingest", {"file": upload(name, content)}, format="multipart")

    # then the upload is accepted, and the job fails with the harmonizer's reason code and message
    assert response.status_code == 202, response.content
    job = wait_for_job(client, response.json()["job"])
    assert job["status"] == "failed"
    assert (job["error"]["code"], job["error"]["message"]) == (code, message)
    assert job["result"] is None
    if code == "unknown_format":
        assert job["error"]["details"]["headers"] == ["Foo", "Bar", "Baz"]
        assert len(job["error"]["details"]["closest"]) == 3
    else:
        assert job["error"]["details"] == {}
    assert job_params(acme, response.json()["job"])["upload"] not in uploads_of(acme)


@pytest.mark.worker
def test_a_named_format_that_does_not_fit_fails_the_job_naming_the_missing_fields(
        live_db, celery_workers, acme, committed_batches_cleanup):
    client = api_client_for(acme, username="acme-analyst")

    response = client.post("/api/v1/ingest", {"file": upload("walmart.csv", walmart_csv([walmart_row(1)])),
                                              "format": "instacart-v3"}, format="multipart")

    job = wait_for_job(client, response.json()["job"])
    assert (job["status"], job["error"]["code"]) == ("failed", "headers_do_not_match")
    assert "date" in job["error"]["details"]["missing"]


def test_progress_is_written_outside_the_ingest_transaction_and_notices_a_cancel(live_db, acme):
    # given a running job, and its work inside a transaction that will roll back (as a failed ingest's does)
    job = job_in(acme, status="running", kind="ingest")
    try:
        with schema_context("acme"):
            with pytest.raises(RuntimeError), transaction.atomic():
                with ProgressChannel(job, interval=0) as progress:
                    progress(0.5, "half way")
                raise RuntimeError("the ingest failed")

            # then the report was visible and survives the rollback
            assert Job.objects.values_list("progress", "message").get(pk=job.pk) == (0.5, "half way")

            # and once the job is cancelled, the next report stops the work
            Job.objects.filter(pk=job.pk).update(status="cancelled")
            with ProgressChannel(job, interval=0) as progress, pytest.raises(JobCancelled):
                progress(0.6, "more")
            assert Job.objects.values_list("progress", "status").get(pk=job.pk) == (0.5, "cancelled")
    finally:
        with schema_context("acme"):
            Job.objects.filter(pk=job.pk).delete()


# -- refusals at upload time ------------------------------------------------------------------------------------


def test_an_empty_file_is_refused_at_upload_without_a_job(acme):
    client = api_client_for(acme, username="acme-analyst")
    with schema_context("acme"):
        jobs_before = Job.objects.count()

    response = client.post("/api/v1/ingest", {"file": upload("empty.csv", b"")}, format="multipart")

    assert response.status_code == 400
    assert response.json() == {"error": {"code": "empty_file", "message": FILE_EMPTY, "details": {"file": FILE_EMPTY}}}
    with schema_context("acme"):
        assert Job.objects.count() == jobs_before


def test_a_file_over_the_limit_is_refused_before_it_is_saved(acme, settings):
    # given a 100-byte limit
    settings.RMN_INGEST_MAX_BYTES = 100
    client = api_client_for(acme, username="acme-analyst")
    before = uploads_of(acme)
    content = walmart_csv([walmart_row(1)])

    # when a larger file is uploaded
    response = client.post("/api/v1/ingest", {"file": upload("walmart.csv", content)}, format="multipart")

    # then it is refused with the limit, and nothing was written to the upload folder
    assert response.status_code == 400
    message = FILE_TOO_LARGE.format(limit="100 bytes")
    assert response.json() == {"error": {"code": "file_too_large", "message": message,
                                         "details": {"file": message, "size": len(content), "limit": 100}}}
    assert uploads_of(acme) == before


def test_viewers_cannot_upload(acme):
    response = api_client_for(acme, username="acme-viewer").post(
        "/api/v1/ingest", {"file": upload("walmart.csv", walmart_csv([walmart_row(1)]))}, format="multipart")

    assert response.status_code == 403
    assert response.json() == {"error": {"code": "permission_denied", "message": VIEWER_CANNOT_WRITE,
                                         "details": {}}}


@pytest.mark.parametrize(("body", "field", "code"), [
    ({}, "file", "invalid"),
    ({"format": "no-such-spec"}, "format", "unknown_spec"),
    ({"max_reject_share": "1.5"}, "max_reject_share", "invalid"),
])
def test_bad_upload_options_are_400_naming_the_field(acme, body, field, code):
    client = api_client_for(acme, username="acme-analyst")
    if field != "file":
        body = {**body, "file": upload("walmart.csv", walmart_csv([walmart_row(1)]))}

    response = client.post("/api/v1/ingest", body, format="multipart")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code
    assert field in error["details"]
    if code == "unknown_spec":
        assert error["message"] == UNKNOWN_SPEC.format(name="no-such-spec")


def test_the_upload_route_takes_multipart_only(acme):
    response = api_client_for(acme, username="acme-analyst").post("/api/v1/ingest", {"file": "x"}, format="json")

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


# -- batches ----------------------------------------------------------------------------------------------------


@pytest.fixture
def batch_with_rejects(acme, tmp_path) -> int:
    """A loaded batch of acme: 40 good Walmart rows and 2 rejected ones (under the 5% limit)."""
    rows = [walmart_row(day % 28 + 1, keyword=f"k{day}") for day in range(40)]
    rows.append(walmart_row(3, spend="twelve", keyword="bad-money"))
    rows.append(walmart_row(4, clicks="5000", keyword="bad-clicks"))
    path = tmp_path / "walmart.csv"
    path.write_bytes(walmart_csv(rows))
    with schema_context("acme"):
        result = ingest_file(path=path, file_name="walmart.csv", actor="user:acme-analyst", options=IngestOptions())
    return result.batch.pk


def test_batch_list_is_newest_first_and_paginated(acme, tmp_path, batch_with_rejects):
    # given acme's loaded batch
    client = api_client_for(acme, username="acme-viewer")

    # when the first page of one is read
    response = client.get("/api/v1/ingest/batches", {"limit": 1})

    # then the newest batch comes first, with its counts
    assert response.status_code == 200
    body = response.json()
    with schema_context("acme"):
        total = IngestBatch.objects.count()
    assert body["count"] == total
    [item] = body["results"]
    assert {key: item[key] for key in ("id", "file_name", "status", "format", "format_version", "network",
                                       "rows_read", "rows_loaded", "rows_replaced", "rows_rejected", "date_min",
                                       "date_max", "created_by")} == {
        "id": batch_with_rejects, "file_name": "walmart.csv", "status": "loaded", "format": "walmart-ui",
        "format_version": 1, "network": "walmart", "rows_read": 42, "rows_loaded": 40, "rows_replaced": 0,
        "rows_rejected": 2, "date_min": "2026-05-01", "date_max": "2026-05-28", "created_by": "user:acme-analyst",
    }
    assert item["totals"]["spend"] == "500.00"
    with schema_context("acme"):
        assert item["anomaly_count"] == IngestBatch.objects.get(pk=batch_with_rejects).anomalies.count()
    if total > 1:
        assert body["next"].endswith("limit=1&offset=1")


def test_batch_detail_has_anomalies_rejects_and_counts(acme, batch_with_rejects):
    response = api_client_for(acme, username="acme-viewer").get(f"/api/v1/ingest/batches/{batch_with_rejects}")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == batch_with_rejects
    assert [(reject["line"], reject["reasons"]) for reject in body["rejects"]] == [
        (42, ["bad_money:spend"]), (43, ["clicks_exceed_impressions"]),
    ]
    assert body["rejects"][0]["raw"]["Ad Spend"] == "twelve"
    assert body["counts"] == {"anomalies": len(body["anomalies"]), "rejects_stored": 2, "rejects_shown": 2,
                              "rows_rejected": 2}
    with schema_context("acme"):
        stored = list(IngestBatch.objects.get(pk=batch_with_rejects).anomalies.values_list("code", flat=True))
    assert sorted(anomaly["code"] for anomaly in body["anomalies"]) == sorted(stored)
    assert "rejected_rows" in stored
    assert body["rejects_csv"] == f"/api/v1/ingest/batches/{batch_with_rejects}/rejects.csv"
    assert body["detection"]["headers"] == WALMART_HEADER.split(",")


def test_rejects_csv_lists_line_reasons_then_the_source_columns(acme, batch_with_rejects):
    response = api_client_for(acme, username="acme-viewer").get(
        f"/api/v1/ingest/batches/{batch_with_rejects}/rejects.csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="batch-{batch_with_rejects}-rejects.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows == [
        ["line", "reasons", *WALMART_HEADER.split(",")],
        ["42", "bad_money:spend", *walmart_row(3, spend="twelve", keyword="bad-money").split(",")],
        ["43", "clicks_exceed_impressions", *walmart_row(4, clicks="5000", keyword="bad-clicks").split(",")],
    ]


@pytest.mark.parametrize("suffix", ["", "/rejects.csv"])
def test_another_tenants_batch_is_the_same_404_as_a_missing_one(acme, megamart, batch_with_rejects, suffix):
    # given acme's batch, and megamart (whose schema has no batch of that id)
    with schema_context("megamart"):
        assert not IngestBatch.objects.filter(pk=batch_with_rejects).exists()
    client = api_client_for(megamart, username="megamart-admin")

    # when megamart asks for it, and for one that exists nowhere
    theirs = client.get(f"/api/v1/ingest/batches/{batch_with_rejects}{suffix}")
    missing = client.get(f"/api/v1/ingest/batches/999999999{suffix}")

    # then both are the same not-found, and the list does not show it
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json() == {"error": {"code": "not_found", "message": NOT_FOUND_MESSAGE,
                                                         "details": {}}}
    listed = [item["id"] for item in client.get("/api/v1/ingest/batches").json()["results"]]
    assert batch_with_rejects not in listed


# -- mapping specs ----------------------------------------------------------------------------------------------

KROGER_SPEC = {
    "name": "kroger-export",
    "network": "kroger",
    "title": "Kroger Precision Marketing export",
    "attribution": {"window_days": 14, "scope": "click", "model": "last_touch"},
    "constants": {"currency": "USD"},
    "columns": {
        "date": {"headers": ["Day"], "transform": "date"},
        "campaign_name": {"headers": ["Campaign"], "transform": "text"},
        "impressions": {"headers": ["Impr."], "transform": "count"},
        "clicks": {"headers": ["Clicks"], "transform": "count"},
        "spend": {"headers": ["Cost"], "transform": "money"},
        "attributed_sales": {"headers": ["Sales 14d"], "transform": "money"},
    },
    "required": ["date", "spend"],
}


def test_a_valid_spec_is_saved_as_the_next_version(acme):
    client = api_client_for(acme, username="acme-analyst")

    # when the same spec is posted twice
    first = client.post("/api/v1/mapping-specs", KROGER_SPEC, format="json")
    second = client.post("/api/v1/mapping-specs", {**KROGER_SPEC, "version": 7}, format="json")

    # then it is saved as version 1, then 2 (the posted version is not taken)
    assert (first.status_code, second.status_code) == (201, 201)
    assert {key: first.json()[key] for key in ("name", "version", "network", "kind", "title", "builtin", "active",
                                               "effective", "created_by")} == {
        "name": "kroger-export", "version": 1, "network": "kroger", "kind": "ad_events",
        "title": "Kroger Precision Marketing export", "builtin": False, "active": True, "effective": True,
        "created_by": "user:acme-analyst",
    }
    assert second.json()["version"] == 2
    assert second.json()["document"] == {**KROGER_SPEC, "version": 2}
    # and the list has both, the latest one in use
    listed = {(spec["name"], spec["version"], spec["builtin"]): spec["effective"]
              for spec in client.get("/api/v1/mapping-specs").json()}
    assert listed[("kroger-export", 1, False)] is False
    assert listed[("kroger-export", 2, False)] is True
    with schema_context("acme"):
        assert list(MappingSpec.objects.filter(name="kroger-export").values_list("version", flat=True)) == [2, 1]


def test_the_list_has_every_built_in_spec(acme):
    from campaigns.harmonize.specs import builtin_specs

    body = api_client_for(acme, username="acme-viewer").get("/api/v1/mapping-specs").json()

    builtins = [(spec["name"], spec["version"], spec["network"], spec["kind"]) for spec in body if spec["builtin"]]
    assert builtins == [(spec.name, spec.version, spec.network, spec.kind) for spec in builtin_specs()]
    assert all(spec["effective"] and spec["document"]["name"] == spec["name"] for spec in body if spec["builtin"])


def test_a_tenant_spec_with_a_built_in_name_shadows_it(acme):
    client = api_client_for(acme, username="acme-analyst")

    response = client.post("/api/v1/mapping-specs", {**KROGER_SPEC, "name": "walmart-ui"}, format="json")

    assert response.status_code == 201
    assert (response.json()["name"], response.json()["version"], response.json()["effective"]) == (
        "walmart-ui", 1, True)
    flags = {spec["builtin"]: spec["effective"] for spec in client.get("/api/v1/mapping-specs").json()
             if spec["name"] == "walmart-ui"}
    assert flags == {True: False, False: True}


def test_an_invalid_spec_is_400_naming_each_problem(acme):
    client = api_client_for(acme, username="acme-analyst")
    bad = {**KROGER_SPEC, "network": "Kroger Inc",
           "columns": {**KROGER_SPEC["columns"], "bogus": {"headers": ["X"], "transform": "text"},
                       "spend": {"headers": ["Cost"], "transform": "dollars"}}}

    response = client.post("/api/v1/mapping-specs", bad, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("invalid_spec", SPEC_INVALID)
    assert set(error["details"]) == {"network", "columns.bogus", "columns.spend.transform"}
    with schema_context("acme"):
        assert not MappingSpec.objects.filter(name="kroger-export").exists()


def test_viewers_cannot_save_specs(acme):
    response = api_client_for(acme, username="acme-viewer").post("/api/v1/mapping-specs", KROGER_SPEC, format="json")

    assert response.status_code == 403
