"""Asking for generated text: validates the request in the web process, routes it to an adapter stack the tenant
may use, and queues it for the gpu worker.

The job carries the stack (ids, versions, weights) and the router's explanation; the worker checks access again
when it runs, since a lease can end while the job waits.
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.db import connection

from inference.adapters.router import Route, route
from inference.tokens import check_context_window
from rmn_saas.errors import ApiError
from tenants.jobs.models import Job
from tenants.jobs.services import job_create
from tenants.models import Tenant

MAX_PROMPT_CHARS = 32_000
MAX_WEIGHT = 4.0
COMPOSITIONS = ("additive", "sequential")
DEFAULT_TASK = "general"
PROMPT_REQUIRED = "A non-empty prompt is required."
BAD_COMPOSITION = "composition must be 'additive' or 'sequential'."
BAD_ADAPTER_ENTRY = "Each adapter is an id, or an object {\"id\": id, \"weight\": number}."
BAD_WEIGHT = f"An adapter's weight is a number between 0 (exclusive) and {MAX_WEIGHT}."
WEIGHTS_NEED_ADDITIVE = "Weights apply to additive composition; a sequential chain runs each adapter on its own."

# The chain a sequential request runs, in this order, over the adapters its stack holds: the task adapter drafts,
# the brand adapter rewrites in the brand's voice, the retailer adapter checks against the retailer's rules.
SEQUENTIAL_STEPS = (
    ("task", "Answer the request."),
    ("brand", "Rewrite the text you are given in the brand's voice. Keep every fact, number and claim."),
    ("retailer", "Check the text you are given against the retailer's advertising rules and return a compliant "
                 "version of it, changing only what breaks a rule."),
)


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(status_code=400, code="invalid", message=message, details={field: message})


def _adapter_entries(adapters: Any) -> tuple[list[int] | None, dict[int, float]]:
    """Explicit adapters as (ids, weights); (None, {}) when the router is to choose."""
    if adapters is None:
        return None, {}
    if not isinstance(adapters, list) or len(adapters) > 3:
        raise _invalid("adapters", "adapters is a list of at most 3 adapters (one per kind).")
    ids, weights = [], {}
    for entry in adapters:
        weight = 1.0
        if isinstance(entry, dict) and set(entry) <= {"id", "weight"} and "id" in entry:
            adapter_id, weight = entry["id"], entry.get("weight", 1.0)
        else:
            adapter_id = entry
        if isinstance(adapter_id, bool) or not isinstance(adapter_id, int) or adapter_id < 1:
            raise _invalid("adapters", BAD_ADAPTER_ENTRY)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight) \
                or not 0 < weight <= MAX_WEIGHT:
            raise _invalid("adapters", BAD_WEIGHT)
        ids.append(adapter_id)
        weights[adapter_id] = float(weight)
    return ids, weights


def _check(prompt: str, system: str | None, max_new_tokens: int, composition: str) -> None:
    if not prompt or not prompt.strip():
        raise _invalid("prompt", PROMPT_REQUIRED)
    if len(prompt) > MAX_PROMPT_CHARS:
        raise ApiError(status_code=400, code="prompt_too_long",
                       message=f"The prompt is longer than {MAX_PROMPT_CHARS} characters.",
                       details={"limit_chars": MAX_PROMPT_CHARS})
    limit = settings.RMN_GENERATE_MAX_NEW_TOKENS
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or not 1 <= max_new_tokens <= limit:
        raise _invalid("max_new_tokens", f"max_new_tokens must be between 1 and {limit}.")
    if composition not in COMPOSITIONS:
        raise _invalid("composition", BAD_COMPOSITION)
    check_context_window(prompt=prompt, system=system, max_new_tokens=max_new_tokens)


def generate_route(*, tenant: Tenant, task: str = DEFAULT_TASK, retailer: str | None = None,
                   adapters: Any = None) -> tuple[Route, dict[int, float]]:
    """The stack a generation would use, and the weights named for it (the router's 404/400 rules apply)."""
    ids, weights = _adapter_entries(adapters)
    return route(tenant=tenant, task=task, retailer=retailer, explicit=ids), weights


def generate_request(*, actor: str, tenant: Tenant, prompt: str, max_new_tokens: int, system: str | None = None,
                     task: str = DEFAULT_TASK, retailer: str | None = None, adapters: Any = None,
                     composition: str = "additive") -> tuple[Job, Route]:
    """Queue a generation. `adapters` None lets the router choose, [] asks for the base model alone, and a list
    of ids (or {"id", "weight"}) names the stack."""
    _check(prompt, system, max_new_tokens, composition)
    chosen, weights = generate_route(tenant=tenant, task=task, retailer=retailer, adapters=adapters)
    if composition == "sequential" and any(weight != 1.0 for weight in weights.values()):
        raise _invalid("adapters", WEIGHTS_NEED_ADDITIVE)
    from governance.pii.hooks import redact_for_model
    from inference.tasks import generate_text

    # The model never sees personal data, and the job row never stores it: what is queued is already masked.
    prompt = redact_for_model(prompt, schema_name=connection.schema_name)
    system = redact_for_model(system, schema_name=connection.schema_name) if system else system
    stack = [{"id": ref.id, "kind": ref.kind, "label": f"{ref.name} v{ref.version}", "version": ref.version,
              "weight": weights.get(ref.id, 1.0)} for ref in chosen.stack]
    job = job_create(
        kind="generate",
        actor=actor,
        params={"prompt": prompt, "max_new_tokens": max_new_tokens, "system": system, "task": task,
                "retailer": chosen.retailer, "composition": composition, "stack": stack, "route": chosen.as_dict()},
        task=generate_text,
    )
    return job, chosen
