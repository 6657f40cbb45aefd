"""/api/v1/adapters…: admins upload, approve, retire and publish their own tenant's adapters; any role lists the
adapters it may use, reads one with its signature status, and routes a request. Another tenant's adapter is the
same 404 as a missing one."""

from __future__ import annotations

import pytest
from django.conf import settings

from inference.adapters import access
from inference.adapters import artifacts as A
from inference.adapters.models import CONFIG_FILE, MODEL_FILE, Adapter
from inference.adapters.services import ALREADY_RETIRED, KIND_NOT_ALLOWED, PUBLISH_RETAILER_ONLY, UPLOAD_REFUSED
from rmn_saas.errors import NOT_FOUND_MESSAGE
from tenants.leases import lease_grant
from tenants.permissions import ADMIN_ONLY
from tests.conftest import api_client_for, audit_rows
from tests.inference.adapters.builders import adapter_made, lora_config, lora_files, lora_model

ADAPTERS = "/api/v1/adapters"
NOT_FOUND = {"error": {"code": "not_found", "message": NOT_FOUND_MESSAGE, "details": {}}}


def _upload(client, **fields):
    files = fields.pop("files", None) or lora_files()
    return client.post(ADAPTERS, {"name": "acme-voice", "files": files, **fields}, format="multipart")


def test_a_brand_admin_uploads_approves_and_retires_its_adapter(acme):
    admin = api_client_for(acme, username="acme-admin")

    # when acme's admin uploads an adapter
    uploaded = _upload(admin, metrics='{"rougeL": 0.41}', base_model=settings.RMN_BASE_MODEL)

    # then it is acme's brand adapter v1, a draft, signed
    assert uploaded.status_code == 201, uploaded.content
    body = uploaded.json()
    adapter = Adapter.objects.get(pk=body["id"])
    assert uploaded["Location"] == f"{ADAPTERS}/{adapter.pk}"
    assert {key: body[key] for key in ("name", "kind", "task", "owner", "version", "status", "published", "rank",
                                       "alpha", "target_modules", "metrics", "usable", "access", "created_by")} == {
        "name": "acme-voice", "kind": "brand", "task": None, "owner": "acme", "version": 1, "status": "draft",
        "published": False, "rank": 4, "alpha": 8.0, "target_modules": ["q_proj", "v_proj"],
        "metrics": {"rougeL": 0.41}, "usable": True, "access": access.OWN_DRAFT, "created_by": "user:acme-admin"}
    assert body["files"] == {MODEL_FILE: {"sha256": adapter.model_sha256, "bytes": adapter.model_bytes},
                             CONFIG_FILE: {"sha256": adapter.config_sha256, "bytes": adapter.config_bytes}}
    assert body["signature"] == {"status": "valid", "reason": None, "key_id": adapter.signing_key_id,
                                 "checked": "record"}
    [row] = audit_rows(acme, action="adapter.upload")
    assert (row.actor, row.outcome, row.object_id) == ("user:acme-admin", "success", str(adapter.pk))

    # and approving, then retiring, moves it along
    approved = admin.post(f"{ADAPTERS}/{adapter.pk}/approve")
    assert approved.status_code == 200, approved.content
    assert (approved.json()["status"], approved.json()["access"]) == ("approved", access.OWN)
    retired = admin.post(f"{ADAPTERS}/{adapter.pk}/retire")
    assert (retired.json()["status"], retired.json()["usable"]) == ("retired", False)
    again = admin.post(f"{ADAPTERS}/{adapter.pk}/retire")
    assert again.status_code == 409
    assert again.json()["error"] == {"code": "adapter_retired", "message": ALREADY_RETIRED.format(
        adapter="acme-voice v1"), "details": {}}


def test_the_detail_verifies_the_whole_artifact(acme):
    adapter = adapter_made(acme, name="acme-voice")

    response = api_client_for(acme, username="acme-viewer").get(f"{ADAPTERS}/{adapter.pk}")

    assert response.status_code == 200
    assert response.json()["signature"] == {"status": "valid", "reason": None, "key_id": adapter.signing_key_id,
                                            "checked": "files"}


def test_a_refused_upload_says_why_and_stores_nothing(acme):
    admin = api_client_for(acme, username="acme-admin")
    files = [lora_files()[0], *lora_files(config=lora_config(rank=8))[1:]]

    response = _upload(admin, files=files)

    reason = A.RANK_MISMATCH.format(name="base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", found=4,
                                    rank=8)
    assert response.status_code == 400
    assert response.json() == {"error": {"code": "incompatible_adapter", "message": UPLOAD_REFUSED.format(
        reason=reason), "details": {"reason": reason, "file": MODEL_FILE}}}
    assert not Adapter.objects.exists()


def test_a_pickle_upload_is_refused_over_the_api(acme):
    from django.core.files.uploadedfile import SimpleUploadedFile

    files = [SimpleUploadedFile("adapter_model.bin", b"\x80\x04junk"), lora_files()[1]]

    response = _upload(api_client_for(acme, username="acme-admin"), files=files)

    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"reason": A.PICKLE_NAME.format(file="adapter_model.bin"),
                                                   "file": "adapter_model.bin"}


