"""Tasks on the `gpu` queue. Torch and transformers are imported inside them, never at module import,
because the web process imports this module to send them."""

from __future__ import annotations

import gc
import os

from celery.signals import worker_ready
from django.db import connection

from tenants.jobs.models import Job
from tenants.jobs.runner import JobFailure, job_task
from tenants.jobs.services import job_progress


@job_task(name="inference.generate")
def generate_text(job: Job) -> dict:
    from governance.pii.hooks import redact_for_model
    from inference import serving
    from inference.adapters.artifacts import ArtifactTampered
    from inference.backends.vllm import PromptTooLongRemote, VllmError
    from inference.runtime import AdapterBudgetExceeded, AdapterNotFound, AdapterUnverified, PromptTooLong

    params = job.params
    job_progress(job=job, progress=0.1, message="generating")
    try:
        result = serving.generate(params, actor=job.created_by)
    except (PromptTooLong, PromptTooLongRemote) as exc:
        raise JobFailure("prompt_too_long", str(exc)) from exc
    except VllmError as exc:
        raise JobFailure("backend_unavailable", str(exc)) from exc
    except (AdapterUnverified, ArtifactTampered) as exc:
        # The registry source has already recorded the tampered artifact in its owner's audit log.
        raise JobFailure("adapter_tampered", str(exc)) from exc
    except AdapterNotFound as exc:
        raise JobFailure("adapter_unavailable", str(exc)) from exc
    except AdapterBudgetExceeded as exc:
        raise JobFailure("adapter_memory", str(exc)) from exc

    # What leaves the model is redacted too: it can echo or invent identifiers.
    def redact(text: str) -> str:
        return redact_for_model(text, schema_name=connection.schema_name)

    result = {**result, "text": redact(result["text"])}
    if "steps" in result:
        result["steps"] = [{**step, "input": redact(step["input"]), "text": redact(step["text"])}
                           for step in result["steps"]]
    route = params.get("route") or {}
    # The stack by registry label (the runtime knows adapters by internal id), and why the router chose it.
    result["stack"] = [{key: entry[key] for key in ("id", "kind", "label", "weight")}
                       for entry in params.get("stack") or []]
    result["explanation"] = route.get("explanation", [])
    result["skipped"] = route.get("skipped", [])
    return result


@worker_ready.connect
def preload_base_model(**kwargs) -> None:
    # The gpu worker loads the model once at start, so the first request does not pay for it.
    if os.environ.get("RMN_PRELOAD_MODEL") == "1":
        from django.conf import settings

        from inference import serving

        if settings.RMN_GENERATION_BACKEND == "local":
            serving.base_model()
        # The model's objects never die: moving them out of the collector's view keeps a full collection
        # (about 275 ms here) from landing inside an adapter load or a request.
        gc.freeze()
