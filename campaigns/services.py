"""Writing harmonizer state: storing uploads and queuing their ingest, previews of unknown files, mapping specs.

Uploads are streamed to `RMN_UPLOAD_DIR/<schema>/<key>`; the worker's ingest task reads and deletes them. The
harmonizer itself (polars) is imported inside the functions that need it, not when the web process starts.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import re
import time
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Max

from campaigns.models import MappingSpec
from campaigns.selectors import INGEST_JOB_KIND
from governance.audit.services import audit_record
from rmn_saas.errors import ApiError
from tenants.jobs.models import Job
from tenants.jobs.services import job_create

logger = logging.getLogger(__name__)

FILE_REQUIRED = "Choose a file to upload."
FILE_EMPTY = "The file is empty."
FILE_TOO_LARGE = "The file is larger than the {limit} upload limit."
UNKNOWN_SPEC = "No mapping spec named {name!r}."
ACCOUNT_TOO_LONG = "An account is at most 128 characters."
REJECT_SHARE_RANGE = "max_reject_share is a share between 0 and 1."
SPEC_INVALID = "The mapping spec is invalid."
SPEC_VERSION_CONFLICT = "Another version of this spec was saved at the same moment; try again."
PREVIEW_NOT_FOUND = "This preview has expired or does not exist: upload the file again."

# Uploads and previews nobody picked up (a job cancelled before it started, a preview never confirmed) go after
# a day; each new upload sweeps its tenant's folder.
UPLOAD_MAX_AGE_SECONDS = 24 * 3600
# A preview reads the whole file below this size; above it, the head of the (decompressed) text is enough to
# detect the format and suggest a spec, and keeps the web process from parsing a gigabyte.
PREVIEW_FULL_BYTES = 8 * 1024 * 1024
PREVIEW_HEAD_BYTES = 2 * 1024 * 1024
_KEY = re.compile(r"^[0-9a-f]{32}$")
_CHUNK = 1024 * 1024


# -- upload storage ---------------------------------------------------------------------------------------------


def upload_root(*, schema: str) -> Path:
    return Path(settings.RMN_UPLOAD_DIR) / schema


def upload_path(*, schema: str, key: str) -> Path:
    """Where upload `key` of a tenant lives; a key that is not one of ours names nothing."""
    if not _KEY.match(key or ""):
        raise ValueError(f"not an upload key: {key!r}")
    return upload_root(schema=schema) / key


def _sweep(folder: Path) -> None:
    cutoff = time.time() - UPLOAD_MAX_AGE_SECONDS
    for path in folder.glob("*"):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:  # another process swept it first
            continue


def _too_large(size: int) -> ApiError:
    limit = settings.RMN_INGEST_MAX_BYTES
    message = FILE_TOO_LARGE.format(limit=f"{limit // (1 << 20)} MB" if limit >= 1 << 20 else f"{limit} bytes")
    return ApiError(status_code=400, code="file_too_large", message=message,
                    details={"file": message, "size": size, "limit": limit})


def _check_file(uploaded_file: UploadedFile | None) -> None:
    if uploaded_file is None:
        raise ApiError(status_code=400, code="invalid", message=FILE_REQUIRED, details={"file": FILE_REQUIRED})
    if not uploaded_file.size:
        raise ApiError(status_code=400, code="empty_file", message=FILE_EMPTY, details={"file": FILE_EMPTY})
    if uploaded_file.size > settings.RMN_INGEST_MAX_BYTES:
        raise _too_large(uploaded_file.size)


def _store(uploaded_file: UploadedFile, *, schema: str, key: str) -> Path:
    """Stream the upload into the tenant's folder under `key` (written aside, then renamed into place)."""
    target = upload_path(schema=schema, key=key)
    target.parent.mkdir(parents=True, exist_ok=True)
    _sweep(target.parent)
    partial = target.with_name(f"{key}.part")
    size = 0
    try:
        with open(partial, "wb") as out:
            for chunk in uploaded_file.chunks(_CHUNK):
                size += len(chunk)
                if size > settings.RMN_INGEST_MAX_BYTES:  # the declared size lied
                    raise _too_large(size)
                out.write(chunk)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _file_name(uploaded_file: UploadedFile) -> str:
    return os.path.basename(uploaded_file.name or "upload")[:300] or "upload"


# -- ingest -----------------------------------------------------------------------------------------------------


