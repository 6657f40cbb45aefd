"""Pages of the harmonizer: data sources, a batch, the mapping preview and performance, plus the tenant admin."""

import json
import re
from pathlib import Path
from xml.etree import ElementTree

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from campaigns.harmonize import IngestOptions, ingest_file
from campaigns.models import IngestBatch, MappingSpec
from campaigns.services import FILE_EMPTY
from tenants.jobs.models import Job
from tests.campaigns.test_ingest_api import WALMART_HEADER, walmart_csv, walmart_row
from tests.campaigns.test_metrics_api import OTHERNET, TESTNET
from tests.conftest import page_client_for

HTMX = {"HTTP_HX_REQUEST": "true"}


def uploads_of(tenant) -> set[str]:
    folder = Path(settings.RMN_UPLOAD_DIR) / tenant.schema_name
    return {path.name for path in folder.glob("*")} if folder.exists() else set()


@pytest.fixture
def upload_folder(acme):
    """Pages store uploads for a worker that does not run in these tests: remove what a test left behind."""
    before = uploads_of(acme)
    yield
    folder = Path(settings.RMN_UPLOAD_DIR) / acme.schema_name
    for name in uploads_of(acme) - before:
        (folder / name).unlink(missing_ok=True)


@pytest.fixture
def loaded_batch(acme, tmp_path) -> IngestBatch:
    rows = [walmart_row(day % 28 + 1, keyword=f"k{day}") for day in range(40)]
    rows.append(walmart_row(3, spend="twelve", keyword="bad-money"))
    path = tmp_path / "walmart.csv"
    path.write_bytes(walmart_csv(rows))
    with schema_context("acme"):
        return ingest_file(path=path, file_name="walmart.csv", actor="user:acme-analyst",
                           options=IngestOptions()).batch


def text(response) -> str:
    return response.content.decode().strip()


# -- data sources -----------------------------------------------------------------------------------------------


def test_analysts_get_the_upload_form_batches_and_specs(acme, loaded_batch):
    response = page_client_for(acme, username="acme-analyst").get("/data/")

    assert response.status_code == 200
    body = text(response)
    assert 'id="upload-form"' in body
    assert 'hx-encoding="multipart/form-data"' in body
    assert 'data-dropzone' in body and 'type="file" name="file"' in body
    assert '<option value="auto" selected>Detect automatically</option>' in body
    assert '<option value="walmart-ui">' in body
    assert f'id="batch-{loaded_batch.pk}"' in body
    assert f'href="/data/batches/{loaded_batch.pk}/"' in body
    assert 'id="spec-walmart-ui-1-builtin"' in body
    # and both new pages are in the navigation
    assert '<a href="/data/" aria-current="page">Data sources</a>' in body
    assert '<a href="/performance/">Performance</a>' in body


def test_retailers_get_the_data_and_performance_pages_too(megamart):
    client = page_client_for(megamart, username="megamart-analyst")

    data, performance = client.get("/data/"), client.get("/performance/")

    assert (data.status_code, performance.status_code) == (200, 200)
    assert '<a href="/data/" aria-current="page">Data sources</a>' in text(data)
    assert '<a href="/performance/" aria-current="page">Performance</a>' in text(performance)


def test_viewers_see_the_page_without_the_upload_form(acme, loaded_batch):
    response = page_client_for(acme, username="acme-viewer").get("/data/")

    assert response.status_code == 200
    body = text(response)
    assert 'id="upload-form"' not in body
    assert 'id="upload-read-only"' in body
    assert f'id="batch-{loaded_batch.pk}"' in body


def test_viewers_cannot_post_an_upload(acme, upload_folder):
    response = page_client_for(acme, username="acme-viewer").post(
        "/data/upload", {"file": SimpleUploadedFile("w.csv", walmart_csv([walmart_row(1)]))}, **HTMX)

    assert response.status_code == 403
    with schema_context("acme"):
        assert not Job.objects.filter(kind="ingest").exists()


