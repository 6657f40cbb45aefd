"""Tamper detection: a stored artifact that was altered, swapped for another adapter's, or whose record changed is
refused by `load_verified`, and the refusal is recorded in the owner's audit log; such an adapter cannot be
approved, and its API and admin pages say why."""

from __future__ import annotations

import shutil

import pytest

from governance.audit.models import AuditEntry
from inference.adapters import artifacts as A
from inference.adapters import keys
from inference.adapters.models import CONFIG_FILE, MODEL_FILE, Adapter
from inference.adapters.services import NOT_APPROVABLE, adapter_approve
from rmn_saas.errors import ApiError
from tests.conftest import api_client_for, audit_rows
from tests.inference.adapters.builders import adapter_made


def _flip_a_byte(path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _refused(adapter: Adapter, reason: str, *, tenant, actor: str = "user:test") -> None:
    with pytest.raises(A.ArtifactTampered) as caught:
        A.load_verified(adapter, actor=actor)
    assert caught.value.reason == reason
    [row] = audit_rows(tenant, action="adapter.tampered", object_id=str(adapter.pk))
    assert (row.actor, row.outcome, row.object_type) == (actor, "failure", "adapter")
    assert row.details == {"adapter": adapter.label, "owner": tenant.slug, "reason": reason}


def test_a_flipped_byte_in_the_stored_file_is_refused_and_audited_with_the_owner(acme, adapter_store):
    adapter = adapter_made(acme, name="acme-voice")
    _flip_a_byte(adapter_store / str(adapter.pk) / f"{MODEL_FILE}.enc")

    _refused(adapter, A.UNDECRYPTABLE.format(file=MODEL_FILE), tenant=acme, actor="user:acme-analyst")


def test_another_adapters_file_swapped_in_is_refused(acme, adapter_store):
    # given two adapters of the same owner (the same encryption key)
    first = adapter_made(acme, name="acme-voice")
    second = adapter_made(acme, name="acme-promo")
    stored = f"{CONFIG_FILE}.enc"
    shutil.copy(adapter_store / str(second.pk) / stored, adapter_store / str(first.pk) / stored)

    # then the file does not decrypt where it does not belong
    _refused(first, A.UNDECRYPTABLE.format(file=CONFIG_FILE), tenant=acme)
    assert A.load_verified(second)[CONFIG_FILE]


def test_a_changed_record_no_longer_matches_its_signature(acme, megamart):
    adapter = adapter_made(acme, name="acme-voice")
    other = adapter_made(megamart, name="megamart-voice", rank=2)

    # the hash of another artifact written over the record
    Adapter.objects.filter(pk=adapter.pk).update(model_sha256=other.model_sha256)
    adapter.refresh_from_db()
    _refused(adapter, A.BAD_SIGNATURE, tenant=acme)
    # an adapter moved to another owner
    Adapter.objects.filter(pk=other.pk).update(owner=acme)
    other.refresh_from_db()
    with pytest.raises(A.ArtifactTampered) as caught:
        A.load_verified(other)
    assert caught.value.reason == A.BAD_SIGNATURE


def test_a_record_whose_base_model_was_edited_is_refused(acme):
    adapter = adapter_made(acme, name="acme-voice")
    Adapter.objects.filter(pk=adapter.pk).update(base_model="meta-llama/Llama-3.1-8B")
    adapter.refresh_from_db()

    _refused(adapter, A.CONFIG_DRIFT.format(field="base_model_name_or_path"), tenant=acme)


def test_a_missing_file_or_signature_is_refused(acme, adapter_store):
    adapter = adapter_made(acme, name="acme-voice")
    (adapter_store / str(adapter.pk) / f"{MODEL_FILE}.enc").unlink()
    _refused(adapter, A.STORED_MISSING.format(file=MODEL_FILE), tenant=acme)

    unsigned = adapter_made(acme, name="acme-promo")
    Adapter.objects.filter(pk=unsigned.pk).update(signature="")
    unsigned.refresh_from_db()
    with pytest.raises(A.ArtifactTampered) as caught:
        A.load_verified(unsigned)
    assert caught.value.reason == A.UNSIGNED


def test_a_signature_by_another_key_is_refused(acme, settings, tmp_path):
    adapter = adapter_made(acme, name="acme-voice")
    signed_with = adapter.signing_key_id

    # when the platform's key is another one than the artifact was signed with
    settings.RMN_ADAPTER_SIGNING_KEY_DEFAULT = tmp_path / "rotated.pem"

    _refused(adapter, A.OTHER_KEY.format(signed=signed_with, current=keys.key_id()), tenant=acme)


def test_an_operator_key_file_must_exist(acme, settings, tmp_path):
    from django.core.exceptions import ImproperlyConfigured

    settings.RMN_ADAPTER_SIGNING_KEY = str(tmp_path / "nowhere.pem")

    with pytest.raises(ImproperlyConfigured, match="nowhere.pem, which does not exist"):
        keys.signing_key()


def test_another_encryption_secret_cannot_read_the_store(acme, settings):
    adapter = adapter_made(acme, name="acme-voice")

    settings.RMN_ADAPTER_KEY = "a-different-platform-secret"

    _refused(adapter, A.UNDECRYPTABLE.format(file=MODEL_FILE), tenant=acme)


def test_a_retailers_tampered_adapter_is_audited_in_the_retailers_log(acme, megamart, adapter_store):
    adapter = adapter_made(megamart, name="megamart-voice", published=True)
    _flip_a_byte(adapter_store / str(adapter.pk) / f"{CONFIG_FILE}.enc")

    # when a brand's viewer opens it
    response = api_client_for(acme, username="acme-viewer").get(f"/api/v1/adapters/{adapter.pk}")

    # then the answer says the artifact fails, and megamart's log (not acme's) records the tamper
    reason = A.UNDECRYPTABLE.format(file=CONFIG_FILE)
    assert response.status_code == 200
    assert response.json()["signature"] == {"status": "invalid", "reason": reason, "key_id": adapter.signing_key_id,
                                            "checked": "files"}
    [row] = audit_rows(megamart, action="adapter.tampered")
    assert (row.actor, row.details["reason"]) == ("user:acme-viewer", reason)
    assert audit_rows(acme, action="adapter.tampered") == []


def test_a_tampered_draft_cannot_be_approved_and_the_refusal_stays_on_record(platform, adapter_store):
    draft = adapter_made(platform, name="ad-copy", task="ad_copy", approve=False)
    _flip_a_byte(adapter_store / str(draft.pk) / f"{MODEL_FILE}.enc")

    with pytest.raises(ApiError) as caught:
        adapter_approve(adapter=draft, actor="user:platform-admin")

    reason = A.UNDECRYPTABLE.format(file=MODEL_FILE)
    assert (caught.value.status_code, caught.value.error_code, str(caught.value.detail)) == (
        409, "artifact_tampered", NOT_APPROVABLE.format(adapter="ad-copy v1", reason=reason))
    draft.refresh_from_db()
    assert draft.status == "draft"
    assert AuditEntry.objects.filter(action="adapter.tampered", object_id=str(draft.pk)).count() == 1
