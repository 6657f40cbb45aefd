"""Adapter artifacts: exactly adapter_model.safetensors and adapter_config.json, checked before anything is stored
(no pickle, nothing else, a sound safetensors header, LoRA weights of the configured rank), then hashed, signed with
the platform key and stored encrypted under settings.RMN_ADAPTER_DIR/<adapter id>/<file>.enc.

`load_verified` is the only way back to the bytes: it checks the signature, decrypts and re-hashes, and on any
mismatch raises ArtifactTampered and records it in the owner's audit log. No torch here: the web process parses
the safetensors header itself.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from django.conf import settings
from django_tenants.utils import schema_context

from governance.audit.models import Outcome
from governance.audit.services import audit_record
from inference.adapters import keys
from inference.adapters.models import ARTIFACT_FILES, CONFIG_FILE, MODEL_FILE, Adapter

MAX_RANK = 1024
MAX_HEADER_BYTES = 100 * 1024 * 1024  # the safetensors format's own limit
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".npy", ".npz")
FLOAT_DTYPES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1}
DTYPE_BYTES = {**FLOAT_DTYPES, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8, "U32": 4, "U16": 2, "U8": 1,
               "BOOL": 1}
LORA_WEIGHT = re.compile(r"^(?P<module>.+)\.lora_(?P<side>[AB])\.weight$")
CONFIG_KEYS = ("peft_type", "r", "lora_alpha", "target_modules", "base_model_name_or_path")

INVALID = "invalid_artifact"
INCOMPATIBLE = "incompatible_adapter"
PICKLE_NAME = "{file}: pickle files are refused (loading one runs code); send adapter_model.safetensors"
PICKLE_CONTENT = "{file}: holds a pickle or a torch archive, which is refused (loading one runs code)"
UNEXPECTED_FILE = "{file}: an adapter is exactly adapter_model.safetensors and adapter_config.json, nothing else"
DUPLICATE_FILE = "{file}: sent twice"
MISSING_FILE = "{file} is missing: an adapter is exactly adapter_model.safetensors and adapter_config.json"
EMPTY_FILE = "{file} is empty"
TOO_LARGE = "{file} is larger than the {limit} MB limit"
CONFIG_NOT_OBJECT = "adapter_config.json is not a JSON object"
CONFIG_MISSING = "adapter_config.json lacks {keys}"
NOT_LORA = "adapter_config.json: peft_type is {value!r}; only LORA adapters are accepted"
BAD_RANK = f"adapter_config.json: r must be a whole number from 1 to {MAX_RANK}"
BAD_ALPHA = "adapter_config.json: lora_alpha must be a positive number"
BAD_TARGETS = "adapter_config.json: target_modules must be a non-empty list of module names"
BAD_BASE = "adapter_config.json: base_model_name_or_path must name the base model"
RANK_PATTERN = "adapter_config.json: per-module ranks (rank_pattern) are not supported; one rank per adapter"
CORRUPT = "adapter_model.safetensors: corrupt header ({problem})"
NOT_LORA_TENSOR = "adapter_model.safetensors: {name!r} is not a LoRA weight (<module>.lora_A.weight or .lora_B.weight)"
NOT_FLOAT = "adapter_model.safetensors: {name!r} is {dtype}; LoRA weights are floating point"
NOT_MATRIX = "adapter_model.safetensors: {name!r} has shape {shape}; a LoRA weight is a matrix"
UNPAIRED = "adapter_model.safetensors: module {module!r} has lora_{has} but no lora_{lacks}"
INNER_MISMATCH = "adapter_model.safetensors: module {module!r} has lora_A of rank {a} but lora_B of rank {b}"
RANK_MISMATCH = "adapter_model.safetensors: {name!r} has rank {found}, but adapter_config.json says r={rank}"
UNTARGETED = "adapter_model.safetensors: weights for module {module!r}, which target_modules does not name"
NO_WEIGHTS = "adapter_model.safetensors holds no LoRA weights"

UNSIGNED = "the artifact is not signed"
OTHER_KEY = "signed with key {signed}, not the platform's key {current}"
BAD_SIGNATURE = "the platform signature does not match the registry record (id, owner, name, version or hashes)"
STORED_MISSING = "{file} is missing from the store"
UNDECRYPTABLE = "{file} does not decrypt: it was altered, or it is not this adapter's file"
HASH_MISMATCH = "{file} does not match its signed sha256"
CONFIG_DRIFT = "adapter_config.json no longer agrees with the registry ({field})"


class ArtifactRefused(ValueError):
    """An upload that is not a sound LoRA adapter; `reason` says why, `code` whether it is malformed or unfit."""

    def __init__(self, reason: str, *, file: str = "", code: str = INVALID) -> None:
        super().__init__(reason)
        self.reason, self.file, self.code = reason, file, code


class ArtifactTampered(Exception):
    """A stored artifact that no longer matches its signature or hashes: it must not be loaded."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UploadedArtifactFile(Protocol):
    name: str | None
    size: int | None

    def seek(self, offset: int) -> Any: ...
    def read(self, size: int = ...) -> bytes: ...