def test_an_htmx_upload_answers_with_the_job_row_and_a_polling_batch_list(acme, upload_folder):
    # given an analyst on the data page
    client = page_client_for(acme, username="acme-analyst")

    # when they drop a file and submit (htmx)
    response = client.post("/data/upload", {"file": SimpleUploadedFile("walmart.csv", walmart_csv([walmart_row(1)])),
                                            "format": "walmart-ui", "account": "acct-1"}, **HTMX)

    # then an ingest job exists with what they chose
    assert response.status_code == 200
    with schema_context("acme"):
        job = Job.objects.get(kind="ingest")
    assert {key: job.params[key] for key in ("file_name", "format", "account", "size")} == {
        "file_name": "walmart.csv", "format": "walmart-ui", "account": "acct-1",
        "size": len(walmart_csv([walmart_row(1)])),
    }
    assert job.params["upload"] in uploads_of(acme)
    # and the answer is the upload panel with the job's progress row, plus the batch list out of band, polling
    body = text(response)
    assert body.startswith('<section class="card" id="upload-panel">')
    assert "<html" not in body
    assert f'id="job-{job.id}"' in body and f'hx-get="/jobs/{job.id}/progress"' in body
    assert re.search(r'id="batch-list" hx-swap-oob="true"\s+hx-get="/data/\?part=batches" hx-trigger="every 2s"', body)


def test_an_empty_upload_shows_the_reason_in_the_form(acme, upload_folder):
    response = page_client_for(acme, username="acme-analyst").post(
        "/data/upload", {"file": SimpleUploadedFile("empty.csv", b"")}, **HTMX)

    assert response.status_code == 200  # htmx swaps only successful answers: the form shows the error
    assert f'<p class="error" id="upload-error">{FILE_EMPTY}</p>' in text(response)
    with schema_context("acme"):
        assert not Job.objects.filter(kind="ingest").exists()


def test_the_batch_list_partial_stops_polling_when_no_ingest_is_pending(acme, loaded_batch):
    response = page_client_for(acme, username="acme-viewer").get("/data/", {"part": "batches"}, **HTMX)

    body = text(response)
    assert body.startswith('<section class="card" id="batch-list">')
    assert "hx-trigger" not in body
    assert f'id="batch-{loaded_batch.pk}"' in body


# -- a batch ----------------------------------------------------------------------------------------------------


def test_the_batch_page_shows_anomalies_rejects_and_the_csv_link(acme, loaded_batch):
    response = page_client_for(acme, username="acme-viewer").get(f"/data/batches/{loaded_batch.pk}/")

    assert response.status_code == 200
    body = text(response)
    with schema_context("acme"):
        anomalies = list(loaded_batch.anomalies.all())
    assert anomalies
    for anomaly in anomalies:
        assert f'<span class="badge severity-{anomaly.severity}">{anomaly.get_severity_display()}</span>' in body
    assert f'href="/api/v1/ingest/batches/{loaded_batch.pk}/rejects.csv"' in body
    assert "<td><code>bad_money:spend</code></td>" in body
    assert "<td>twelve</td>" in body
    assert "".join(f"<th>{header}</th>" for header in WALMART_HEADER.split(",")) in body


def test_another_tenants_batch_page_is_404(acme, megamart, loaded_batch):
    with schema_context("megamart"):
        assert not IngestBatch.objects.filter(pk=loaded_batch.pk).exists()

    response = page_client_for(megamart, username="megamart-admin").get(f"/data/batches/{loaded_batch.pk}/")

    assert response.status_code == 404


# -- mapping preview --------------------------------------------------------------------------------------------

UNKNOWN = b"Day,Campaign,Impr.,Clicks,Cost,Sales 14d\n2026-05-01,Spring,1000,20,12.50,40.00\n" \
          b"2026-05-02,Spring,900,18,11.00,35.00\n"
MAPPING = [("Day", "date", "date"), ("Campaign", "campaign_name", "text"), ("Impr.", "impressions", "count"),
           ("Clicks", "clicks", "count"), ("Cost", "spend", "money"), ("Sales 14d", "attributed_sales", "money")]


def preview(client, name: str, content: bytes):
    return client.post("/data/preview/", {"file": SimpleUploadedFile(name, content)}, **HTMX)


def token_of(response) -> str:
    return re.search(r'name="token" value="([0-9a-f]{32})"', text(response)).group(1)


def test_previewing_a_known_format_shows_the_detection_and_the_mapping(acme, upload_folder):
    client = page_client_for(acme, username="acme-analyst")

    response = preview(client, "walmart.csv", walmart_csv([walmart_row(1), walmart_row(2, keyword="b")]))

    assert response.status_code == 200
    body = text(response)
    assert body.startswith('<div id="preview-result">')
    assert "Detected: " in body and "<code>walmart-ui</code> v1" in body
    assert "<tr><td>Ad Spend</td><td><code>spend</code></td></tr>" in body
    assert "<tr><td>Item Id</td><td><code>product_id</code></td></tr>" in body
    assert '<input type="hidden" name="format" value="walmart-ui">' in body
    assert token_of(response) in uploads_of(acme)


