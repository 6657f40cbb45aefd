"""Asking for generated text: validates the request in the web process and queues it for the gpu worker."""

from __future__ import annotations

from django.conf import settings
from django.db import connection

from rmn_saas.errors import ApiError
from tenants.jobs.models import Job
from tenants.jobs.services import job_create

MAX_PROMPT_CHARS = 32_000
PROMPT_REQUIRED = "A non-empty prompt is required."


def generate_request(*, actor: str, prompt: str, max_new_tokens: int, system: str | None = None) -> Job:
    if not prompt or not prompt.strip():
        raise ApiError(status_code=400, code="invalid", message=PROMPT_REQUIRED, details={"prompt": PROMPT_REQUIRED})
    if len(prompt) > MAX_PROMPT_CHARS:
        raise ApiError(
            status_code=400, code="prompt_too_long",
            message=f"The prompt is longer than {MAX_PROMPT_CHARS} characters.",
            details={"limit_chars": MAX_PROMPT_CHARS},
        )
    limit = settings.RMN_GENERATE_MAX_NEW_TOKENS
    if not 1 <= max_new_tokens <= limit:
        raise ApiError(
            status_code=400, code="invalid", message=f"max_new_tokens must be between 1 and {limit}.",
            details={"max_new_tokens": f"between 1 and {limit}"},
        )
    from governance.pii.hooks import redact_for_model
    from inference.tasks import generate_text

    # The model never sees personal data, and the job row never stores it: what is queued is already masked.
    prompt = redact_for_model(prompt, schema_name=connection.schema_name)
    system = redact_for_model(system, schema_name=connection.schema_name) if system else system
    return job_create(
        kind="generate",
        actor=actor,
        params={"prompt": prompt, "max_new_tokens": max_new_tokens, "system": system},
        task=generate_text,
    )
