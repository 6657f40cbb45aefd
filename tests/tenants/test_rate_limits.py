"""Rate limits: one Redis bucket per tenant and per API key, shared by every process, answering 429 + Retry-After."""

import os
import subprocess
import sys

import pytest

from tenants.ratelimit import parse_rate, rate_limit_hit
from tests.conftest import ROOT, api_client_for, api_key_for, audit_rows


def _throttled_body(response) -> dict:
    seconds = int(response["Retry-After"])
    unit = "second" if seconds == 1 else "seconds"
    return {"error": {"code": "throttled", "message": f"Request was throttled. Expected available in {seconds} {unit}.",
                      "details": {}}}


def test_tenant_bucket_answers_429_with_retry_after(acme, megamart, settings):
    # given a limit of 3 calls a minute per tenant
    settings.RMN_RATE_LIMIT_TENANT = "3/minute"
    client = api_client_for(acme, username="acme-viewer")

    # when acme calls 4 times
    statuses = [client.get("/api/v1/me").status_code for _ in range(3)]
    refused = client.get("/api/v1/me")

    # then the 4th waits about one emission interval (60 s / 3)
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 20
    assert refused.json() == _throttled_body(refused)
    # and the whole tenant shares the bucket, whoever calls
    assert api_client_for(acme, username="acme-admin").get("/api/v1/me").status_code == 429
    # while megamart has a bucket of its own
    other = api_client_for(megamart, username="megamart-viewer")
    assert [other.get("/api/v1/me").status_code for _ in range(3)] == [200, 200, 200]


def test_api_key_bucket_is_its_own(acme, settings):
    # given a limit of 2 calls a minute per key (and the default, larger one per tenant)
    settings.RMN_RATE_LIMIT_API_KEY = "2/minute"
    full_key, _ = api_key_for(acme, role="viewer")
    by_key = api_client_for(acme)
    by_key.credentials(HTTP_AUTHORIZATION=f"Api-Key {full_key}")

    # when the key calls 3 times
    statuses = [by_key.get("/api/v1/me").status_code for _ in range(2)]
    refused = by_key.get("/api/v1/me")

    # then its 3rd call is refused
    assert statuses == [200, 200]
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 30
    assert refused.json() == _throttled_body(refused)
    # while a user of the same tenant goes on
    user = api_client_for(acme, username="acme-viewer")
    assert [user.get("/api/v1/me").status_code for _ in range(3)] == [200, 200, 200]
    # and so does another key
    other_key, _ = api_key_for(acme, role="viewer", name="other key")
    by_other = api_client_for(acme)
    by_other.credentials(HTTP_AUTHORIZATION=f"Api-Key {other_key}")
    assert by_other.get("/api/v1/me").status_code == 200


def test_throttled_calls_are_audited(acme, settings):
    settings.RMN_RATE_LIMIT_TENANT = "1/minute"
    client = api_client_for(acme, username="acme-viewer")
    client.get("/api/v1/me")

    refused = client.get("/api/v1/me")

    [row] = audit_rows(acme, request_id=refused["X-Request-ID"])
    assert (row.actor, row.outcome, row.details["status"]) == ("user:acme-viewer", "failure", 429)


@pytest.mark.parametrize(("rate", "parsed"), [
    ("120/minute", (120, 60)), ("1/second", (1, 1)), ("5/hour", (5, 3600)), ("10/day", (10, 86400)),
])
def test_parse_rate(rate, parsed):
    assert parse_rate(rate) == parsed


@pytest.mark.parametrize("rate", ["", "abc", "10", "10/fortnight", "0/minute", "-1/minute", "1.5/minute",
                                  "ten/minute", "/minute", "10/"])
def test_parse_rate_rejects_junk(rate):
    with pytest.raises(ValueError) as excinfo:
        parse_rate(rate)

    assert str(excinfo.value) == (
        f"rate limits look like '120/minute' (second, minute, hour or day), not {rate!r}"
    )


def test_bucket_is_shared_across_processes(acme, settings):
    # given another process (another web worker, say) that spends acme's whole bucket of 3 a minute
    settings.RMN_RATE_LIMIT_TENANT = "3/minute"
    bucket = f"tenant:{acme.schema_name}"
    script = (
        "from tenants.ratelimit import rate_limit_hit\n"
        f"print([rate_limit_hit(bucket={bucket!r}, rate='3/minute') for _ in range(3)])\n"
    )
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="rmn_saas.settings")
    spent = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True,
                           timeout=60, check=True)
    assert spent.stdout.strip() == "[0.0, 0.0, 0.0]", spent.stderr

    # when this process checks the same bucket, directly and through the API
    wait = rate_limit_hit(bucket=bucket, rate="3/minute")
    response = api_client_for(acme, username="acme-viewer").get("/api/v1/me")

    # then both are refused
    assert 0 < wait <= 20
    assert response.status_code == 429
