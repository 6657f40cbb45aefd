"""Adapter pages: the list shows a tenant's own adapters and the ones it may use (never another brand's), admins
upload through the real checks (refusals say why and store nothing), and one adapter's page shows its files, metrics
and verified signature, which the owner's admins approve, retire and publish, refusals shown in place."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.html import escape

from inference.adapters import access
from inference.adapters import artifacts as A
from inference.adapters.models import CONFIG_FILE, MODEL_FILE, Adapter
from inference.adapters.services import ALREADY_APPROVED, BAD_METRICS, NOT_APPROVABLE, UPLOAD_REFUSED
from inference.adapters.views import APPROVED, PUBLISH_CHOICE, PUBLISHED, RETIRED, WITHDRAWN, metrics_flat
from rmn_saas.page_access import ADMIN_ONLY_PAGE
from tenants.leases import lease_grant
from tests.campaigns.measure.test_kind_pages import part
from tests.campaigns.plans.test_plan_pages import text
from tests.conftest import audit_rows, page_client_for
from tests.inference.adapters.builders import adapter_made, lora_config, lora_files
from tests.tenants.test_lease_pages import table_rows

HTMX = {"HTTP_HX_REQUEST": "true"}


def upload(client, *, files=None, htmx: bool = False, **fields):
    model, config = files or lora_files()
    data = {"name": "acme-voice", "model_file": model, "config_file": config, **fields}
    return client.post("/adapters/upload", data, **(HTMX if htmx else {}))


def _flip_a_byte(path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


# -- the list ---------------------------------------------------------------------------------------------------


def test_the_list_shows_own_and_usable_adapters_but_not_another_brands(acme, megamart, globex, platform):
    # given acme's own draft, a published megamart adapter, a platform task adapter, and globex's own adapter
    own = adapter_made(acme, name="acme-voice", approve=False)
    published = adapter_made(megamart, name="megamart-voice", published=True)
    task = adapter_made(platform, name="ad-copy", task="ad_copy")
    theirs = adapter_made(globex, name="globex-voice")
    unpublished = adapter_made(megamart, name="megamart-private")

    # when an acme viewer opens the list
    body = text(page_client_for(acme, username="acme-viewer").get("/adapters/"))

    # then it shows acme's own adapter and the two it may use, newest first, each with why
    assert '<a href="/adapters/" aria-current="page">Adapters</a>' in body
    rows, base = table_rows(body, "adapters-table"), settings.RMN_BASE_MODEL
    assert rows == [
        ["ad-copy v1", "Task", "ad_copy", "RMN Copilot Platform", "Approved", "—", base, "4", "valid",
         escape(access.TASK.format(task="ad_copy"))],
        ["megamart-voice v1", "Retailer", "—", "MegaMart", "Approved", "yes", base, "4", "valid",
         access.PUBLISHED.format(retailer="MegaMart")],
        ["acme-voice v1", "Brand", "—", "you", "Draft", "—", base, "4", "valid",
         escape(access.OWN_DRAFT)],
    ]
    assert f'href="/adapters/{own.pk}/"' in body and f'href="/adapters/{published.pk}/"' in body
    assert f'href="/adapters/{task.pk}/"' in body
    # and nothing of globex's, nor megamart's unpublished adapter (acme holds no lease)
    assert f'id="adapter-{theirs.pk}"' not in body and "globex" not in body
    assert f'id="adapter-{unpublished.pk}"' not in body
    # and a viewer gets no upload form
    assert 'id="upload-form"' not in body and 'id="upload-read-only"' in body


def test_a_retailers_adapter_under_an_active_lease_is_listed_with_the_lease(acme, megamart):
    leased = adapter_made(megamart, name="megamart-private")
    lease = lease_grant(retailer=megamart, actor="user:megamart-admin", data={"brand": "acme", "days": 30})

    rows = table_rows(text(page_client_for(acme, username="acme-viewer").get("/adapters/")), "adapters-table")

    assert [(row[0], row[9]) for row in rows] == [(f"{leased.name} v1", access.LEASED.format(
        lease=lease.pk, retailer="MegaMart", until=lease.expires_at))]


def test_the_list_filters_by_kind_and_status_in_place(acme, megamart):
    adapter_made(acme, name="acme-voice", approve=False)
    adapter_made(megamart, name="megamart-voice", published=True)
    client = page_client_for(acme, username="acme-viewer")

    drafts = text(client.get("/adapters/", {"status": "draft", "part": "list"}, **HTMX))
    retailers = text(client.get("/adapters/", {"kind": "retailer"}))
    retired = text(client.get("/adapters/", {"status": "retired", "part": "list"}, **HTMX))

    assert drafts.startswith('<section class="card" id="adapter-list">')  # the list alone, swapped in place
    assert [row[0] for row in table_rows(drafts, "adapters-table")] == ["acme-voice v1"]
    assert [row[0] for row in table_rows(retailers, "adapters-table")] == ["megamart-voice v1"]
    assert "No adapter you may see matches these filters." in retired


def test_an_empty_registry_says_so(acme):
    admin = text(page_client_for(acme, username="acme-admin").get("/adapters/"))

    assert "No adapters yet: you have not uploaded one, and none is shared with you. Upload your first below." \
        in admin
    assert 'id="adapters-table"' not in admin


# -- uploading --------------------------------------------------------------------------------------------------


def test_an_admin_uploads_a_draft_and_goes_to_it(acme):
    # given acme's admin on the list, with the brand's upload form (no task, no publishing)
    client = page_client_for(acme, username="acme-admin")
    form = part(text(client.get("/adapters/")), "upload-panel")
    assert "Upload a brand adapter" in form
    for field in ("name", "model_file", "config_file", "metrics"):
        assert f'<label for="id_{field}">' in form
    assert 'name="task"' not in form and 'name="published"' not in form

    # when the admin uploads an adapter with nested metrics
    response = upload(client, metrics='{"eval": {"exact_match": 0.82, "rougeL": 0.41}, "loss": 1.5}')

    # then it is acme's brand adapter v1, a draft, and the browser goes to it
    adapter = Adapter.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/adapters/{adapter.pk}/"
    assert (adapter.owner, adapter.name, adapter.kind, adapter.version, adapter.status, adapter.created_by) == (
        acme, "acme-voice", "brand", 1, "draft", "user:acme-admin")
    assert adapter.metrics == {"eval": {"exact_match": 0.82, "rougeL": 0.41}, "loss": 1.5}
    # and its page shows the files, the metrics flattened, the signature checked against the files
    body = text(client.get(response["Location"]))
    assert table_rows(body, "files-table") == [[MODEL_FILE, adapter.model_sha256, str(adapter.model_bytes)],
                                               [CONFIG_FILE, adapter.config_sha256, str(adapter.config_bytes)]]
    assert table_rows(body, "metrics-table") == [["eval.exact_match", "0.82"], ["eval.rougeL", "0.41"],
                                                 ["loss", "1.5"]]
    assert '<span class="signature-valid" id="signature-status"><strong>valid</strong></span>' in body
    assert "by user:acme-admin" in part(body, "lifecycle-uploaded")
    assert escape(access.OWN_DRAFT) in part(body, "access-reason")


def test_an_htmx_upload_redirects_the_browser(acme):
    response = upload(page_client_for(acme, username="acme-admin"), htmx=True)

    assert response["HX-Redirect"] == f"/adapters/{Adapter.objects.get().pk}/"


def test_a_second_upload_of_a_name_is_its_next_version(acme):
    client = page_client_for(acme, username="acme-admin")

    upload(client)
    upload(client)

    assert list(Adapter.objects.order_by("version").values_list("name", "version")) == [
        ("acme-voice", 1), ("acme-voice", 2)]


@pytest.mark.parametrize(("files", "field", "reason"), [
    ([SimpleUploadedFile("adapter_model.bin", b"\x80\x04junk"), None],
     "model_file", A.PICKLE_NAME.format(file="adapter_model.bin")),
    ([SimpleUploadedFile(MODEL_FILE, b"\x80\x04\x95junk"), None], "model_file",
     A.PICKLE_CONTENT.format(file=MODEL_FILE)),
    ([SimpleUploadedFile(MODEL_FILE, b"\x10\x00\x00"), None], "model_file",
     A.CORRUPT.format(problem="shorter than the 8-byte header length")),
    ([None, SimpleUploadedFile(CONFIG_FILE, lora_config(rank=8))], "model_file",
     A.RANK_MISMATCH.format(name="base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", found=4, rank=8)),
    ([None, SimpleUploadedFile(CONFIG_FILE, b"[1, 2]")], "config_file", A.CONFIG_NOT_OBJECT),
])
def test_a_refused_upload_shows_the_reason_on_its_field_and_stores_nothing(acme, adapter_store, files, field,
                                                                            reason):
    # given one sound file and one refused one
    sound = lora_files()
    files = [given or default for given, default in zip(files, sound, strict=True)]

    # when acme's admin uploads them
    response = upload(page_client_for(acme, username="acme-admin"), files=files, htmx=True)

    # then the form comes back in place with the reason on the file's field, and nothing is stored
    body = text(response)
    assert response.status_code == 200
    assert body.startswith('<section class="card" id="upload-panel">')
    assert f'<p class="error" id="error-{field}">{escape(UPLOAD_REFUSED.format(reason=reason))}</p>' in body
    assert not Adapter.objects.exists()
    assert not adapter_store.exists() or not any(adapter_store.iterdir())
    [row] = audit_rows(acme, action="adapter.upload")
    assert (row.actor, row.outcome) == ("user:acme-admin", "failure")


def test_a_missing_file_bad_name_or_bad_metrics_is_refused_with_its_message(acme):
    client = page_client_for(acme, username="acme-admin")
    model, _ = lora_files()

    missing = text(client.post("/adapters/upload", {"name": "acme-voice", "model_file": model}))
    bad_name = text(upload(client, name="acme voice!"))
    bad_json = text(upload(client, metrics="{not json"))
    not_object = text(upload(client, metrics="[0.5]"))

    assert escape(UPLOAD_REFUSED.format(reason=A.MISSING_FILE.format(file=CONFIG_FILE))) in part(
        missing, "field-config_file")
    assert "must be a slug" in part(bad_name, "field-name")
    assert BAD_METRICS in part(bad_json, "field-metrics") and BAD_METRICS in part(not_object, "field-metrics")
    assert not Adapter.objects.exists()


@pytest.mark.parametrize("username", ["acme-analyst", "acme-viewer"])
def test_only_an_admin_can_upload(acme, username):
    client = page_client_for(acme, username=username)

    body = text(client.get("/adapters/"))
    response = upload(client)

    assert 'id="upload-form"' not in body
    assert f"Only an admin can upload adapters; your role ({username.removeprefix('acme-')}) can read them." in body
    assert response.status_code == 403 and escape(ADMIN_ONLY_PAGE) in text(response)
    assert not Adapter.objects.exists()


def test_a_retailer_admin_uploads_a_published_retailer_adapter(megamart):
    client = page_client_for(megamart, username="megamart-admin")
    assert "Upload a retailer adapter" in text(client.get("/adapters/"))

    upload(client, name="megamart-voice", published="on")

    adapter = Adapter.objects.get()
    assert (adapter.kind, adapter.published, adapter.status) == ("retailer", True, "draft")


# -- one adapter ------------------------------------------------------------------------------------------------


def test_another_tenants_adapter_is_the_same_404_as_a_missing_one(acme, megamart, globex):
    theirs = adapter_made(globex, name="globex-voice")
    unpublished = adapter_made(megamart, name="megamart-private")
    client = page_client_for(acme, username="acme-admin")

    for adapter_id in (theirs.pk, unpublished.pk, theirs.pk + 1000):
        assert client.get(f"/adapters/{adapter_id}/").status_code == 404
        # and managing it is as missing: nothing changes
        for action in ("approve", "retire", "publish"):
            assert client.post(f"/adapters/{adapter_id}/{action}", {"published": "true"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "approved"


def test_a_usable_adapter_of_another_tenant_is_shown_but_not_managed(acme, megamart):
    published = adapter_made(megamart, name="megamart-voice", published=True, actor="user:megamart-admin")
    client = page_client_for(acme, username="acme-admin")

    body = text(client.get(f"/adapters/{published.pk}/"))
    response = client.post(f"/adapters/{published.pk}/retire")

    assert "You may use it: published by MegaMart to every brand." in part(body, "access-reason")
    assert 'id="adapter-actions"' not in body
    # who made and approved it is megamart's business
    assert "megamart-admin" not in body
    assert response.status_code == 404


def test_an_admin_approves_a_draft_in_place(acme):
    # given a draft on its page, with the approve button
    adapter = adapter_made(acme, name="acme-voice", approve=False)
    client = page_client_for(acme, username="acme-admin")
    assert 'id="approve"' in text(client.get(f"/adapters/{adapter.pk}/"))

    # when the admin approves it, then tries again from a stale page
    approved = client.post(f"/adapters/{adapter.pk}/approve", **HTMX)
    again = client.post(f"/adapters/{adapter.pk}/approve", **HTMX)

    # then it is approved, the adapter part comes back saying so, without the button
    adapter.refresh_from_db()
    assert (adapter.status, adapter.approved_by) == ("approved", "user:acme-admin")
    body = text(approved)
    assert body.startswith('<div id="adapter">')
    assert f'<p class="flash" id="action-done" role="status">{APPROVED.format(adapter="acme-voice v1")}</p>' in body
    assert 'id="approve"' not in body and "by user:acme-admin" in part(body, "lifecycle-approved")
    # and the second try says why, as a message rather than an error page
    assert again.status_code == 200
    assert f'<p class="error" id="action-error" role="alert">{ALREADY_APPROVED.format(adapter="acme-voice v1")}</p>' \
        in text(again)


def test_a_plain_post_approves_and_redirects_with_a_message(acme):
    adapter = adapter_made(acme, name="acme-voice", approve=False)
    client = page_client_for(acme, username="acme-admin")

    response = client.post(f"/adapters/{adapter.pk}/approve", follow=True)

    assert response.redirect_chain == [(f"/adapters/{adapter.pk}/", 302)]
    assert f'<p class="flash">{APPROVED.format(adapter="acme-voice v1")}</p>' in text(response)


@pytest.mark.parametrize("username", ["acme-analyst", "acme-viewer"])
def test_only_an_admin_approves_or_retires(acme, username):
    adapter = adapter_made(acme, name="acme-voice", approve=False)
    client = page_client_for(acme, username=username)

    body = text(client.get(f"/adapters/{adapter.pk}/"))
    responses = [client.post(f"/adapters/{adapter.pk}/{action}") for action in ("approve", "retire")]

    assert 'id="adapter-actions"' not in body and 'id="manage-read-only"' in body
    assert [response.status_code for response in responses] == [403, 403]
    adapter.refresh_from_db()
    assert adapter.status == "draft"


def test_a_tampered_artifact_shows_invalid_and_cannot_be_approved(acme, adapter_store):
    # given a draft whose stored weights were altered
    adapter = adapter_made(acme, name="acme-voice", approve=False)
    _flip_a_byte(adapter_store / str(adapter.pk) / f"{MODEL_FILE}.enc")
    client = page_client_for(acme, username="acme-admin")
    reason = A.UNDECRYPTABLE.format(file=MODEL_FILE)

    # when the admin opens it, and tries to approve it
    body = text(client.get(f"/adapters/{adapter.pk}/"))
    refused = client.post(f"/adapters/{adapter.pk}/approve", **HTMX)

    # then the signature checked against the files is invalid, with the reason
    assert '<span class="signature-invalid" id="signature-status"><strong>invalid</strong></span>' in body
    assert f'<span id="signature-reason">{escape(reason)}</span>' in body
    # while the record's own signature (what the list checks, cheaply) still holds
    assert table_rows(text(client.get("/adapters/")), "adapters-table")[0][8] == "valid"
    # and approving is refused with the service's message, shown in place; it stays a draft
    assert refused.status_code == 200
    message = NOT_APPROVABLE.format(adapter="acme-voice v1", reason=reason)
    assert f'<p class="error" id="action-error" role="alert">{escape(message)}</p>' in text(refused)
    adapter.refresh_from_db()
    assert adapter.status == "draft"
    assert {row.actor for row in audit_rows(acme, action="adapter.tampered")} == {"user:acme-admin"}


def test_an_altered_record_shows_invalid_on_the_list(acme):
    adapter = adapter_made(acme, name="acme-voice")
    Adapter.objects.filter(pk=adapter.pk).update(signature="")

    rows = table_rows(text(page_client_for(acme, username="acme-viewer").get("/adapters/")), "adapters-table")

    assert rows[0][8] == f"invalid {A.UNSIGNED}"


def test_a_retailer_admin_publishes_withdraws_and_retires(megamart):
    adapter = adapter_made(megamart, name="megamart-voice")
    client = page_client_for(megamart, username="megamart-admin")
    assert 'value="true"' in part(text(client.get(f"/adapters/{adapter.pk}/")), "publish-form")

    published = text(client.post(f"/adapters/{adapter.pk}/publish", {"published": "true"}, **HTMX))
    adapter.refresh_from_db()
    assert adapter.published is True
    assert PUBLISHED.format(adapter="megamart-voice v1") in published
    assert 'value="false"' in part(published, "publish-form")

    unclear = text(client.post(f"/adapters/{adapter.pk}/publish", {"published": "yes"}, **HTMX))
    adapter.refresh_from_db()
    assert adapter.published is True and f'id="action-error" role="alert">{PUBLISH_CHOICE}</p>' in unclear

    withdrawn = text(client.post(f"/adapters/{adapter.pk}/publish", {"published": "false"}, **HTMX))
    adapter.refresh_from_db()
    assert adapter.published is False and WITHDRAWN.format(adapter="megamart-voice v1") in withdrawn

    retired = text(client.post(f"/adapters/{adapter.pk}/retire", **HTMX))
    adapter.refresh_from_db()
    assert adapter.status == "retired" and RETIRED.format(adapter="megamart-voice v1") in retired
    assert 'id="adapter-actions"' not in retired and "You may not use it: retired." in retired


def test_a_brand_adapter_has_no_publish_button(acme):
    adapter = adapter_made(acme, name="acme-voice")

    body = text(page_client_for(acme, username="acme-admin").get(f"/adapters/{adapter.pk}/"))

    assert 'id="retire"' in body and 'id="publish"' not in body and 'id="approve"' not in body


def test_metrics_are_flattened_by_name():
    assert metrics_flat({"loss": 1.25, "eval": {"rougeL": 0.4, "em": {"strict": 0.5}}, "ok": True, "tags": ["a"],
                         "empty": {}, "note": "fine", "n": 3}) == [
        ("empty", "{}"), ("eval.em.strict", "0.5"), ("eval.rougeL", "0.4"), ("loss", "1.25"), ("n", "3"),
        ("note", "fine"), ("ok", "true"), ("tags", '["a"]')]