def test_an_unknown_format_is_suggested_confirmed_saved_and_ingested(acme, upload_folder):
    # given an analyst previewing a file no spec matches
    client = page_client_for(acme, username="acme-analyst")
    response = preview(client, "kroger export.csv", UNKNOWN)
    assert response.status_code == 200
    body = text(response)
    assert 'id="confirm-form"' in body
    assert all(f'id="suggest-row-{index}"' in body for index in range(len(MAPPING)))
    token = token_of(response)

    # when they confirm the mapping with their names
    form = {"token": token, "name": "kroger-export", "network": "kroger", "kind": "ad_events",
            "title": "Kroger export", "window_days": "14", "scope": "click", "model": "last_touch"}
    for index, (_, field, transform) in enumerate(MAPPING):
        form[f"field_{index}"], form[f"transform_{index}"] = field, transform
    confirmed = client.post("/data/preview/confirm", form, **HTMX)

    # then the spec is saved as their version 1, mapping each header as chosen
    assert confirmed.status_code == 200, text(confirmed)
    assert "Saved spec <code>kroger-export</code> v1" in text(confirmed)
    with schema_context("acme"):
        saved = MappingSpec.objects.get(name="kroger-export")
    assert (saved.version, saved.network, saved.kind, saved.created_by) == (1, "kroger", "ad_events",
                                                                            "user:acme-analyst")
    assert {field: (rule["headers"], rule["transform"]) for field, rule in saved.definition["columns"].items()} == {
        field: ([header], transform) for header, field, transform in MAPPING}
    assert saved.definition["attribution"]["window_days"] == 14
    assert '<input type="hidden" name="format" value="kroger-export@1">' in text(confirmed)

    # and ingesting it queues a job on the previewed file, with that exact spec version
    ingested = client.post("/data/preview/ingest", {"token": token, "format": "kroger-export@1", "account": ""},
                           **HTMX)
    assert ingested.status_code == 200
    with schema_context("acme"):
        job = Job.objects.get(kind="ingest")
    assert (job.params["format"], job.params["file_name"], job.params["size"]) == (
        "kroger-export@1", "kroger export.csv", len(UNKNOWN))
    assert f'id="job-{job.id}"' in text(ingested)
    assert job.params["upload"] in uploads_of(acme)
    assert token not in uploads_of(acme)


def test_a_confirmed_mapping_that_is_not_a_valid_spec_shows_the_errors(acme, upload_folder):
    client = page_client_for(acme, username="acme-analyst")
    token = token_of(preview(client, "kroger.csv", UNKNOWN))
    form = {"token": token, "name": "Kroger Export", "network": "kroger", "kind": "ad_events", "title": "",
            "window_days": "14", "scope": "click", "model": "last_touch"}
    for index, (_, field, transform) in enumerate(MAPPING):
        form[f"field_{index}"], form[f"transform_{index}"] = field, transform

    response = client.post("/data/preview/confirm", form, **HTMX)

    assert response.status_code == 200
    assert '<div class="error" id="spec-errors" role="alert">' in text(response)
    assert "<li><code>name</code>: " in text(response)
    assert 'value="Kroger Export"' in text(response)  # what they typed stays in the form
    with schema_context("acme"):
        assert not MappingSpec.objects.exists()


def test_an_unknown_preview_token_is_reported_as_expired(acme):
    response = page_client_for(acme, username="acme-analyst").post(
        "/data/preview/ingest", {"token": "0" * 32, "format": "auto"}, **HTMX)

    assert response.status_code == 200
    assert 'id="preview-expired"' in text(response)


def test_viewers_read_the_preview_page_but_cannot_preview(acme, upload_folder):
    client = page_client_for(acme, username="acme-viewer")

    page = client.get("/data/preview/")
    refused = preview(client, "walmart.csv", walmart_csv([walmart_row(1)]))

    assert page.status_code == 200
    assert 'id="preview-read-only"' in text(page) and 'id="preview-form"' not in text(page)
    assert refused.status_code == 403


# -- performance ------------------------------------------------------------------------------------------------