@pytest.mark.parametrize("username", ["acme-analyst", "acme-viewer"])
def test_only_admins_upload_and_manage(acme, username):
    adapter = adapter_made(acme, name="acme-voice", approve=False)
    client = api_client_for(acme, username=username)

    for response in (_upload(client), client.post(f"{ADAPTERS}/{adapter.pk}/approve"),
                     client.post(f"{ADAPTERS}/{adapter.pk}/retire"),
                     client.patch(f"{ADAPTERS}/{adapter.pk}", {"metrics": {"x": 1}}, format="json")):
        assert response.status_code == 403
        assert response.json()["error"]["message"] == ADMIN_ONLY
    adapter.refresh_from_db()
    assert (adapter.status, adapter.metrics, Adapter.objects.count()) == ("draft", {}, 1)


def test_a_brand_cannot_upload_a_retailer_or_task_adapter(acme):
    response = _upload(api_client_for(acme, username="acme-admin"), kind="task", task="ad_copy")

    assert response.status_code == 400
    assert response.json()["error"]["message"] == UPLOAD_REFUSED.format(reason=KIND_NOT_ALLOWED.format(
        kind="task", owner_kind="platform", tenant="Acme Foods", tenant_kind="brand"))


def test_another_tenants_adapter_cannot_be_read_or_managed(acme, megamart):
    theirs = adapter_made(acme, name="acme-voice", approve=False)
    published = adapter_made(megamart, name="megamart-voice", published=True)
    client = api_client_for(megamart, username="megamart-admin")
    acme_client = api_client_for(acme, username="acme-admin")
    missing = theirs.pk + 1000

    for path in (f"{ADAPTERS}/{{id}}", f"{ADAPTERS}/{{id}}/approve", f"{ADAPTERS}/{{id}}/retire"):
        call = client.get if path.endswith("}") else client.post
        assert call(path.format(id=theirs.pk)).json() == call(path.format(id=missing)).json() == NOT_FOUND
    # acme may use megamart's published adapter, and read it, but not manage it
    assert acme_client.get(f"{ADAPTERS}/{published.pk}").status_code == 200
    assert acme_client.post(f"{ADAPTERS}/{published.pk}/retire").json() == NOT_FOUND
    assert acme_client.patch(f"{ADAPTERS}/{published.pk}", {"published": False}, format="json").json() == NOT_FOUND
    theirs.refresh_from_db()
    published.refresh_from_db()
    assert (theirs.status, published.status, published.published) == ("draft", "approved", True)


def test_a_retailer_publishes_an_adapter_to_every_brand(acme, megamart):
    adapter = adapter_made(megamart, name="megamart-voice")
    listed = api_client_for(acme, username="acme-viewer")
    assert adapter.pk not in [item["id"] for item in listed.get(ADAPTERS).json()["results"]]

    response = api_client_for(megamart, username="megamart-admin").patch(
        f"{ADAPTERS}/{adapter.pk}", {"published": True, "metrics": {"win_rate": 0.62}}, format="json")

    assert response.status_code == 200, response.content
    assert (response.json()["published"], response.json()["metrics"]) == (True, {"win_rate": 0.62})
    [item] = [item for item in listed.get(ADAPTERS).json()["results"] if item["id"] == adapter.pk]
    assert (item["usable"], item["access"], item["created_by"]) == (
        True, access.PUBLISHED.format(retailer="MegaMart"), None)


def test_a_brand_adapter_cannot_be_published(acme):
    adapter = adapter_made(acme, name="acme-voice")

    response = api_client_for(acme, username="acme-admin").patch(f"{ADAPTERS}/{adapter.pk}", {"published": True},
                                                                 format="json")

    assert response.status_code == 400
    assert response.json()["error"]["message"] == PUBLISH_RETAILER_ONLY


def test_a_retailer_uploads_a_published_adapter(megamart):
    response = _upload(api_client_for(megamart, username="megamart-admin"), name="megamart-voice",
                       published="true", files=lora_files(model=lora_model(rank=2), config=lora_config(rank=2)))

    assert response.status_code == 201, response.content
    assert (response.json()["kind"], response.json()["published"], response.json()["rank"]) == ("retailer", True, 2)


def test_any_role_routes_a_request(acme, megamart, platform):
    task = adapter_made(platform, name="ad-copy", task="ad_copy")
    own = adapter_made(acme, name="acme-voice")
    retailer = adapter_made(megamart, name="megamart-voice")
    lease_grant(retailer=megamart, actor="user:megamart-admin", data={"brand": "acme"})
    client = api_client_for(acme, username="acme-viewer")

    response = client.post(f"{ADAPTERS}/route", {"task": "ad_copy", "retailer": "megamart"}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert [ref["id"] for ref in body["stack"]] == [retailer.pk, own.pk, task.pk]
    assert body["stack"][2] == {"id": task.pk, "name": "ad-copy", "kind": "task", "version": 1, "owner": "public",
                                "base_model": task.base_model, "rank": 4, "alpha": 8.0,
                                "target_modules": ["q_proj", "v_proj"]}
    assert len(body["explanation"]) == 4 and body["skipped"] == []
    # naming an adapter acme may not use is the same 404 as a missing one
    other = adapter_made(megamart, name="megamart-private", approve=False)
    assert client.post(f"{ADAPTERS}/route", {"task": "ad_copy", "adapters": [other.pk]},
                       format="json").json() == NOT_FOUND