def _check_options(*, format: str, account: str, max_reject_share: float | None) -> None:  # noqa: A002
    if len(account) > 128:
        raise ApiError(status_code=400, code="invalid", message=ACCOUNT_TOO_LONG, details={"account": ACCOUNT_TOO_LONG})
    if max_reject_share is not None and not 0 <= max_reject_share <= 1:
        raise ApiError(status_code=400, code="invalid", message=REJECT_SHARE_RANGE,
                       details={"max_reject_share": REJECT_SHARE_RANGE})
    if format in ("", "auto"):
        return
    from campaigns.harmonize import available_specs

    base, _, version = format.partition("@")
    if version:
        known = version.isdigit() and MappingSpec.objects.filter(name=base, version=int(version)).exists()
    else:
        known = base in {spec.name for spec in available_specs()}
    if not known:
        message = UNKNOWN_SPEC.format(name=format)
        raise ApiError(status_code=400, code="unknown_spec", message=message, details={"format": message})


def _queue_ingest(*, schema: str, actor: str, key: str, file_name: str, size: int, format: str,  # noqa: A002
                  account: str, max_reject_share: float | None) -> Job:
    from campaigns.tasks import ingest_upload

    params = {"upload": key, "file_name": file_name, "size": size, "format": format or "auto",
              "account": account, "max_reject_share": max_reject_share}
    try:
        return job_create(kind=INGEST_JOB_KIND, actor=actor, params=params, task=ingest_upload)
    except Exception:
        upload_path(schema=schema, key=key).unlink(missing_ok=True)
        raise


def ingest_request(*, tenant, actor: str, uploaded_file: UploadedFile | None, format: str = "auto",  # noqa: A002
                   account: str = "", max_reject_share: float | None = None) -> Job:
    """Store an upload and queue its ingest on the default worker; the job's result is the batch summary."""
    account = (account or "").strip()
    _check_options(format=format, account=account, max_reject_share=max_reject_share)
    _check_file(uploaded_file)
    key = uuid.uuid4().hex
    _store(uploaded_file, schema=tenant.schema_name, key=key)
    return _queue_ingest(schema=tenant.schema_name, actor=actor, key=key, file_name=_file_name(uploaded_file),
                         size=uploaded_file.size, format=format, account=account, max_reject_share=max_reject_share)


# -- mapping specs ----------------------------------------------------------------------------------------------


def mapping_spec_create(*, actor: str, document: Any) -> MappingSpec:
    """Validate a spec document and save it as the next version of its name (a built-in's name included: the
    tenant's spec then shadows the built-in). The document's own `version` is replaced by the one assigned."""
    from campaigns.harmonize.specs import SpecError, spec_from_document

    if not isinstance(document, dict):
        raise ApiError(status_code=400, code="invalid_spec", message=SPEC_INVALID,
                       details={"$": "a spec is a JSON object"})
    name = document.get("name")
    for _ in range(3):
        latest = MappingSpec.objects.filter(name=name).aggregate(latest=Max("version"))["latest"] \
            if isinstance(name, str) else None
        definition = {**document, "version": (latest or 0) + 1}
        try:
            spec = spec_from_document(definition)
        except SpecError as exc:
            raise ApiError(status_code=400, code="invalid_spec", message=SPEC_INVALID, details=exc.errors) from exc
        try:
            with transaction.atomic():
                row = MappingSpec.objects.create(name=spec.name, version=spec.version, network=spec.network,
                                                 kind=spec.kind, definition=definition, created_by=actor)
                audit_record(actor=actor, action="mapping_spec.create", object_type="mapping_spec",
                             object_id=f"{row.name}@{row.version}", details={"network": row.network})
            return row
        except IntegrityError:
            continue  # the same name and version was saved meanwhile: take the next version
    raise ApiError(status_code=409, code="conflict", message=SPEC_VERSION_CONFLICT, details={"name": name})


# -- previews of a file before ingesting it ----------------------------------------------------------------------


def _preview_meta_path(*, schema: str, token: str) -> Path:
    return upload_path(schema=schema, key=token).with_suffix(".json")


def ingest_preview_create(*, tenant, actor: str, uploaded_file: UploadedFile | None) -> str:
    """Keep an upload for preview; the token names it in the form, so confirming needs no second upload."""
    _check_file(uploaded_file)
    token = uuid.uuid4().hex
    _store(uploaded_file, schema=tenant.schema_name, key=token)
    meta = {"file_name": _file_name(uploaded_file), "size": uploaded_file.size, "created_by": actor}
    _preview_meta_path(schema=tenant.schema_name, token=token).write_text(json.dumps(meta))
    return token