@dataclass(frozen=True)
class Artifact:
    """A checked upload: both files' bytes and what the config says."""

    files: dict[str, bytes] = field(repr=False)
    base_model: str
    rank: int
    alpha: float
    target_modules: list[str]

    def sha256(self, name: str) -> str:
        return hashlib.sha256(self.files[name]).hexdigest()


def artifact_read(files: Iterable[UploadedArtifactFile]) -> Artifact:
    """Read and check an upload whole; raises ArtifactRefused naming the file and the problem."""
    limit = settings.RMN_ADAPTER_MAX_BYTES
    received: dict[str, bytes] = {}
    for upload in files:
        name = Path(upload.name or "").name
        if name.lower().endswith(PICKLE_SUFFIXES):
            raise ArtifactRefused(PICKLE_NAME.format(file=name), file=name)
        if name not in ARTIFACT_FILES:
            raise ArtifactRefused(UNEXPECTED_FILE.format(file=name or "(unnamed)"), file=name)
        if name in received:
            raise ArtifactRefused(DUPLICATE_FILE.format(file=name), file=name)
        too_large = ArtifactRefused(TOO_LARGE.format(file=name, limit=limit // (1024 * 1024)), file=name)
        if upload.size is not None and upload.size > limit:
            raise too_large
        upload.seek(0)
        data = upload.read(limit + 1)
        if len(data) > limit:
            raise too_large
        if not data:
            raise ArtifactRefused(EMPTY_FILE.format(file=name), file=name)
        if _is_pickle(data):
            raise ArtifactRefused(PICKLE_CONTENT.format(file=name), file=name)
        received[name] = data
    for name in ARTIFACT_FILES:
        if name not in received:
            raise ArtifactRefused(MISSING_FILE.format(file=name), file=name)
    config = _config(received[CONFIG_FILE])
    _lora_weights(_safetensors_header(received[MODEL_FILE]), rank=config["r"], targets=config["target_modules"])
    return Artifact(files=received, base_model=config["base_model_name_or_path"], rank=config["r"],
                    alpha=float(config["lora_alpha"]), target_modules=list(config["target_modules"]))


def _is_pickle(data: bytes) -> bool:
    # Pickle protocols 2-5 open with PROTO; torch.save writes a zip archive holding one.
    return (data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")) or data[:4] == b"PK\x03\x04"


def _config(data: bytes) -> dict:
    def refuse(reason: str) -> ArtifactRefused:
        return ArtifactRefused(reason, file=CONFIG_FILE)

    try:
        config = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise refuse(CONFIG_NOT_OBJECT) from None
    if not isinstance(config, dict):
        raise refuse(CONFIG_NOT_OBJECT)
    if missing := [key for key in CONFIG_KEYS if key not in config]:
        raise refuse(CONFIG_MISSING.format(keys=", ".join(missing)))
    if config["peft_type"] != "LORA":
        raise refuse(NOT_LORA.format(value=config["peft_type"]))
    rank = config["r"]
    if isinstance(rank, bool) or not isinstance(rank, int) or not 1 <= rank <= MAX_RANK:
        raise refuse(BAD_RANK)
    alpha = config["lora_alpha"]
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not math.isfinite(alpha) or alpha <= 0:
        raise refuse(BAD_ALPHA)
    targets = config["target_modules"]
    if not isinstance(targets, list) or not targets or not all(isinstance(t, str) and t for t in targets):
        raise refuse(BAD_TARGETS)
    base = config["base_model_name_or_path"]
    if not isinstance(base, str) or not base.strip() or len(base) > 200:
        raise refuse(BAD_BASE)
    if config.get("rank_pattern"):
        raise refuse(RANK_PATTERN)
    return config


def _safetensors_header(data: bytes) -> dict[str, dict]:
    """The tensor entries of a safetensors file, after checking that they describe its bytes exactly."""
    def corrupt(problem: str) -> ArtifactRefused:
        return ArtifactRefused(CORRUPT.format(problem=problem), file=MODEL_FILE)

    if len(data) < 8:
        raise corrupt("shorter than the 8-byte header length")
    length = int.from_bytes(data[:8], "little")
    if not 2 <= length <= MAX_HEADER_BYTES or 8 + length > len(data):
        raise corrupt(f"a header of {length} bytes does not fit a {len(data)}-byte file")
    try:
        header = json.loads(data[8:8 + length].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise corrupt("the header is not JSON") from None
    if not isinstance(header, dict):
        raise corrupt("the header is not a JSON object")
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise corrupt("__metadata__ must map names to strings")
    body, spans = len(data) - 8 - length, []
    for name, entry in header.items():
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise corrupt(f"{name!r} is not a dtype, shape and data_offsets entry")
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if dtype not in DTYPE_BYTES:
            raise corrupt(f"{name!r} has unknown dtype {dtype!r}")
        if not isinstance(shape, list) or not all(_natural(n) for n in shape):
            raise corrupt(f"{name!r} has shape {shape!r}")
        if not isinstance(offsets, list) or len(offsets) != 2 or not all(_natural(n) for n in offsets) \
                or not offsets[0] <= offsets[1] <= body:
            raise corrupt(f"{name!r} has data_offsets {offsets!r} outside the {body}-byte data")
        if offsets[1] - offsets[0] != math.prod(shape) * DTYPE_BYTES[dtype]:
            raise corrupt(f"{name!r} takes {offsets[1] - offsets[0]} bytes, not what {dtype} {shape} needs")
        spans.append(tuple(offsets))
    position = 0
    for begin, end in sorted(spans):
        if begin != position:
            raise corrupt("tensor data overlaps or leaves gaps")
        position = end
    if position != body:
        raise corrupt(f"{body - position} bytes after the last tensor")
    return header


def _natural(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _lora_weights(header: dict[str, dict], *, rank: int, targets: list[str]) -> None:
    """Every tensor is a lora_A [r, in] or lora_B [out, r] matrix of a targeted module, and every module has both."""
    modules: dict[str, dict[str, tuple[str, list[int]]]] = {}
    for name, entry in header.items():
        match = LORA_WEIGHT.match(name)
        if match is None:
            raise ArtifactRefused(NOT_LORA_TENSOR.format(name=name), file=MODEL_FILE)
        if entry["dtype"] not in FLOAT_DTYPES:
            raise ArtifactRefused(NOT_FLOAT.format(name=name, dtype=entry["dtype"]), file=MODEL_FILE)
        if len(entry["shape"]) != 2:
            raise ArtifactRefused(NOT_MATRIX.format(name=name, shape=entry["shape"]), file=MODEL_FILE)
        modules.setdefault(match["module"], {})[match["side"]] = (name, entry["shape"])
    if not modules:
        raise ArtifactRefused(NO_WEIGHTS, file=MODEL_FILE)
    for module, sides in sorted(modules.items()):
        for has, lacks in (("A", "B"), ("B", "A")):
            if lacks not in sides:
                raise ArtifactRefused(UNPAIRED.format(module=module, has=has, lacks=lacks), file=MODEL_FILE)
        (a_name, a_shape), (_, b_shape) = sides["A"], sides["B"]
        if a_shape[0] != b_shape[1]:
            raise ArtifactRefused(INNER_MISMATCH.format(module=module, a=a_shape[0], b=b_shape[1]), file=MODEL_FILE)
        if a_shape[0] != rank:
            raise ArtifactRefused(RANK_MISMATCH.format(name=a_name, found=a_shape[0], rank=rank), file=MODEL_FILE,
                                  code=INCOMPATIBLE)
        if not any(module == target or module.endswith(f".{target}") for target in targets):
            raise ArtifactRefused(UNTARGETED.format(module=module), file=MODEL_FILE)


def artifact_dir(adapter_id: int) -> Path:
    return Path(settings.RMN_ADAPTER_DIR) / str(adapter_id)


def _aad(adapter_id: int, name: str) -> bytes:
    return f"adapter:{adapter_id}:{name}".encode()


def signed_message(adapter: Adapter) -> bytes:
    """What the platform signs: the adapter's identity and both files' hashes, as canonical JSON."""
    return json.dumps({
        "adapter": adapter.pk, "owner": adapter.owner.slug, "name": adapter.name, "kind": adapter.kind,
        "task": adapter.task, "version": adapter.version,
        "sha256": {MODEL_FILE: adapter.model_sha256, CONFIG_FILE: adapter.config_sha256},
    }, sort_keys=True, separators=(",", ":")).encode()


def artifact_store(*, adapter: Adapter, artifact: Artifact) -> None:
    """Encrypt both files into the adapter's folder and sign the record (the caller saves it). The adapter must
    have its id; a folder left by an earlier, rolled-back attempt with that id is replaced."""
    folder = artifact_dir(adapter.pk)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, mode=0o700)
    for name, data in artifact.files.items():
        staging = folder / f".{name}.enc.partial"
        staging.write_bytes(keys.encrypt(owner=adapter.owner, data=data, aad=_aad(adapter.pk, name)))
        staging.replace(folder / f"{name}.enc")
    adapter.signature = keys.sign(signed_message(adapter))
    adapter.signing_key_id = keys.key_id()


def artifact_remove(adapter_id: int) -> None:
    shutil.rmtree(artifact_dir(adapter_id), ignore_errors=True)


def signature_problem(adapter: Adapter) -> str | None:
    """Why the record's signature fails under the platform's public key, or None when it holds (cheap: no files)."""
    if not adapter.signature:
        return UNSIGNED
    current = keys.key_id()
    if adapter.signing_key_id != current:
        return OTHER_KEY.format(signed=adapter.signing_key_id or "?", current=current)
    if not keys.signature_valid(signed_message(adapter), adapter.signature):
        return BAD_SIGNATURE
    return None


def load_verified(adapter: Adapter, *, actor: str = "system") -> dict[str, bytes]:
    """The adapter's two files, decrypted, after checking the signature, both hashes and the config against the
    record. Anything else raises ArtifactTampered, recorded in the owner's audit log."""
    try:
        return _verified(adapter)
    except ArtifactTampered as exc:
        with schema_context(adapter.owner.schema_name):
            audit_record(actor=actor, action="adapter.tampered", outcome=Outcome.FAILURE, object_type="adapter",
                         object_id=str(adapter.pk), details={"adapter": adapter.label, "owner": adapter.owner.slug,
                                                             "reason": exc.reason})
        raise


def _verified(adapter: Adapter) -> dict[str, bytes]:
    if problem := signature_problem(adapter):
        raise ArtifactTampered(problem)
    files = {}
    for name, expected in ((MODEL_FILE, adapter.model_sha256), (CONFIG_FILE, adapter.config_sha256)):
        try:
            blob = (artifact_dir(adapter.pk) / f"{name}.enc").read_bytes()
        except FileNotFoundError:
            raise ArtifactTampered(STORED_MISSING.format(file=name)) from None
        try:
            data = keys.decrypt(owner=adapter.owner, blob=blob, aad=_aad(adapter.pk, name))
        except (InvalidTag, ValueError):
            raise ArtifactTampered(UNDECRYPTABLE.format(file=name)) from None
        if hashlib.sha256(data).hexdigest() != expected:
            raise ArtifactTampered(HASH_MISMATCH.format(file=name))
        files[name] = data
    config = json.loads(files[CONFIG_FILE])
    for key, value in (("base_model_name_or_path", adapter.base_model), ("r", adapter.rank)):
        if config.get(key) != value:
            raise ArtifactTampered(CONFIG_DRIFT.format(field=key))
    return files
