"""POST /api/v1/governance/redact: any role may redact; raw values never come back or reach the audit log; bad,
huge and binary input gets the API's error shape."""

from __future__ import annotations

import json

import pytest

from governance.pii.api import BODY_NOT_OBJECT, MAX_BODY_BYTES, TEXT_REQUIRED
from governance.pii.keys import tenant_pii_key
from governance.pii.redact import BINARY, MAX_CHARS, TOO_LARGE, UNKNOWN_MODE, pii_hash
from tests.conftest import api_client_for, audit_rows

URL = "/api/v1/governance/redact"
TEXT = "Refund jane.doe@acme.com, card 4111 1111 1111 1111, ASIN B08N5WRWNW, UPC 036000291452."


def ask(tenant, body, username: str = "acme-viewer", **kwargs):
    return api_client_for(tenant, username=username).post(URL, body, format="json", **kwargs)


def test_a_viewer_gets_the_masked_text_and_findings_without_values(acme):
    response = ask(acme, {"text": TEXT})

    assert response.status_code == 200, response.content
    assert response.json() == {
        "redacted": "Refund [EMAIL], card [CARD], ASIN B08N5WRWNW, UPC 036000291452.",
        "findings": [{"type": "email", "start": 7, "end": 24}, {"type": "card", "start": 31, "end": 50}],
    }


def test_remove_and_hash_modes(acme):
    removed = ask(acme, {"text": TEXT, "mode": "remove"}).json()["redacted"]
    hashed = ask(acme, {"text": TEXT, "mode": "hash"}, username="acme-analyst").json()["redacted"]

    assert removed == "Refund , card , ASIN B08N5WRWNW, UPC 036000291452."
    key = tenant_pii_key(acme.schema_name)
    email, card = pii_hash("email", "jane.doe@acme.com", key=key), pii_hash("card", "4111111111111111", key=key)
    assert hashed == f"Refund [EMAIL:{email}], card [CARD:{card}], ASIN B08N5WRWNW, UPC 036000291452."


def test_hashes_differ_between_tenants(acme, megamart):
    body = {"text": "jane.doe@acme.com", "mode": "hash"}

    assert ask(acme, body).json()["redacted"] != ask(megamart, body, username="megamart-viewer").json()["redacted"]


def test_the_raw_text_never_reaches_the_audit_log(acme):
    response = ask(acme, {"text": TEXT})

    [row] = audit_rows(acme, request_id=response["X-Request-ID"])
    assert (row.action, row.object_id) == ("api.post", "api/v1/governance/redact")
    assert "jane.doe" not in json.dumps(row.details) and "4111" not in json.dumps(row.details)


def test_anonymous_callers_are_refused(acme):
    assert api_client_for(acme).post(URL, {"text": TEXT}, format="json").status_code in (401, 403)


@pytest.mark.parametrize(("body", "field", "message"), [
    ({}, "text", TEXT_REQUIRED),
    ({"text": 12}, "text", TEXT_REQUIRED),
    ({"text": "x", "mode": "scramble"}, "mode", UNKNOWN_MODE),
    ({"text": "x", "mode": ["mask"]}, "mode", UNKNOWN_MODE),
])
def test_bad_requests_are_400_naming_the_field(acme, body, field, message):
    response = ask(acme, body)

    assert response.status_code == 400, response.content
    assert response.json()["error"] == {"code": "invalid", "message": message, "details": {"field": field}}


def test_a_body_that_is_not_an_object_is_400(acme):
    response = ask(acme, ["text"])

    assert response.status_code == 400
    assert response.json()["error"]["message"] == BODY_NOT_OBJECT


def test_text_over_the_limit_is_413_naming_it(acme):
    response = ask(acme, {"text": "a" * (MAX_CHARS + 1)})

    assert response.status_code == 413, response.content
    assert response.json()["error"] == {"code": "too_large", "message": TOO_LARGE,
                                        "details": {"field": "text", "max_chars": MAX_CHARS}}


def test_a_huge_body_is_413_before_it_is_parsed(acme):
    client = api_client_for(acme, username="acme-viewer")

    response = client.generic("POST", URL, b"{" + b" " * MAX_BODY_BYTES + b"}", content_type="application/json")

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


def test_nul_bytes_are_400(acme):
    response = ask(acme, {"text": "PDF\x00\x01binary"})

    assert response.status_code == 400
    assert response.json()["error"] == {"code": "binary", "message": BINARY,
                                        "details": {"field": "text", "max_chars": MAX_CHARS}}


def test_undecodable_bytes_are_400(acme):
    client = api_client_for(acme, username="acme-viewer")

    response = client.generic("POST", URL, b'{"text": "caf\xe9"}', content_type="application/json")

    assert response.status_code == 400
    assert set(response.json()["error"]) == {"code", "message", "details"}
