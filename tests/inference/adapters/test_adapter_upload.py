"""Uploading an adapter: exactly the two files, a sound safetensors header, LoRA weights of the configured rank for
the declared base model; anything else is refused with the reason, audited, and nothing is stored. An accepted
upload is hashed, signed with the platform key and stored encrypted."""

from __future__ import annotations

import hashlib
import json
import pickle

import numpy as np
import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.core.files.uploadedfile import SimpleUploadedFile

from governance.audit.models import AuditEntry
from inference.adapters import artifacts as A
from inference.adapters import keys
from inference.adapters.models import CONFIG_FILE, MODEL_FILE, Adapter
from inference.adapters.services import (
    BASE_MISMATCH,
    KIND_CHANGED,
    KIND_NOT_ALLOWED,
    PUBLISH_RETAILER_ONLY,
    TASK_REQUIRED,
    UPLOAD_REFUSED,
    adapter_upload,
)
from rmn_saas.errors import ApiError
from tests.inference.adapters.builders import lora_config, lora_files, lora_model, lora_tensors


def _refusal(owner, files, **terms) -> ApiError:
    before = Adapter.objects.count()
    with pytest.raises(ApiError) as caught:
        adapter_upload(owner=owner, actor="user:acme-admin", name=terms.pop("name", "acme-voice"),
                       kind=terms.pop("kind", owner.kind), files=files, **terms)
    # nothing was stored, and the refusal is on the record
    assert Adapter.objects.count() == before
    [row] = AuditEntry.objects.filter(action="adapter.upload").order_by("-id")[:1]
    assert (row.outcome, row.details["refused"]) == ("failure", caught.value.details)
    return caught.value


def _header(header: dict, body: bytes = b"") -> bytes:
    raw = json.dumps(header).encode()
    return len(raw).to_bytes(8, "little") + raw + body


def _model_file(data: bytes, name: str = MODEL_FILE) -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(name, data), SimpleUploadedFile(CONFIG_FILE, lora_config())]


def _assert_refused(exc: ApiError, reason: str, *, file: str, code: str = "invalid_artifact") -> None:
    assert (exc.status_code, exc.error_code) == (400, code)
    assert str(exc.detail) == UPLOAD_REFUSED.format(reason=reason)
    assert exc.details == {"reason": reason, "file": file}


def test_an_upload_is_hashed_signed_and_stored_encrypted(acme, adapter_store):
    files = lora_files(rank=8)
    model, config = (file.read() for file in files)

    adapter = adapter_upload(owner=acme, actor="user:acme-admin", name="acme-voice", kind="brand", files=files)

    assert (adapter.version, adapter.status, adapter.rank, adapter.alpha, adapter.target_modules) == (
        1, "draft", 8, 8.0, ["q_proj", "v_proj"])
    assert (adapter.model_sha256, adapter.config_sha256) == (hashlib.sha256(model).hexdigest(),
                                                             hashlib.sha256(config).hexdigest())
    assert (adapter.model_bytes, adapter.config_bytes, adapter.created_by) == (len(model), len(config),
                                                                               "user:acme-admin")
    # on disk: the two files, encrypted (not even the safetensors header shows)
    folder = adapter_store / str(adapter.pk)
    assert sorted(path.name for path in folder.iterdir()) == [f"{CONFIG_FILE}.enc", f"{MODEL_FILE}.enc"]
    stored = (folder / f"{MODEL_FILE}.enc").read_bytes()
    assert stored.startswith(keys.ENCRYPTED_MAGIC) and model[8:40] not in stored
    assert b"q_proj" not in (folder / f"{CONFIG_FILE}.enc").read_bytes()
    # and load_verified gives back exactly what was sent
    assert A.load_verified(adapter) == {MODEL_FILE: model, CONFIG_FILE: config}


def test_the_signature_verifies_with_the_platform_public_key(acme, settings):
    adapter = adapter_upload(owner=acme, actor="test", name="acme-voice", kind="brand", files=lora_files())
    public = load_pem_public_key(keys.public_key_pem().encode())
    message = json.dumps({"adapter": adapter.pk, "owner": "acme", "name": "acme-voice", "kind": "brand", "task": "",
                          "version": 1, "sha256": {MODEL_FILE: adapter.model_sha256,
                                                   CONFIG_FILE: adapter.config_sha256}},
                         sort_keys=True, separators=(",", ":")).encode()

    # given only the public key and the record, anyone can check the binding
    public.verify(bytes.fromhex(adapter.signature), message)
    assert A.signed_message(adapter) == message
    assert adapter.signing_key_id == keys.key_id(public)
    # the key was generated once, private to the platform, and is reused
    key_file = settings.RMN_ADAPTER_SIGNING_KEY_DEFAULT
    assert key_file.stat().st_mode & 0o777 == 0o600
    second = adapter_upload(owner=acme, actor="test", name="acme-voice", kind="brand", files=lora_files())
    assert second.signing_key_id == adapter.signing_key_id
    # and a changed version no longer verifies
    adapter.version = 2
    assert not keys.signature_valid(A.signed_message(adapter), adapter.signature)


