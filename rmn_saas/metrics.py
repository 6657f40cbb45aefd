"""Prometheus metrics: requests and latency from the web process, jobs and queue depth read at scrape time."""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

REQUESTS = Counter("rmn_http_requests_total", "HTTP requests served", ["method", "view", "status", "tenant"])
LATENCY = Histogram(
    "rmn_http_request_seconds",
    "HTTP request latency",
    ["method", "view"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
QUEUES = ("default", "gpu")


def observe_request(*, method: str, view: str, status: int, tenant: str, seconds: float) -> None:
    REQUESTS.labels(method=method, view=view, status=str(status), tenant=tenant).inc()
    LATENCY.labels(method=method, view=view).observe(seconds)


class JobsAndQueuesCollector:
    """Reads job counts per tenant and status from Postgres and queue lengths from the broker on each scrape."""

    def collect(self):
        from tenants.jobs.selectors import job_counts_all_tenants

        jobs = GaugeMetricFamily("rmn_jobs", "Jobs by tenant and status", labels=["tenant", "status"])
        for (tenant, status), count in sorted(job_counts_all_tenants().items()):
            jobs.add_metric([tenant, status], count)
        yield jobs
        depth = GaugeMetricFamily("rmn_queue_depth", "Messages waiting in each Celery queue", labels=["queue"])
        for queue, length in queue_depths().items():
            depth.add_metric([queue], length)
        yield depth


def queue_depths() -> dict[str, int]:
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        return {queue: int(client.llen(queue)) for queue in QUEUES}
    finally:
        client.close()


def render_latest() -> bytes:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Under gunicorn with several workers each process writes its own files; merge them.
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY

        registry = REGISTRY
    output = generate_latest(registry)
    extra = CollectorRegistry()
    extra.register(JobsAndQueuesCollector())
    return output + generate_latest(extra)
