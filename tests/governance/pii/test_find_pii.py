"""find_pii on single cases: what each detector finds, the validity rules it applies, and what it leaves alone."""

from __future__ import annotations

import pytest

from governance.pii.detect import PiiType, card_issuer, find_pii, gs1_valid, luhn_valid, ssn_valid


def found(text: str) -> list[tuple[str, str]]:
    return [(str(f.type), text[f.start:f.end]) for f in find_pii(text)]


@pytest.mark.parametrize(("text", "expected"), [
    ("brief to Jane.Doe+rmn@mail.acme-foods.co.uk today", "Jane.Doe+rmn@mail.acme-foods.co.uk"),
    ("<ads-ops@agency.media>", "ads-ops@agency.media"),
    ("mailto:priya_patel@us.megamart.com?subject=x", "priya_patel@us.megamart.com"),
])
def test_emails_with_tags_and_subdomains(text, expected):
    assert found(text) == [("email", expected)]


@pytest.mark.parametrize("number", [
    "(212) 555-0147", "212-555-0147", "415.555.2671", "212 555 0147", "+1 415 555 2671", "+14155552671",
    "1-800-555-0199", "+1 (646) 555-0123 ext. 42", "+44 20 7946 0958", "+49 30 12345678", "+33 6 12 34 56 78",
    "+91 98765 43210", "+61 412 345 678", "+81 3-1234-5678", "+55 11 91234-5678",
])
def test_phone_formats(number):
    assert found(f"shopper left {number} for a callback") == [("phone", number)]


def test_a_bare_ten_digit_run_is_a_phone_only_when_the_words_say_so():
    assert found("callback 4155552671 after 5") == [("phone", "4155552671")]
    assert found("Walmart item 4155552671 is out of stock") == []


@pytest.mark.parametrize("text", [
    "Holdout ZIPs 32740 / 39370", "price $86379926.20", "flight 13.10.2026 to 20.10.2026", "ship to 94105-1234",
    "Amazon order 112-3456789-1234567", "UPC 036000291452", "EAN 4006381333931", "GTIN-14 00036000291452",
])
def test_phone_lookalikes_are_left_alone(text):
    assert found(text) == []


def test_ssn_needs_valid_ranges():
    assert found("SSN 123-45-6789") == [("ssn", "123-45-6789")]
    for invalid in ("000-12-3456", "666-12-3456", "912-34-5678", "123-00-4567", "123-45-0000"):
        assert found(f"SSN {invalid}") == [], invalid


def test_spaced_or_bare_ssns_need_the_word():
    assert found("social security number 123 45 6789") == [("ssn", "123 45 6789")]
    assert found("SS# 123456789") == [("ssn", "123456789")]
    assert found("Walmart item 123456789") == []


@pytest.mark.parametrize("number", [
    "4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111", "5555 5555 5555 4444", "2223 0031 2200 3222",
    "3782 822463 10005", "378282246310005", "6011 1111 1111 1117",
])
def test_cards_that_pass_luhn_in_an_issuer_range(number):
    assert found(f"paid with {number} exp 04/27") == [("card", number)]


@pytest.mark.parametrize("text", [
    "card 4111 1111 1111 1112",  # Luhn fails
    "card 1234 5678 9012 3452",  # passes Luhn, no issuer starts with 1
    "campaign_id=4111111111111111",  # a bare run named as an id
    "order 112-3456789-1234567",
])
def test_card_lookalikes_are_left_alone(text):
    assert found(text) == []


@pytest.mark.parametrize(("text", "expected"), [
    ("login from 203.0.113.45.", "203.0.113.45"),
    ("peer 2001:db8::8a2e:370:7334 up", "2001:db8::8a2e:370:7334"),
    ("mapped ::ffff:203.0.113.5", "::ffff:203.0.113.5"),
    ("link fe80::1%eth0", "fe80::1"),
])
def test_ip_addresses(text, expected):
    assert found(text) == [("ip", expected)]


@pytest.mark.parametrize("text", [
    "app version 4.2.1.0", "at 10:30:00", "mac 00:1A:2B:3C:4D:5E", "octet 256.1.1.1", "2024.03.15", "1.2.3.4.5",
])
def test_ip_lookalikes_are_left_alone(text):
    assert found(text) == []


@pytest.mark.parametrize("address", [
    "1200 Market St, Suite 4", "4122 N Oak Street, Chicago, IL 60607", "77 5th Ave Apt 3B", "PO Box 1234",
    "18 Martin Luther King Jr. Blvd",
])
def test_addresses_in_the_narrow_form(address):
    assert found(f"ship to {address} by Friday") == [("address", address)]


@pytest.mark.parametrize("text", [
    "Tide Pods 81 Ct", "La Croix 12 Pack Cans", "Bounty 12 Pack Ct", "1200 market st", "ZIP 94105 only",
])
def test_address_lookalikes_and_forms_out_of_scope(text):
    assert found(text) == []


def test_findings_are_sorted_and_never_overlap():
    text = "4155552671@txt.att.net or (212) 555-0147; SSN 123-45-6789; card 4111 1111 1111 1111"

    findings = find_pii(text)

    assert [f.type for f in findings] == [PiiType.EMAIL, PiiType.PHONE, PiiType.SSN, PiiType.CARD]
    assert all(a.end <= b.start for a, b in zip(findings, findings[1:], strict=False))


def test_validity_rules():
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert [card_issuer(n) for n in ("4111111111111111", "5500000000000004", "340000000000009",
                                     "6011000000000004", "4111111111111")] == [
        "visa", "mastercard", "amex", "discover", None]
    assert gs1_valid("036000291452") and not gs1_valid("036000291453")
    assert ssn_valid("123", "45", "6789") and not ssn_valid("666", "45", "6789")