def test_a_new_upload_under_the_same_name_is_the_next_version(acme):
    first = adapter_upload(owner=acme, actor="test", name="acme-voice", kind="brand", files=lora_files())
    second = adapter_upload(owner=acme, actor="test", name="acme-voice", kind="brand", files=lora_files(rank=2))
    other = adapter_upload(owner=acme, actor="test", name="acme-promo", kind="brand", files=lora_files())

    assert (first.version, second.version, other.version) == (1, 2, 1)


@pytest.mark.parametrize("name", ["adapter_model.bin", "pytorch_model.pt", "weights.pkl", "adapter_model.ckpt"])
def test_a_pickle_file_is_refused(acme, name):
    payload = pickle.dumps({"weights": [1.0, 2.0]})

    exc = _refusal(acme, [SimpleUploadedFile(name, payload), SimpleUploadedFile(CONFIG_FILE, lora_config())])

    _assert_refused(exc, A.PICKLE_NAME.format(file=name), file=name)


@pytest.mark.parametrize("payload", [pickle.dumps({"w": 1}, protocol=4), b"PK\x03\x04torch-archive"])
def test_a_pickle_under_the_safetensors_name_is_refused(acme, payload):
    exc = _refusal(acme, _model_file(payload))

    _assert_refused(exc, A.PICKLE_CONTENT.format(file=MODEL_FILE), file=MODEL_FILE)


def test_an_extra_file_is_refused(acme):
    exc = _refusal(acme, lora_files(extra={"README.md": b"# my adapter"}))

    _assert_refused(exc, A.UNEXPECTED_FILE.format(file="README.md"), file="README.md")


def test_a_missing_or_repeated_file_is_refused(acme):
    missing = _refusal(acme, [SimpleUploadedFile(MODEL_FILE, lora_model())])
    _assert_refused(missing, A.MISSING_FILE.format(file=CONFIG_FILE), file=CONFIG_FILE)

    twice = _refusal(acme, [*lora_files(), SimpleUploadedFile(CONFIG_FILE, lora_config())])
    _assert_refused(twice, A.DUPLICATE_FILE.format(file=CONFIG_FILE), file=CONFIG_FILE)


def test_an_oversized_or_empty_file_is_refused(acme, settings):
    empty = _refusal(acme, _model_file(b""))
    _assert_refused(empty, A.EMPTY_FILE.format(file=MODEL_FILE), file=MODEL_FILE)

    settings.RMN_ADAPTER_MAX_BYTES = 1024 * 1024
    big = _refusal(acme, _model_file(lora_model(layers=1200)))
    _assert_refused(big, A.TOO_LARGE.format(file=MODEL_FILE, limit=1), file=MODEL_FILE)


