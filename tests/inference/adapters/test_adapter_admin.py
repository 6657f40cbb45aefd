"""Adapters in the admins: a brand's or retailer's admin sees and manages only its own, platform staff see every
tenant's and upload the platform's task adapters; uploads are checked as over the API, nothing is deleted."""

from __future__ import annotations

from django.utils.html import escape

from inference.adapters import artifacts as A
from inference.adapters.admin import VERIFIED
from inference.adapters.models import MODEL_FILE, Adapter
from inference.adapters.services import UPLOAD_REFUSED
from tests.conftest import audit_rows, page_client_for
from tests.inference.adapters.builders import adapter_made, lora_config, lora_files

CHANGELIST = "/admin/adapters/adapter/"


def _link(adapter: Adapter) -> bytes:
    return f"{CHANGELIST}{adapter.pk}/change/".encode()


def test_each_tenant_admin_sees_only_its_own_adapters(acme, megamart, platform):
    acme_adapter = adapter_made(acme, name="acme-voice")
    megamart_adapter = adapter_made(megamart, name="megamart-voice", published=True)
    task = adapter_made(platform, name="ad-copy", task="ad_copy")

    for tenant, own in ((acme, acme_adapter), (megamart, megamart_adapter)):
        client = page_client_for(tenant, username=f"{tenant.slug}-admin")
        listed = client.get(CHANGELIST)
        assert listed.status_code == 200
        assert _link(own) in listed.content
        others = {acme_adapter, megamart_adapter, task} - {own}
        assert not any(_link(other) in listed.content for other in others)
        # and another tenant's adapter is as missing as one that does not exist
        assert all(client.get(f"{CHANGELIST}{other.pk}/change/").status_code == 302 for other in others)


def test_platform_staff_see_every_adapter_with_its_signature(acme, megamart, platform):
    adapters = [adapter_made(acme, name="acme-voice"), adapter_made(megamart, name="megamart-voice"),
                adapter_made(platform, name="ad-copy", task="ad_copy")]
    client = page_client_for(platform, username="platform-admin")

    listed = client.get(CHANGELIST)

    assert listed.status_code == 200
    assert all(_link(adapter) in listed.content for adapter in adapters)
    detail = client.get(f"{CHANGELIST}{adapters[0].pk}/change/")
    assert VERIFIED.encode() in detail.content


def test_platform_staff_upload_and_approve_a_task_adapter(platform):
    client = page_client_for(platform, username="platform-admin")

    response = client.post(f"{CHANGELIST}add/", {"owner": str(platform.pk), "name": "ad-copy", "kind": "task",
                                                  "task": "ad_copy", "metrics": "{}", "files": lora_files()})

    assert response.status_code == 302, response.content
    adapter = Adapter.objects.get(name="ad-copy")
    assert (adapter.owner, adapter.kind, adapter.task, adapter.status, adapter.created_by) == (
        platform, "task", "ad_copy", "draft", "user:platform-admin")
    client.post(CHANGELIST, {"action": "approve", "_selected_action": [adapter.pk]})
    adapter.refresh_from_db()
    assert (adapter.status, adapter.approved_by) == ("approved", "user:platform-admin")
    assert [row.action for row in audit_rows(platform, action__startswith="adapter.")] == [
        "adapter.upload", "adapter.approve"]


def test_a_refused_upload_in_the_admin_shows_the_reason(acme):
    client = page_client_for(acme, username="acme-admin")
    files = lora_files(config=lora_config(rank=8))

    response = client.post(f"{CHANGELIST}add/", {"name": "acme-voice", "metrics": "{}", "files": files})

    assert response.status_code == 200  # the form comes back
    reason = A.RANK_MISMATCH.format(name="base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", found=4,
                                    rank=8)
    assert escape(UPLOAD_REFUSED.format(reason=reason)).encode() in response.content
    assert not Adapter.objects.exists()


def test_a_brand_admin_uploads_its_own_brand_adapter(acme):
    client = page_client_for(acme, username="acme-admin")

    response = client.post(f"{CHANGELIST}add/", {"name": "acme-voice", "metrics": '{"rougeL": 0.4}',
                                                  "files": lora_files()})

    assert response.status_code == 302, response.content
    adapter = Adapter.objects.get()
    assert (adapter.owner, adapter.kind, adapter.metrics) == (acme, "brand", {"rougeL": 0.4})
    # a brand has nothing to publish
    assert b'value="publish"' not in client.get(CHANGELIST).content


def test_a_retailer_admin_publishes_and_retires_and_nothing_is_deleted(megamart):
    adapter = adapter_made(megamart, name="megamart-voice")
    client = page_client_for(megamart, username="megamart-admin")

    client.post(CHANGELIST, {"action": "publish", "_selected_action": [adapter.pk]})
    adapter.refresh_from_db()
    assert adapter.published
    client.post(CHANGELIST, {"action": "retire", "_selected_action": [adapter.pk]})
    adapter.refresh_from_db()
    assert adapter.status == "retired"
    # a retired adapter's page is read-only, and there is no delete
    assert client.post(f"{CHANGELIST}{adapter.pk}/change/", {"published": "", "metrics": "{}"}).status_code == 403
    assert client.get(f"{CHANGELIST}{adapter.pk}/delete/").status_code == 403


def test_a_tampered_artifact_shows_on_its_admin_page(acme, adapter_store):
    adapter = adapter_made(acme, name="acme-voice")
    path = adapter_store / str(adapter.pk) / f"{MODEL_FILE}.enc"
    path.write_bytes(path.read_bytes()[:-1] + b"\0")

    page = page_client_for(acme, username="acme-admin").get(f"{CHANGELIST}{adapter.pk}/change/")

    assert escape(f"INVALID: {A.UNDECRYPTABLE.format(file=MODEL_FILE)}").encode() in page.content
    [row] = audit_rows(acme, action="adapter.tampered")
    assert row.actor == "user:acme-admin"
