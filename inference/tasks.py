"""Tasks on the `gpu` queue. Torch and transformers are imported inside them, never at module import,
because the web process imports this module to send them."""

from __future__ import annotations

import gc
import os

from celery.signals import worker_ready
from django.conf import settings
from django.db import connection

from tenants.jobs.models import Job
from tenants.jobs.runner import JobFailure, job_task
from tenants.jobs.services import job_progress


def base_model():
    from inference.runtime import get_base_model

    return get_base_model(source=settings.RMN_BASE_MODEL, cache_dir=settings.RMN_MODEL_CACHE_DIR)


@job_task(name="inference.generate")
def generate_text(job: Job) -> dict:
    from governance.pii.hooks import redact_for_model
    from inference.runtime import PromptTooLong

    job_progress(job=job, progress=0.05, message="loading model")
    model = base_model()
    job_progress(job=job, progress=0.1, message="generating")
    params = job.params
    try:
        result = model.generate(
            prompt=params["prompt"], max_new_tokens=int(params["max_new_tokens"]), system=params.get("system")
        )
    except PromptTooLong as exc:
        raise JobFailure("prompt_too_long", str(exc)) from exc
    # What leaves the model is redacted too: it can echo or invent identifiers.
    return {**result, "text": redact_for_model(result["text"], schema_name=connection.schema_name)}


@worker_ready.connect
def preload_base_model(**kwargs) -> None:
    # The gpu worker loads the model once at start, so the first request does not pay for it.
    if os.environ.get("RMN_PRELOAD_MODEL") == "1":
        base_model()
        # The model's objects never die: moving them out of the collector's view keeps a full collection
        # (about 275 ms here) from landing inside an adapter load or a request.
        gc.freeze()