def ingest_preview_meta(*, tenant, token: str) -> dict:
    try:
        path = _preview_meta_path(schema=tenant.schema_name, token=token)
        meta = json.loads(path.read_text())
    except (ValueError, OSError):
        raise ApiError(status_code=404, code="not_found", message=PREVIEW_NOT_FOUND, details={"token": token})
    if not upload_path(schema=tenant.schema_name, key=token).is_file():
        raise ApiError(status_code=404, code="not_found", message=PREVIEW_NOT_FOUND, details={"token": token})
    return meta


def _save_meta(*, tenant, token: str, meta: dict) -> None:
    _preview_meta_path(schema=tenant.schema_name, token=token).write_text(json.dumps(meta, default=str))


def _head_copy(path: Path, workdir: Path) -> tuple[Path, bool]:
    """The file itself when small; else its first PREVIEW_HEAD_BYTES of text (gzip decompressed), cut at a line
    end. Workbooks are read whole: a cut zip is no workbook."""
    if path.stat().st_size <= PREVIEW_FULL_BYTES:
        return path, False
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic.startswith(b"PK"):
        return path, False
    opener = gzip.open if magic.startswith(b"\x1f\x8b") else open
    with opener(path, "rb") as handle:
        head = handle.read(PREVIEW_HEAD_BYTES)
    utf16_le = head.startswith(b"\xff\xfe") or head[1:200:2].count(0) > 80
    utf16_be = head.startswith(b"\xfe\xff") or head[0:200:2].count(0) > 80
    if utf16_le:
        cut = head.rfind(b"\n\x00") + 2
    elif utf16_be:
        cut = head.rfind(b"\x00\n") + 2
    else:
        cut = head.rfind(b"\n") + 1
    target = workdir / "head"
    target.write_bytes(head[:cut] if cut > 1 else head)
    return target, True


def _detected(plan, headers: list[str]) -> dict:
    spec = plan.spec
    by_header = {header: field for field, header in plan.fields.items()}
    for field, windows in plan.extra_windows.items():
        for days, header in windows.items():
            by_header[header] = f"{field} ({days}-day window)"
    return {
        "spec": spec.name, "version": spec.version, "title": spec.title, "network": spec.network, "kind": spec.kind,
        "builtin": spec.builtin, "confidence": round(plan.score, 3),
        "mapping": [{"header": header, "field": by_header.get(header, "")} for header in headers],
        "unmatched_headers": plan.unmatched_headers,
    }


def ingest_preview_analyze(*, tenant, token: str, name: str = "", network: str = "", kind: str = "ad_events",
                           suggest: bool = False) -> dict[str, Any]:
    """What the harmonizer makes of a previewed file: its shape, the detected spec with header → field, or (no
    spec fits, or `suggest`) a suggested spec to confirm. The suggestion is kept with the preview for the confirm
    step."""
    from campaigns.harmonize import available_specs
    from campaigns.harmonize.readers import UnreadableFile, open_source, open_upload_workdir
    from campaigns.harmonize.specs import detect_spec

    meta = ingest_preview_meta(tenant=tenant, token=token)
    path = upload_path(schema=tenant.schema_name, key=token)
    analysis: dict[str, Any] = {"token": token, "file_name": meta["file_name"], "size": meta["size"],
                                "detected": None, "closest": [], "suggestion": None, "suggestion_error": "",
                                "error": "", "headers": [], "sample": [], "truncated": False}
    with open_upload_workdir() as workdir:
        readable, analysis["truncated"] = _head_copy(path, Path(workdir))
        try:
            source = open_source(readable, workdir=Path(workdir))
        except UnreadableFile as exc:
            analysis["error"] = str(exc)
            _save_meta(tenant=tenant, token=token, meta={**meta, "analysis": analysis})
            return analysis
        analysis.update(file=source.describe(), headers=source.headers, sample=source.sample[:5])
        best, ranking = detect_spec(source.headers, available_specs())
        analysis["closest"] = [{"spec": plan.spec.name, "title": plan.spec.title, "confidence": round(plan.score, 3),
                                "missing": plan.missing_required} for plan in ranking[:3]]
        if best is not None:
            analysis["detected"] = _detected(best, source.headers)
            if not suggest:
                _save_meta(tenant=tenant, token=token, meta={**meta, "analysis": analysis})
                return analysis
        stem = re.sub(r"[^a-z0-9]+", "-", Path(meta["file_name"]).name.split(".")[0].lower()).strip("-")
        name = name or (stem if len(stem) >= 2 else "my-export")
        try:
            from campaigns.harmonize.suggest import suggest_spec

            analysis["suggestion"] = suggest_spec(source, name=name, network=network or "unknown", kind=kind)
        except Exception as exc:  # the suggester is optional: without it the user maps every header by hand
            logger.warning("no spec suggestion for preview %s: %s", token, exc)
            analysis["suggestion_error"] = str(exc) or type(exc).__name__
            analysis["suggestion"] = {
                "spec": {"name": name, "version": 1, "network": network or "unknown", "kind": kind,
                         "title": meta["file_name"], "columns": {}},
                "columns": [{"header": header, "field": "", "transform": "text", "confidence": 0, "why": "",
                             "profile": {}} for header in source.headers],
                "confidence": 0, "unmapped_headers": list(source.headers), "missing_required": [],
            }
    _save_meta(tenant=tenant, token=token, meta={**meta, "analysis": analysis})
    return json.loads(json.dumps(analysis, default=str))