@pytest.mark.parametrize(("data", "problem"), [
    (b"\x05\x00", "shorter than the 8-byte header length"),
    ((10**6).to_bytes(8, "little") + b"{}", "a header of 1000000 bytes does not fit a 10-byte file"),
    ((4).to_bytes(8, "little") + b"\xff\xfe{}", "the header is not JSON"),
    (_header([1, 2]), "the header is not a JSON object"),
    (_header({"x.lora_A.weight": {"dtype": "F32", "shape": [2, 2]}}),
     "'x.lora_A.weight' is not a dtype, shape and data_offsets entry"),
    (_header({"x.lora_A.weight": {"dtype": "Q4", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4),
     "'x.lora_A.weight' has unknown dtype 'Q4'"),
    (_header({"x.lora_A.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 32]}}, b"\0" * 16),
     "'x.lora_A.weight' has data_offsets [0, 32] outside the 16-byte data"),
    (_header({"x.lora_A.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 12]}}, b"\0" * 12),
     "'x.lora_A.weight' takes 12 bytes, not what F32 [2, 2] needs"),
    (_header({"a.lora_A.weight": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, b"\0" * 8),
     "tensor data overlaps or leaves gaps"),
    (lora_model() + b"\0" * 8, "8 bytes after the last tensor"),
    (lora_model()[:-4], None),
])
def test_a_corrupt_safetensors_header_is_refused(acme, data, problem):
    exc = _refusal(acme, _model_file(data))

    assert exc.details["file"] == MODEL_FILE
    assert exc.details["reason"].startswith("adapter_model.safetensors: corrupt header (")
    if problem is not None:
        _assert_refused(exc, A.CORRUPT.format(problem=problem), file=MODEL_FILE)


@pytest.mark.parametrize(("config", "reason"), [
    (b"not json", A.CONFIG_NOT_OBJECT),
    (b"[1, 2]", A.CONFIG_NOT_OBJECT),
    (lora_config(r=None, target_modules=None), A.CONFIG_MISSING.format(keys="r, target_modules")),
    (lora_config(base_model_name_or_path=None), A.CONFIG_MISSING.format(keys="base_model_name_or_path")),
    (lora_config(peft_type="IA3"), A.NOT_LORA.format(value="IA3")),
    (lora_config(rank=0), A.BAD_RANK),
    (lora_config(r="4"), A.BAD_RANK),
    (lora_config(alpha=-1), A.BAD_ALPHA),
    (lora_config(target_modules=[]), A.BAD_TARGETS),
    (lora_config(target_modules="q_proj"), A.BAD_TARGETS),
    (lora_config(base_model_name_or_path=""), A.BAD_BASE),
    (lora_config(rank_pattern={"q_proj": 8}), A.RANK_PATTERN),
])
def test_a_bad_config_is_refused(acme, config, reason):
    exc = _refusal(acme, lora_files(config=config))

    _assert_refused(exc, reason, file=CONFIG_FILE)


def test_weights_of_another_rank_than_the_config_are_incompatible(acme):
    exc = _refusal(acme, lora_files(model=lora_model(rank=4), config=lora_config(rank=8)))

    _assert_refused(exc, A.RANK_MISMATCH.format(
        name="base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", found=4, rank=8),
        file=MODEL_FILE, code="incompatible_adapter")


def test_a_config_for_another_base_model_than_declared_is_incompatible(acme):
    exc = _refusal(acme, lora_files(base_model="meta-llama/Llama-3.1-8B"), base_model="smollm2-135m-instruct")

    _assert_refused(exc, BASE_MISMATCH.format(found="meta-llama/Llama-3.1-8B", declared="smollm2-135m-instruct"),
                    file=CONFIG_FILE, code="incompatible_adapter")


def _saved(tensors: dict) -> bytes:
    from safetensors.numpy import save

    return save(tensors)


@pytest.mark.parametrize(("tensors", "reason"), [
    ({"model.embed_tokens.weight": np.zeros((4, 4), np.float32)},
     A.NOT_LORA_TENSOR.format(name="model.embed_tokens.weight")),
    ({"m.q_proj.lora_A.weight": np.zeros((4, 16), np.int32), "m.q_proj.lora_B.weight": np.zeros((16, 4), np.int32)},
     A.NOT_FLOAT.format(name="m.q_proj.lora_A.weight", dtype="I32")),
    ({"m.q_proj.lora_A.weight": np.zeros((4, 16, 1), np.float32)},
     A.NOT_MATRIX.format(name="m.q_proj.lora_A.weight", shape=[4, 16, 1])),
    ({"m.q_proj.lora_A.weight": np.zeros((4, 16), np.float32)},
     A.UNPAIRED.format(module="m.q_proj", has="A", lacks="B")),
    ({"m.q_proj.lora_A.weight": np.zeros((4, 16), np.float32), "m.q_proj.lora_B.weight": np.zeros((16, 2),
                                                                                                np.float32)},
     A.INNER_MISMATCH.format(module="m.q_proj", a=4, b=2)),
    ({**lora_tensors(), **lora_tensors(modules=("o_proj",), layers=1)}, A.UNTARGETED.format(
        module="base_model.model.model.layers.0.self_attn.o_proj")),
    ({}, A.NO_WEIGHTS),
])
def test_weights_that_are_not_a_sound_lora_adapter_are_refused(acme, tensors, reason):
    exc = _refusal(acme, lora_files(model=_saved(tensors)))

    _assert_refused(exc, reason, file=MODEL_FILE)


def test_half_precision_weights_are_accepted(acme):
    adapter = adapter_upload(owner=acme, actor="test", name="acme-voice", kind="brand",
                             files=lora_files(model=lora_model(dtype=np.float16)))

    assert adapter.model_bytes == len(lora_model(dtype=np.float16))


@pytest.mark.parametrize(("kind", "terms", "reason"), [
    ("retailer", {}, KIND_NOT_ALLOWED.format(kind="retailer", owner_kind="retailer", tenant="Acme Foods",
                                             tenant_kind="brand")),
    ("task", {"task": "ad_copy"}, KIND_NOT_ALLOWED.format(kind="task", owner_kind="platform", tenant="Acme Foods",
                                                          tenant_kind="brand")),
    ("brand", {"published": True}, PUBLISH_RETAILER_ONLY),
])
def test_a_brand_uploads_brand_adapters_only(acme, kind, terms, reason):
    exc = _refusal(acme, lora_files(), kind=kind, **terms)

    assert (exc.status_code, exc.error_code, str(exc.detail)) == (400, "invalid", UPLOAD_REFUSED.format(
        reason=reason))


def test_a_task_adapter_names_its_task_and_keeps_its_kind(platform):
    exc = _refusal(platform, lora_files(), kind="task", name="ad-copy")
    assert str(exc.detail) == UPLOAD_REFUSED.format(reason=TASK_REQUIRED)

    adapter_upload(owner=platform, actor="test", name="ad-copy", kind="task", task="ad_copy", files=lora_files())
    exc = _refusal(platform, lora_files(), kind="task", name="ad-copy", task="summarize")
    assert str(exc.detail) == UPLOAD_REFUSED.format(reason=KIND_CHANGED.format(
        name="ad-copy", kind="task", task=" for task 'ad_copy'"))
