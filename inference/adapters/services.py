"""Writing the adapter registry: upload (checked whole, then hashed, signed, encrypted; a refused upload stores
nothing), approve (only after the stored artifact verifies), retire, and publish or record metrics.

Every write and every refused upload is audited in the schema the caller is on (the tenant's own, or public for
platform staff and commands); a tampered artifact is also recorded in its owner's log (see `artifacts`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from governance.audit.models import Outcome
from governance.audit.services import audit_record
from inference.adapters.artifacts import (
    Artifact,
    ArtifactRefused,
    ArtifactTampered,
    UploadedArtifactFile,
    artifact_read,
    artifact_remove,
    artifact_store,
    load_verified,
)
from inference.adapters.models import CONFIG_FILE, MODEL_FILE, OWNER_KIND, Adapter, AdapterKind, AdapterStatus
from rmn_saas.errors import ApiError
from tenants.models import Tenant

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
MAX_METRICS_CHARS = 20_000

UPLOAD_REFUSED = "The adapter was refused and nothing was stored: {reason}"
BAD_NAME = "{field} must be a slug (letters, digits, - and _) of at most 100 characters"
UNKNOWN_KIND = "kind must be one of retailer, brand, task"
KIND_NOT_ALLOWED = "{kind} adapters belong to a {owner_kind} tenant, and {tenant} is a {tenant_kind}"
TASK_REQUIRED = "a task adapter names its task"
TASK_ONLY = "only task adapters name a task"
PUBLISH_RETAILER_ONLY = "only retailer adapters can be published"
BASE_MISMATCH = "adapter_config.json is for base model {found!r}, not {declared!r}"
KIND_CHANGED = "{name!r} is a {kind} adapter{task}; a new version keeps its kind and task"
BAD_METRICS = f"metrics must be a JSON object of at most {MAX_METRICS_CHARS} characters"
ALREADY_APPROVED = "{adapter} is already approved."
ALREADY_RETIRED = "{adapter} is already retired."
RETIRED_FOR_GOOD = "{adapter} is retired and stays so; upload a new version instead."
NOT_APPROVABLE = "{adapter} failed verification and cannot be approved: {reason}"


def _refused(reason: str, *, code: str = "invalid_artifact", file: str = "") -> ApiError:
    return ApiError(status_code=400, code=code, message=UPLOAD_REFUSED.format(reason=reason),
                    details={"reason": reason, **({"file": file} if file else {})})


def _terms(*, owner: Tenant, name: str, kind: str, task: str, published: bool, metrics: Any) -> None:
    for field, value in (("name", name), ("task", task)):
        if value and not NAME_PATTERN.fullmatch(value):
            raise _refused(BAD_NAME.format(field=field), code="invalid")
    if not name:
        raise _refused(BAD_NAME.format(field="name"), code="invalid")
    if kind not in AdapterKind.values:
        raise _refused(UNKNOWN_KIND, code="invalid")
    if owner.kind != OWNER_KIND[kind]:
        raise _refused(KIND_NOT_ALLOWED.format(kind=kind, owner_kind=OWNER_KIND[kind], tenant=owner.name,
                                               tenant_kind=owner.kind), code="invalid")
    if kind == AdapterKind.TASK and not task:
        raise _refused(TASK_REQUIRED, code="invalid")
    if kind != AdapterKind.TASK and task:
        raise _refused(TASK_ONLY, code="invalid")
    if published and kind != AdapterKind.RETAILER:
        raise _refused(PUBLISH_RETAILER_ONLY, code="invalid")
    _metrics_check(metrics)
    latest = Adapter.objects.filter(owner=owner, name=name).order_by("-version").first()
    if latest is not None and (latest.kind, latest.task) != (kind, task):
        raise _refused(KIND_CHANGED.format(name=name, kind=latest.kind,
                                           task=f" for task {latest.task!r}" if latest.task else ""), code="invalid")


def _metrics_check(metrics: Any) -> None:
    if metrics is None:
        return
    if not isinstance(metrics, dict) or len(json.dumps(metrics, default=str)) > MAX_METRICS_CHARS:
        raise ApiError(status_code=400, code="invalid", message=BAD_METRICS, details={"metrics": BAD_METRICS})


def adapter_upload_check(*, owner: Tenant, name: str, kind: str, files: Iterable[UploadedArtifactFile],
                         task: str = "", base_model: str | None = None, published: bool = False,
                         metrics: Any = None) -> Artifact:
    """Everything `adapter_upload` checks, without writing: the checked artifact, or ApiError 400 with the reason."""
    _terms(owner=owner, name=name, kind=kind, task=task, published=published, metrics=metrics)
    try:
        artifact = artifact_read(files)
    except ArtifactRefused as exc:
        raise _refused(exc.reason, code=exc.code, file=exc.file) from exc
    if base_model and artifact.base_model != base_model:
        raise _refused(BASE_MISMATCH.format(found=artifact.base_model, declared=base_model),
                       code="incompatible_adapter", file=CONFIG_FILE)
    return artifact


def adapter_upload(*, owner: Tenant, actor: str, name: str, kind: str, files: Iterable[UploadedArtifactFile],
                   task: str = "", base_model: str | None = None, published: bool = False,
                   metrics: dict | None = None) -> Adapter:
    """Store an adapter as the owner's next version of `name`, a draft. The artifact is checked whole first (see
    `artifacts.artifact_read`); a refused upload is audited and raises ApiError 400, and nothing is stored."""
    try:
        artifact = adapter_upload_check(owner=owner, name=name, kind=kind, files=files, task=task,
                                        base_model=base_model, published=published, metrics=metrics)
    except ApiError as exc:
        audit_record(actor=actor, action="adapter.upload", outcome=Outcome.FAILURE, object_type="adapter",
                     object_id=f"{owner.slug}:{name}"[:100],
                     details={"owner": owner.slug, "name": name, "kind": kind, "refused": exc.details})
        raise
    adapter_id = None
    try:
        with transaction.atomic():
            # Locking the owner's row serializes version numbers between two uploads at once.
            Tenant.objects.select_for_update().filter(pk=owner.pk).first()
            latest = Adapter.objects.filter(owner=owner, name=name).aggregate(latest=Max("version"))["latest"] or 0
            adapter = Adapter.objects.create(
                name=name, kind=kind, owner=owner, task=task, base_model=artifact.base_model, rank=artifact.rank,
                alpha=artifact.alpha, target_modules=artifact.target_modules, version=latest + 1,
                published=published, metrics=metrics or {}, model_sha256=artifact.sha256(MODEL_FILE),
                config_sha256=artifact.sha256(CONFIG_FILE), model_bytes=len(artifact.files[MODEL_FILE]),
                config_bytes=len(artifact.files[CONFIG_FILE]), created_by=actor)
            adapter_id = adapter.pk
            artifact_store(adapter=adapter, artifact=artifact)
            adapter.save(update_fields=["signature", "signing_key_id", "updated_at"])
            _audit(actor=actor, action="adapter.upload", adapter=adapter, base_model=adapter.base_model,
                   rank=adapter.rank, sha256={MODEL_FILE: adapter.model_sha256, CONFIG_FILE: adapter.config_sha256})
    except BaseException:
        if adapter_id is not None:
            artifact_remove(adapter_id)
        raise
    return adapter


def _audit(*, actor: str, action: str, adapter: Adapter, **details) -> None:
    audit_record(actor=actor, action=action, object_type="adapter", object_id=str(adapter.pk),
                 details={"owner": adapter.owner.slug, "adapter": adapter.label, "kind": adapter.kind, **details})


def _locked(adapter: Adapter) -> Adapter:
    locked = Adapter.objects.select_for_update().select_related("owner").get(pk=adapter.pk)
    if locked.status == AdapterStatus.RETIRED:
        raise ApiError(status_code=409, code="adapter_retired", message=RETIRED_FOR_GOOD.format(adapter=locked.label))
    return locked


def adapter_approve(*, adapter: Adapter, actor: str) -> Adapter:
    """A draft becomes approved (the router may pick it) once its stored artifact verifies."""
    if adapter.status == AdapterStatus.DRAFT:
        # Outside the transaction: a tampered artifact's audit row must outlive the refusal.
        try:
            load_verified(adapter, actor=actor)
        except ArtifactTampered as exc:
            raise ApiError(status_code=409, code="artifact_tampered",
                           message=NOT_APPROVABLE.format(adapter=adapter.label, reason=exc.reason)) from exc
    with transaction.atomic():
        adapter = _locked(adapter)
        if adapter.status == AdapterStatus.APPROVED:
            raise ApiError(status_code=409, code="already_approved",
                           message=ALREADY_APPROVED.format(adapter=adapter.label))
        adapter.status, adapter.approved_by, adapter.approved_at = AdapterStatus.APPROVED, actor, timezone.now()
        adapter.save(update_fields=["status", "approved_by", "approved_at", "updated_at"])
        _audit(actor=actor, action="adapter.approve", adapter=adapter)
    return adapter


def adapter_retire(*, adapter: Adapter, actor: str) -> Adapter:
    """Retired for good: nobody may use it any more, and the router never picks it."""
    with transaction.atomic():
        locked = Adapter.objects.select_for_update().select_related("owner").get(pk=adapter.pk)
        if locked.status == AdapterStatus.RETIRED:
            raise ApiError(status_code=409, code="adapter_retired",
                           message=ALREADY_RETIRED.format(adapter=locked.label))
        was = locked.status
        locked.status, locked.retired_at = AdapterStatus.RETIRED, timezone.now()
        locked.save(update_fields=["status", "retired_at", "updated_at"])
        _audit(actor=actor, action="adapter.retire", adapter=locked, was=was)
    return locked


def adapter_update(*, adapter: Adapter, actor: str, published: bool | None = None,
                   metrics: dict | None = None) -> Adapter:
    """Publish or withdraw a retailer adapter, or record its evaluation metrics (the artifact never changes)."""
    _metrics_check(metrics)
    if published and adapter.kind != AdapterKind.RETAILER:
        raise ApiError(status_code=400, code="invalid", message=PUBLISH_RETAILER_ONLY,
                       details={"published": PUBLISH_RETAILER_ONLY})
    with transaction.atomic():
        adapter = _locked(adapter)
        changed = {}
        if published is not None and published != adapter.published:
            adapter.published = changed["published"] = published
        if metrics is not None and metrics != adapter.metrics:
            adapter.metrics = changed["metrics"] = metrics
        if changed:
            adapter.save(update_fields=[*changed, "updated_at"])
            _audit(actor=actor, action="adapter.update", adapter=adapter, changed=changed)
    return adapter