EXTRA_WINDOW_CHOICE = "extra:"  # a header kept as another attribution window of a figure, as the suggestion had it


def ingest_preview_document(*, meta: dict, name: str, network: str, kind: str, title: str,
                            attribution: dict[str, Any], mapping: list[tuple[str, str, str]]) -> dict:
    """The spec a user confirmed: the suggestion, with their header → (field, transform) choices and names.

    A rule the suggestion had for the same field and header keeps its options (date formats, say); a header left
    on "ignore" is listed as ignored, so the spec explains the whole file; `required` stays as suggested, so a
    required field left unmapped is an error that validation names.
    """
    suggested = dict(((meta.get("analysis") or {}).get("suggestion") or {}).get("spec") or {})
    old_columns = suggested.get("columns") or {}
    columns: dict[str, dict] = {}
    kept_windows: set[str] = set()
    ignored: list[str] = []
    for header, field, transform in mapping:
        if not field:
            ignored.append(header)
            continue
        if field.startswith(EXTRA_WINDOW_CHOICE):
            kept_windows.add(header)
            continue
        if field in columns:  # two headers for one field: either may appear in a file
            columns[field]["headers"].append(header)
            continue
        old = old_columns.get(field) or {}
        same = header in (old.get("headers") or []) and old.get("transform") == transform
        options = {key: value for key, value in old.items()
                   if key not in ("headers", "header_regex", "transform")} if same else {}
        columns[field] = {"headers": [header], "transform": transform, **options}
    extra_windows = {
        field: {days: rule for days, rule in windows.items() if set(rule.get("headers") or []) & kept_windows}
        for field, windows in (suggested.get("extra_windows") or {}).items()
    }
    document = {**suggested, "name": name, "network": network, "kind": kind, "title": title or name,
                "columns": columns, "ignored": ignored}
    document.pop("extra_windows", None)
    if any(extra_windows.values()):
        document["extra_windows"] = {field: windows for field, windows in extra_windows.items() if windows}
    if kind == "ad_events":
        document["attribution"] = {**(suggested.get("attribution") or {}),
                                   **{key: value for key, value in attribution.items() if value not in (None, "")}}
    else:
        document.pop("attribution", None)
    return document


def ingest_preview_request(*, tenant, actor: str, token: str, format: str, account: str = "") -> Job:  # noqa: A002
    """Ingest a previewed file with the spec the user chose (or confirmed): the preview becomes the upload."""
    meta = ingest_preview_meta(tenant=tenant, token=token)
    account = (account or "").strip()
    _check_options(format=format, account=account, max_reject_share=None)
    key = uuid.uuid4().hex
    os.replace(upload_path(schema=tenant.schema_name, key=token), upload_path(schema=tenant.schema_name, key=key))
    _preview_meta_path(schema=tenant.schema_name, token=token).unlink(missing_ok=True)
    return _queue_ingest(schema=tenant.schema_name, actor=actor, key=key, file_name=meta["file_name"],
                         size=meta["size"], format=format, account=account, max_reject_share=None)