@pytest.fixture
def performance_data(acme, tmp_path):
    from tests.campaigns.test_metrics_api import load

    with schema_context("acme"):
        for file in (TESTNET, OTHERNET):
            load(tmp_path, *file)


def test_performance_without_data_shows_the_empty_state(acme):
    response = page_client_for(acme, username="acme-viewer").get("/performance/")

    assert response.status_code == 200
    assert 'id="performance-empty"' in text(response)
    assert "<svg" not in text(response)


def test_performance_charts_and_tables_by_network_placement_sku_and_week(acme, performance_data):
    response = page_client_for(acme, username="acme-viewer").get("/performance/")

    assert response.status_code == 200
    body = text(response)
    for section in ("network", "placement", "sku", "week"):
        assert f'id="chart-{section}"' in body
        assert f'id="table-{section}"' in body
    # the network table: othernet's 7-day sales expressed at 14 days by the default ratio
    assert re.search(r"<td>othernet</td>\s*<td class=\"num\">30.00</td>", body)
    assert "7d_click → 14d_click (default ratio)" in body
    # bar charts draw rects with titles, the weekly chart a path per series
    assert "<title>othernet · Spend: 30.00</title>" in body
    assert '<path class="line series-0" d="M' in body
    assert 'id="performance-totals"' in body and "57.00" in body
    # and every chart is well-formed SVG
    for svg in re.findall(r"<svg .*?</svg>", body, flags=re.S):
        ElementTree.fromstring(svg)  # noqa: S314 - our own markup


def test_the_filter_swaps_the_panel_only(acme, performance_data):
    response = page_client_for(acme, username="acme-viewer").get(
        "/performance/", {"window": "30d_click", "date_from": "2026-05-11"}, **HTMX)

    body = text(response)
    assert body.startswith('<div id="performance-panel">')
    assert "<html" not in body
    # from May 11: testnet's own 30-day figure (33.00 + 0.00) and othernet's 20.00 × 1.195652
    assert re.search(r"<td>testnet</td>\s*<td class=\"num\">9.50</td>", body)
    assert "<title>testnet · Sales: 33.00</title>" in body
    assert "<title>othernet · Sales: 23.91</title>" in body


def test_a_range_without_data_says_so(acme, performance_data):
    response = page_client_for(acme, username="acme-viewer").get("/performance/", {"date_from": "2027-01-01"}, **HTMX)

    assert 'id="performance-empty-range"' in text(response)


# -- the tenant admin -------------------------------------------------------------------------------------------


def test_admin_validates_a_mapping_spec_definition(acme):
    client = page_client_for(acme, username="acme-admin")
    definition = {"network": "kroger", "columns": {"date": {"headers": ["Day"], "transform": "date"},
                                                    "spend": {"headers": ["Cost"], "transform": "dollars"}}}

    refused = client.post("/admin/campaigns/mappingspec/add/", {"name": "kroger-admin", "version": 1,
                                                                 "definition": json.dumps(definition),
                                                                 "is_active": "on"})
    definition["columns"]["spend"]["transform"] = "money"
    saved = client.post("/admin/campaigns/mappingspec/add/", {"name": "kroger-admin", "version": 1,
                                                               "definition": json.dumps(definition),
                                                               "is_active": "on"})

    assert refused.status_code == 200
    assert "columns.spend.transform: unknown transform" in text(refused)
    assert saved.status_code == 302
    with schema_context("acme"):
        row = MappingSpec.objects.get(name="kroger-admin")
    assert (row.version, row.network, row.kind, row.created_by) == (1, "kroger", "ad_events", "user:acme-admin")
    assert row.definition == {**definition, "name": "kroger-admin", "version": 1}


def test_admin_shows_batches_read_only(acme, loaded_batch):
    client = page_client_for(acme, username="acme-admin")

    listing = client.get("/admin/campaigns/ingestbatch/")
    detail = client.get(f"/admin/campaigns/ingestbatch/{loaded_batch.pk}/change/")
    add = client.get("/admin/campaigns/ingestbatch/add/")

    assert listing.status_code == 200 and "walmart.csv" in text(listing)
    assert detail.status_code == 200 and 'name="_save"' not in text(detail)
    assert add.status_code == 403
    for model in ("rmisskudimension", "rmisskucrosswalk", "rmisaudiencedimension"):
        assert client.get(f"/admin/campaigns/{model}/").status_code == 200
