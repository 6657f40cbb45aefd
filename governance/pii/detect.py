"""Find personal data in free text: emails, phone numbers, US SSNs, payment cards, IP addresses and US street
addresses, without flagging the product codes, ids, prices and dates that retail-media text is full of.

Pure Python (no Django). Each detector errs towards precision where a human could not tell either: a bare digit
run is a phone number or an SSN only when the words just before it say so. Addresses are found in one narrow,
reliable form only (see `_ADDRESS`); anything else (lower-case, non-US, landmarks) is not detected.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher


class PiiType(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    SSN = "ssn"
    CARD = "card"
    IP = "ip"
    ADDRESS = "address"


@dataclass(frozen=True)
class Finding:
    type: PiiType
    start: int
    end: int
    value: str


# Where two detectors claim overlapping text the earlier one here wins: an email may hold a phone number's digits,
# a card number never reads as an SSN, and so on down.
PRIORITY = (PiiType.EMAIL, PiiType.CARD, PiiType.SSN, PiiType.IP, PiiType.PHONE, PiiType.ADDRESS)

# How far back (characters) the words that make a bare digit run a phone number, an SSN or an id are looked for.
_CONTEXT_CHARS = 40

_EMAIL = re.compile(
    r"(?<![\w.+%-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w-])"
)

# Cards: one unbroken run of 15 to 19 digits, or the printed groupings (4-4-4-4[-3], Amex 4-6-5) with one kind of
# separator. Other groupings (Amazon order ids are 3-7-7) are not cards.
_CARD = re.compile(
    r"(?<![\w.-])(?:\d{15,19}|\d{4}([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{3})?|\d{4}([ -])\d{6}\2\d{5})(?![\w-]|[.,]\d)"
)
_SSN_DASHED = re.compile(r"(?<![\w.-])(\d{3})-(\d{2})-(\d{4})(?![\w-]|[.,]\d)")
_SSN_OTHER = re.compile(r"(?<![\w.-])(\d{3})( ?)(\d{2})\2(\d{4})(?![\w-]|[.,]\d)")
_IPV4 = re.compile(r"(?<![\w.:-])(?:\d{1,3}\.){3}\d{1,3}(?![\w-]|\.\d)")
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?(?![\w:]|\.\d)"
)

_DIRECTION = r"(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)\.?"
_SUFFIX = (
    r"(?:Street|St|Avenue|Ave|Av|Boulevard|Blvd|Road|Rd|Drive|Dr|Lane|Ln|Way|Court|Ct|Place|Pl|Parkway|Pkwy|"
    r"Highway|Hwy|Terrace|Ter|Circle|Cir|Square|Sq|Trail|Trl|Plaza|Plz|Alley|Aly|Expressway|Expy|Loop|Pike)"
)
# Words that follow a count on a product title ("12 Pack Ct"): never part of a street name.
_NOT_STREET = r"(?!(?:Pack|Pk|Count|Ct|Oz|Ounce|Lb|Lbs|Roll|Rolls|Bottles?|Cans?|Bars?|Pods?|Sheets?|Units?|Items?)\b)"
_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|"
    "OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR"
)
# The one form addresses are detected in: a house number, an optional direction, one to four capitalised words
# or an ordinal ("5th"), a street suffix, then optionally a unit and ", City, ST 12345". Or a PO box.
_ADDRESS = re.compile(
    rf"(?<![\w.,$-])\d{{1,6}}[A-Z]?(?:-\d{{1,4}})?\s+(?:{_DIRECTION}\s+)?"
    rf"(?:{_NOT_STREET}[A-Z][a-z]+\.?|\d{{1,3}}(?:st|nd|rd|th))(?:\s+{_NOT_STREET}[A-Z][a-z]+\.?){{0,3}}"
    rf"\s+{_SUFFIX}\b\.?(?:\s+{_DIRECTION}(?![\w]))?"
    r"(?:,?\s+(?:Suite|Ste\.?|Apt\.?|Apartment|Unit|Floor|Fl\.?|Room|Rm\.?|Bldg\.?|#)\s?#?[A-Za-z0-9-]{1,6}\b)?"
    rf"(?:,\s+[A-Z][a-z]+(?:\s+[A-Z][a-z]+){{0,2}},\s+(?:{_STATES})\s+\d{{5}}(?:-\d{{4}})?\b)?"
    r"|\bP\.?\s?O\.?\s+Box\s+\d{1,6}\b"
)

_PHONE_WORDS = re.compile(
    r"\b(?:phone|ph|tel|telephone|call|called|calling|callback|cb|cell|cellphone|mobile|mob|text|texted|sms|"
    r"whatsapp|fax|contact|dial|reach|ring)\b|\bcall",
    re.IGNORECASE,
)
_SSN_WORDS = re.compile(r"\b(?:ssn|ss#|ss\s?no|soc(?:ial)?\.?\s+sec(?:urity)?|taxpayer id|tax id)", re.IGNORECASE)
_CARD_WORDS = re.compile(
    r"\b(?:card|cc|visa|mastercard|mc|amex|american express|discover|credit|debit|pan|payment|paid|charged)\b",
    re.IGNORECASE,
)
# Letters only around the word: "campaign_id=" and "order-no" name ids as well as "campaign id" does.
_ID_WORDS = re.compile(
    r"(?<![a-z])(?:campaign|ad ?group|adgroup|keyword|order|item|sku|asin|isbn|gtin|upc|ean|id|invoice|tracking|"
    r"ref|ticket|case|po|profile|account|acct|entity|portfolio|creative|batch|report)(?![a-z])|#\s*$",
    re.IGNORECASE,
)
_VERSION_WORDS = re.compile(r"\b(?:v|ver|version|release|build|sdk|firmware|app|chrome|ios|android)\b\W*$",
                            re.IGNORECASE)

# "86379926.20" reads as a valid 10-digit number; an amount has one decimal point and cents.
_PRICE = re.compile(r"\d[\d,]*\.\d{2}")
_DATE = re.compile(r"\d{1,2}([./-])\d{1,2}\1\d{2,4}|\d{4}([./-])\d{1,2}\2\d{1,2}")
_CURRENCY = ("$", "€", "£", "¥")
_PHONE_MIN_DIGITS = 7
# "+" then at least seven digits with light punctuation between; "2+3" and "C++1" are not a phone lead.
_PLUS = re.compile(r"(?<![\w+])\+\d(?:[\s().-]{0,3}\d){6,}")
_INTL_WINDOW = 40  # "+" and up to 15 digits with separators and an extension
_GTIN_LENGTHS = (8, 12, 13, 14)


def find_pii(text: str) -> list[Finding]:
    """Every piece of personal data in `text`, sorted by position, never overlapping."""
    candidates = [
        *_emails(text), *_cards(text), *_ssns(text), *_ips(text), *_phones(text), *_addresses(text),
    ]
    rank = {pii_type: index for index, pii_type in enumerate(PRIORITY)}
    taken: list[Finding] = []  # sorted by start, never overlapping, so only the neighbours need checking
    starts: list[int] = []
    for finding in sorted(candidates, key=lambda f: (rank[f.type], f.start)):
        at = bisect.bisect_right(starts, finding.start)
        if (at and taken[at - 1].end > finding.start) or (at < len(taken) and taken[at].start < finding.end):
            continue
        taken.insert(at, finding)
        starts.insert(at, finding.start)
    return taken


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def card_issuer(digits: str) -> str | None:
    """The network whose number ranges and lengths `digits` fits: Visa, Mastercard, Amex or Discover."""
    length, two, four, six = len(digits), int(digits[:2]), int(digits[:4]), int(digits[:6])
    if digits[0] == "4" and length in (16, 19):  # 13-digit Visa is retired, and collides with EAN-13
        return "visa"
    if length == 16 and (51 <= two <= 55 or 2221 <= four <= 2720):
        return "mastercard"
    if length == 15 and two in (34, 37):
        return "amex"
    if 16 <= length <= 19 and (four == 6011 or 644 <= int(digits[:3]) <= 649 or two == 65
                               or 622126 <= six <= 622925):
        return "discover"
    return None


def gs1_valid(digits: str) -> bool:
    """A GTIN-8/12/13/14 (UPC, EAN) whose GS1 check digit is right."""
    if len(digits) not in _GTIN_LENGTHS:
        return False
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits[:-1])))
    return (10 - total % 10) % 10 == int(digits[-1])


def ssn_valid(area: str, group: str, serial: str) -> bool:
    """SSA rules: no 000, 666 or 9xx area, no 00 group, no 0000 serial."""
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def _before(text: str, start: int) -> str:
    return text[max(0, start - _CONTEXT_CHARS):start]


def _emails(text: str) -> list[Finding]:
    if "@" not in text:
        return []
    return [Finding(PiiType.EMAIL, m.start(), m.end(), m.group()) for m in _EMAIL.finditer(text)]


def _cards(text: str) -> list[Finding]:
    found = []
    for match in _CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if card_issuer(digits) is None or not luhn_valid(digits):
            continue
        # An unbroken run right after "campaign", "order #" ... is that id, unless card words say otherwise.
        before = _before(text, match.start())
        if digits == match.group() and _ID_WORDS.search(before[-24:]) and not _CARD_WORDS.search(before):
            continue
        found.append(Finding(PiiType.CARD, match.start(), match.end(), match.group()))
    return found


def _ssns(text: str) -> list[Finding]:
    found = [Finding(PiiType.SSN, m.start(), m.end(), m.group()) for m in _SSN_DASHED.finditer(text)
             if ssn_valid(*m.groups())]
    # Spaced or bare nine digits are an SSN only when the text says so: else they are an item id or a code.
    for match in _SSN_OTHER.finditer(text):
        area, _, group, serial = match.groups()
        if ssn_valid(area, group, serial) and _SSN_WORDS.search(_before(text, match.start())):
            found.append(Finding(PiiType.SSN, match.start(), match.end(), match.group()))
    return found


def _ips(text: str) -> list[Finding]:
    found = []
    for match in _IPV4.finditer(text):
        if _VERSION_WORDS.search(_before(text, match.start())):
            continue
        if _ip_valid(match.group()):
            found.append(Finding(PiiType.IP, match.start(), match.end(), match.group()))
    if "::" in text or text.count(":") >= 7:
        for match in _IPV6.finditer(text):
            value = match.group()
            if value.count(":") >= 2 and _ip_valid(value):
                found.append(Finding(PiiType.IP, match.start(), match.end(), value))
    return found


def _ip_valid(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _phones(text: str) -> list[Finding]:
    if sum(char.isdigit() for char in text) < _PHONE_MIN_DIGITS:
        return []
    # A number must be valid and grouped the way its country writes numbers ("32740 / 39370" is two ZIPs, not a
    # phone). max_tries is lifted: a long document has many digit runs.
    found = [finding for match in PhoneNumberMatcher(text, "US", leniency=Leniency.STRICT_GROUPING,
                                                     max_tries=len(text) + 1)
             if (finding := _phone_finding(text, match.start, match.raw_string)) is not None]
    # After a "+" a possible number is enough: ranges newer than the library's metadata, odd groupings.
    starts = [finding.start for finding in found]
    for plus in _PLUS.finditer(text):
        at = bisect.bisect_right(starts, plus.start())
        if at and found[at - 1].end > plus.start():
            continue
        window = text[plus.start():plus.start() + _INTL_WINDOW]
        match = next(iter(PhoneNumberMatcher(window, "US", leniency=Leniency.POSSIBLE)), None)
        if match is not None and match.start == 0 and _long_enough(match.number):
            finding = _phone_finding(text, plus.start(), match.raw_string)
            if finding is not None:
                found.insert(at, finding)
                starts.insert(at, finding.start)
    return found


def _phone_finding(text: str, start: int, raw: str) -> Finding | None:
    if raw.startswith("(+"):  # "(+31 6 1234 5678)": the bracket is punctuation, not part of the number
        start, raw = start + 1, raw[1:]
    if _PRICE.fullmatch(raw) or _DATE.fullmatch(raw) or text[max(0, start - 1):start] in _CURRENCY:
        return None
    if raw.isdigit() and (gs1_valid(raw) or not _PHONE_WORDS.search(_before(text, start))):
        return None
    return Finding(PiiType.PHONE, start, start + len(raw), raw)


def _long_enough(number: phonenumbers.PhoneNumber) -> bool:
    return phonenumbers.is_possible_number(number) and len(str(number.national_number)) >= _PHONE_MIN_DIGITS


def _addresses(text: str) -> list[Finding]:
    return [Finding(PiiType.ADDRESS, m.start(), m.end(), m.group()) for m in _ADDRESS.finditer(text)]
