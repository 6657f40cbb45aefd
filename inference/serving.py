"""Generation in the gpu worker: the job's stack re-checked against the access rules, then run by the configured
backend — the worker's own base model with its adapter manager (registry-backed, every load verified), or a vLLM
server. Concurrent additive requests (the worker runs a few jobs in threads) meet in one mixed-stack batch.

Imported by the worker's tasks only; the runtime (torch) is imported on first use.
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django.db import connection

from inference.adapters.access import adapter_usable
from inference.adapters.models import Adapter
from inference.adapters.source import RegistrySource, adapter_key
from inference.base_models import quantization
from inference.services import SEQUENTIAL_STEPS
from tenants.jobs.runner import JobFailure
from tenants.models import Tenant, TenantKind

ADAPTER_GONE = "Adapter {label} can no longer be used: {reason}."
ADAPTER_CHANGED = "Adapter {label} is not the version the request was routed to."
UNKNOWN_BACKEND = "RMN_GENERATION_BACKEND must be 'local' or 'vllm', got {value!r}"

_lock = threading.Lock()
_manager = None
_batcher = None
_vllm = None


def base_model():
    from inference.runtime import get_base_model

    return get_base_model(source=settings.RMN_BASE_MODEL, cache_dir=settings.RMN_MODEL_CACHE_DIR,
                          quantization=quantization())


def adapter_manager():
    """The process's adapter manager over the base model, and its request batcher."""
    global _manager, _batcher
    with _lock:
        if _manager is None:
            from inference.runtime import AdapterManager, RequestBatcher

            model = base_model()
            merged = settings.RMN_ADAPTER_MERGED_MB
            _manager = AdapterManager(
                model, RegistrySource(), settings.RMN_ADAPTER_MEMORY_MB * 1024 * 1024,
                merged_budget_bytes=merged * 1024 * 1024 if merged else None,
                # A 4-bit base has no float weights to merge into: its stacks always run unmerged.
                hot_after=None if model.quantization else 2,
            )
            _batcher = RequestBatcher(_manager, max_batch=8, window_s=0.02)
        return _manager, _batcher


def vllm_backend():
    global _vllm
    with _lock:
        if _vllm is None:
            from inference.backends.vllm import VllmBackend

            _vllm = VllmBackend(base_url=settings.RMN_VLLM_URL,
                                model=settings.RMN_VLLM_MODEL or settings.RMN_BASE_MODEL,
                                lora_dir=settings.RMN_VLLM_LORA_DIR, api_key=settings.RMN_VLLM_API_KEY)
        return _vllm


def usable_stack(params: dict) -> list[tuple[Adapter, float, str]]:
    """The job's adapters as (adapter, weight, kind), each still usable by the job's tenant in its retailer context
    and still the version it was routed to; JobFailure otherwise."""
    tenant = Tenant.objects.get(schema_name=connection.schema_name)
    retailer = None
    if params.get("retailer"):
        retailer = Tenant.objects.filter(slug=params["retailer"], kind=TenantKind.RETAILER).first()
    stack = []
    for entry in params.get("stack") or []:
        adapter = Adapter.objects.select_related("owner").filter(pk=entry["id"]).first()
        if adapter is None:
            raise JobFailure("adapter_unavailable", ADAPTER_GONE.format(label=entry["label"], reason="it was removed"))
        if adapter.version != entry["version"]:
            raise JobFailure("adapter_unavailable", ADAPTER_CHANGED.format(label=entry["label"]))
        decision = adapter_usable(tenant=tenant, adapter=adapter, retailer=retailer)
        if not decision.allowed:
            raise JobFailure("adapter_unavailable", ADAPTER_GONE.format(label=entry["label"], reason=decision.reason))
        stack.append((adapter, float(entry["weight"]), adapter.kind))
    return stack


def _sequential_steps(stack: list[tuple[Adapter, float, str]]):
    from inference.runtime import Step

    by_kind = {kind: adapter for adapter, _, kind in stack}
    steps = [Step(instruction, stack=[adapter_key(by_kind[kind])]) for kind, instruction in SEQUENTIAL_STEPS
             if kind in by_kind]
    return steps or [Step(SEQUENTIAL_STEPS[0][1])]


def generate_local(*, prompt: str, system: str | None, max_new_tokens: int, composition: str,
                   stack: list[tuple[Adapter, float, str]]) -> dict[str, Any]:
    from inference.runtime import Request

    if not stack and composition == "additive":
        return {**base_model().generate(prompt=prompt, max_new_tokens=max_new_tokens, system=system),
                "composition": "additive", "stack": [], "merged": False}
    manager, batcher = adapter_manager()
    if composition == "sequential":
        return manager.generate(prompt=prompt, max_new_tokens=max_new_tokens, system=system,
                                composition="sequential", steps=_sequential_steps(stack))
    keys = [(adapter_key(adapter), weight) for adapter, weight, _ in stack]
    return batcher.submit(Request(prompt=prompt, max_new_tokens=max_new_tokens, stack=keys, system=system))


def generate(params: dict, *, actor: str) -> dict[str, Any]:
    """Run one generation job's request with the configured backend."""
    stack = usable_stack(params)
    backend = settings.RMN_GENERATION_BACKEND
    common = {"prompt": params["prompt"], "system": params.get("system"),
              "max_new_tokens": int(params["max_new_tokens"])}
    if backend == "vllm":
        if params.get("composition") == "sequential":
            raise JobFailure("unsupported", "The vLLM backend serves additive stacks only.")
        return vllm_backend().generate(**common, stack=[(adapter, weight) for adapter, weight, _ in stack],
                                       actor=actor)
    if backend != "local":
        raise JobFailure("misconfigured", UNKNOWN_BACKEND.format(value=backend))
    return generate_local(**common, composition=params.get("composition", "additive"), stack=stack)
