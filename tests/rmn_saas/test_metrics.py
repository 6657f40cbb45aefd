"""Prometheus metrics: served on the platform domain only, with request counts, job counts and queue depth."""

from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import api_client_for, job_in


def _scrape() -> dict[str, dict[tuple, float]]:
    response = Client(HTTP_HOST="localhost").get("/metrics")
    assert response.status_code == 200
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def test_metrics_on_the_platform_domain(platform):
    # when the platform's metrics are scraped
    response = Client(HTTP_HOST="localhost").get("/metrics")

    # then they are Prometheus text with the request, job and queue families
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    body = response.content.decode()
    for family in ("# TYPE rmn_http_requests_total counter", "# TYPE rmn_jobs gauge", "# TYPE rmn_queue_depth gauge"):
        assert family in body
    assert 'rmn_queue_depth{queue="default"}' in body
    assert 'rmn_queue_depth{queue="gpu"}' in body


def test_metrics_are_not_served_on_tenant_domains(acme):
    response = Client(HTTP_HOST="acme.localhost").get("/metrics")

    assert response.status_code == 404
    assert b"rmn_" not in response.content


def test_requests_are_counted_by_route_status_and_tenant(acme, platform):
    # given the count of acme's successful /me calls so far
    labels = (("method", "GET"), ("status", "200"), ("tenant", "acme"), ("view", "api:me"))
    before = _scrape()["rmn_http_requests_total"].get(labels, 0.0)

    # when acme calls /me twice
    client = api_client_for(acme, username="acme-viewer")
    client.get("/api/v1/me")
    client.get("/api/v1/me")

    # then the counter grew by two
    assert _scrape()["rmn_http_requests_total"][labels] == before + 2


def test_jobs_are_counted_per_tenant_and_status(acme, megamart, platform):
    # given the counts so far
    queued = (("status", "queued"), ("tenant", "acme"))
    failed = (("status", "failed"), ("tenant", "megamart"))
    before = _scrape().get("rmn_jobs", {})

    # when acme queues two jobs and megamart has one fail
    job_in(acme)
    job_in(acme)
    job_in(megamart, status="failed")

    # then the gauges show them
    after = _scrape()["rmn_jobs"]
    assert after[queued] == before.get(queued, 0.0) + 2
    assert after[failed] == before.get(failed, 0.0) + 1


def test_metrics_token_when_configured(platform, settings):
    # given a configured scrape token
    from django.test import Client

    settings.RMN_METRICS_TOKEN = "scrape-secret"
    client = Client(HTTP_HOST="localhost")

    # then scrapes without it are refused and with it served
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret").status_code == 200
