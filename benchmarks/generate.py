"""Generate-job latency: POST /api/v1/generate → gpu worker → job succeeded, against the bare model call.

The baseline is the same greedy generation called in-process on the same model; the ratio is the cost of the
whole path (HTTP, auth, audit, queue, worker, job rows, polling) over the model's own time.
"""

from __future__ import annotations

import statistics
import time

from _harness import ROOT, report, say, setup_django, start_worker

PROMPT = "Write a one-sentence tagline for a breakfast cereal."
MAX_NEW_TOKENS = 32
RUNS = 8


def main() -> None:
    setup_django()
    from django.conf import settings
    from rest_framework.test import APIClient

    worker = start_worker("gpu", log=ROOT / ".data" / "bench-gpu.log", extra=["--pool", "solo"])
    try:
        client = APIClient(HTTP_HOST=f"acme.{settings.RMN_BASE_DOMAIN}")
        token = client.post("/api/v1/auth/token", {"username": "acme-analyst", "password": "demo-pass-123"},
                            format="json").json()["access"]
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        latencies, model_seconds = [], []
        for run in range(RUNS + 1):
            started = time.perf_counter()
            job_id = client.post("/api/v1/generate", {"prompt": PROMPT, "max_new_tokens": MAX_NEW_TOKENS},
                                 format="json").json()["job"]
            while (body := client.get(f"/api/v1/jobs/{job_id}").json())["status"] in ("queued", "running"):
                time.sleep(0.02)
            elapsed = time.perf_counter() - started
            if body["status"] != "succeeded":
                raise SystemExit(f"generate job did not succeed: {body}")
            if run == 0:
                continue  # warm-up
            latencies.append(elapsed)
            model_seconds.append(body["result"]["seconds"])
            say(f"run {run}: {elapsed * 1000:.0f} ms end to end, model {body['result']['seconds'] * 1000:.0f} ms, "
                f"{body['result']['completion_tokens']} tokens")
    finally:
        worker.terminate()
        worker.wait(30)

    # Baseline: the same call straight on the model, in this process.
    from inference.runtime import get_base_model

    model = get_base_model(source=settings.RMN_BASE_MODEL, cache_dir=settings.RMN_MODEL_CACHE_DIR)
    model.generate(prompt=PROMPT, max_new_tokens=MAX_NEW_TOKENS)
    direct = []
    for _ in range(RUNS):
        started = time.perf_counter()
        model.generate(prompt=PROMPT, max_new_tokens=MAX_NEW_TOKENS)
        direct.append(time.perf_counter() - started)
    median_api, median_direct = statistics.median(latencies), statistics.median(direct)
    say(f"median end to end {median_api * 1000:.0f} ms; direct model call {median_direct * 1000:.0f} ms")
    overhead = median_api - median_direct
    report(
        name="generate",
        figures={"median_job_latency_ms": round(median_api * 1000, 1),
                 "median_worker_model_ms": round(statistics.median(model_seconds) * 1000, 1),
                 "overhead_ms": round(overhead * 1000, 1)},
        baseline={"median_direct_model_call_ms": round(median_direct * 1000, 1)},
        ratio=median_api / median_direct,
        goal="the API job path adds at most 250 ms over a direct model call",
        met=overhead <= 0.25,
    )


if __name__ == "__main__":
    main()
