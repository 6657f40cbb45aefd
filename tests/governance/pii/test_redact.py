"""redact: the three modes, hashing that joins one identifier however it is written, per-tenant keys, and the
bounds on what it accepts."""

from __future__ import annotations

import pytest

from governance.pii.hooks import OVERSIZED_VALUE, redact_for_model, redact_payload
from governance.pii.keys import KEY_TOO_SHORT, tenant_pii_key
from governance.pii.redact import (
    BINARY,
    MAX_CHARS,
    NO_KEY,
    NOT_TEXT,
    TOO_LARGE,
    UNKNOWN_MODE,
    PiiInputError,
    check_text,
    decode_text,
    pii_hash,
    redact,
)

TEXT = "Send to Jane.Doe@Acme.com or call (212) 555-0147; SKU 036000291452 at $12.99."
KEY = b"k" * 32


def test_mask_replaces_each_finding_with_its_type():
    result = redact(TEXT)

    assert result.redacted == "Send to [EMAIL] or call [PHONE]; SKU 036000291452 at $12.99."
    assert result.findings_json() == [{"type": "email", "start": 8, "end": 25},
                                      {"type": "phone", "start": 34, "end": 48}]


def test_remove_drops_the_values():
    assert redact(TEXT, mode="remove").redacted == "Send to  or call ; SKU 036000291452 at $12.99."


def test_hash_gives_a_keyed_token_per_identifier():
    redacted = redact(TEXT, mode="hash", key=KEY).redacted

    email_token = pii_hash("email", "jane.doe@acme.com", key=KEY)
    phone_token = pii_hash("phone", "+12125550147", key=KEY)
    assert redacted == f"Send to [EMAIL:{email_token}] or call [PHONE:{phone_token}]; SKU 036000291452 at $12.99."
    assert len(email_token) == 16 and "jane" not in redacted.lower()


@pytest.mark.parametrize(("pii_type", "spellings"), [
    ("email", ["Jane.Doe@Acme.com", "jane.doe@acme.com"]),
    ("phone", ["(212) 555-0147", "+1 212 555 0147", "212.555.0147", "1-212-555-0147"]),
    ("card", ["4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111"]),
    ("ssn", ["123-45-6789", "123 45 6789"]),
    ("ip", ["2001:db8::1", "2001:0db8:0000:0000:0000:0000:0000:0001"]),
])
def test_one_identifier_hashes_the_same_however_it_is_written(pii_type, spellings):
    assert len({pii_hash(pii_type, spelling, key=KEY) for spelling in spellings}) == 1


def test_the_same_identifier_hashes_the_same_within_a_tenant_and_differently_across_tenants():
    def token(schema: str) -> str:
        return redact("jane@acme.com", mode="hash", key=tenant_pii_key(schema)).redacted

    assert token("acme") == token("acme")
    assert token("acme") != token("megamart")


def test_a_configured_key_replaces_the_derived_one(settings):
    derived = tenant_pii_key("acme")
    settings.RMN_PII_KEYS = {"acme": "ab" * 32}

    assert tenant_pii_key("acme") == bytes.fromhex("ab" * 32) != derived
    assert tenant_pii_key("megamart") != bytes.fromhex("ab" * 32)
    settings.RMN_PII_KEYS = {"acme": "ab" * 8}
    with pytest.raises(ValueError, match=KEY_TOO_SHORT.format(schema="acme").replace("[", r"\[")):
        tenant_pii_key("acme")


def test_bad_modes_and_missing_keys_are_refused():
    with pytest.raises(ValueError, match=UNKNOWN_MODE):
        redact(TEXT, mode="scramble")
    with pytest.raises(ValueError, match=NO_KEY):
        redact(TEXT, mode="hash")


def test_text_over_the_limit_is_refused_with_the_limit_named():
    with pytest.raises(PiiInputError, match=TOO_LARGE) as excinfo:
        redact("a" * (MAX_CHARS + 1))

    assert (excinfo.value.code, excinfo.value.status) == ("too_large", 413)
    assert "200,000" in TOO_LARGE
    assert redact("a" * MAX_CHARS).findings == []


@pytest.mark.parametrize(("data", "message"), [
    (b"abc\x00def", BINARY), (b"\xff\xfe\x00", NOT_TEXT), (b"caf\xe9", NOT_TEXT),
    (b"a" * (MAX_CHARS * 4 + 1), TOO_LARGE),
])
def test_binary_and_undecodable_bytes_are_refused(data, message):
    with pytest.raises(PiiInputError, match=message):
        decode_text(data)


def test_lone_surrogates_are_not_text():
    with pytest.raises(PiiInputError, match=NOT_TEXT):
        check_text("bad \ud800 text")


def test_the_model_hook_masks_prompts_and_outputs():
    assert redact_for_model(TEXT, schema_name="acme") == redact(TEXT).redacted
    hashed = redact_for_model("jane@acme.com", schema_name="acme", mode="hash")
    assert hashed == f"[EMAIL:{pii_hash('email', 'jane@acme.com', key=tenant_pii_key('acme'))}]"


def test_audit_payloads_are_masked_recursively_and_never_refused():
    payload = {"note": "from 203.0.113.45", "rows": [{"email": "a@b.co"}, ("SSN 123-45-6789", 3)], "n": 2,
               "big": "x" * (MAX_CHARS + 1)}

    assert redact_payload(payload) == {"note": "from [IP]", "rows": [{"email": "[EMAIL]"}, ["SSN [SSN]", 3]],
                                       "n": 2, "big": OVERSIZED_VALUE}
