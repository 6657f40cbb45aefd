"""Value profiles for spec suggestions: what a column's values look like (dates, money, counts, product codes),
read the way the transforms would read them.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from campaigns.harmonize.gtin import Kind, normalize_gtin
from campaigns.harmonize.transforms import DEFAULT_DATE_FORMATS

# -- value profiles -------------------------------------------------------------------------------------------

FIT_SHARE = 0.8  # a column is of a kind when this share of its non-empty values fits it
EXCEL_SERIAL = "excel_serial"
_EXCEL_EPOCH = dt.date(1899, 12, 30)
# Serial days of 2000-01-01 and 2099-12-31: five-digit numbers outside this are counts, not dates.
_SERIAL_RANGE = ((dt.date(2000, 1, 1) - _EXCEL_EPOCH).days, (dt.date(2099, 12, 31) - _EXCEL_EPOCH).days)
# A report covers days to months; five-digit numbers spread wider than this are counts (impressions), not dates.
_SERIAL_SPAN_DAYS = 1100
_CURRENCY_CODES = {"$": "USD", "£": "GBP", "€": "EUR", "¥": "JPY", "₹": "INR"}
_CURRENCY = re.compile(r"[$£€¥₹]|\b(?:USD|EUR|GBP|CAD|AUD|JPY|MXN)\b", re.IGNORECASE)
_NUMBER = re.compile(r"(\d{1,3}(?:([,.' \u00a0\u202f])\d{3})+|\d+)(?:([.,])(\d+))?")
_ASIN = re.compile(r"B0[0-9A-Z]{8}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_LONG_DIGITS = re.compile(r"\d{10,}")
_GTIN_KINDS = {Kind.GTIN_8, Kind.UPC_A, Kind.EAN_13, Kind.GTIN_14}
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]")
_SERIAL = re.compile(r"(\d{5})(?:\.\d+)?")
# Roughly what DEFAULT_DATE_FORMATS can read; strptime is slow, so other values are not tried at all.
_DATE_SHAPE = re.compile(
    r"\d{4}[-/]\d{1,2}[-/]\d{1,2}|\d{1,2}[/.]\d{1,2}[/.]\d{4}|[A-Za-z]{3,9}\.? \d{1,2}, \d{4}|\d{8}")
PROFILE_KINDS = ("date", "percent", "asin_like", "gtin_like", "id_like", "count", "money", "decimal", "text")


@dataclass(frozen=True)
class _Number:
    decimals: int
    symbol: str | None  # the currency symbol or code written with the amount
    percent: bool
    leading_zero: bool


def _number(value: str) -> _Number | None:
    """The shape of a number as the networks write it ('$1,234.50', '"1,204"', '2.57%', '(3.10)'), or None."""
    text = value.strip()
    percent = text.endswith("%")
    if percent:
        text = text[:-1].strip()
    found = _CURRENCY.search(text)
    symbol = found.group(0) if found else None
    text = _CURRENCY.sub("", text).strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    if text[:1] in ("-", "+"):
        text = text[1:].strip()
    match = _NUMBER.fullmatch(text)
    if not match:
        return None
    whole, separator, mark, fraction = match.groups()
    if separator and mark and separator == mark:
        return None
    decimals = len(fraction) if fraction else 0
    if separator == "." and not mark and whole.count(".") == 1:
        decimals = 3  # '1.234' is a decimal in dot-decimal files
    leading_zero = len(whole) > 1 and whole.startswith("0") and not separator
    return _Number(decimals=decimals, symbol=symbol, percent=percent, leading_zero=leading_zero)


@lru_cache(maxsize=8192)
def _date_formats(value: str) -> tuple[str, ...]:
    """Every format of DEFAULT_DATE_FORMATS that reads `value` (plus EXCEL_SERIAL), as the date transform would."""
    text = value.strip()
    if _ISO_DATETIME.match(text):
        text = text[:10]
    formats: list[str] = []
    for fmt in DEFAULT_DATE_FORMATS if _DATE_SHAPE.fullmatch(text) else ():
        if fmt == "%Y%m%d" and not re.fullmatch(r"\d{8}", text):
            continue  # strptime reads '2026091' as %Y%m%d too
        try:
            time.strptime(text, fmt)
        except ValueError:
            continue
        formats.append(fmt)
    serial = _SERIAL.fullmatch(text)
    if serial and _SERIAL_RANGE[0] <= int(serial.group(1)) <= _SERIAL_RANGE[1]:
        formats.append(EXCEL_SERIAL)
    return tuple(formats)


def _gtin_like(value: str) -> bool:
    text = value.strip()
    if not re.fullmatch(r"\d{8}|\d{12,14}", text):
        return False
    result = normalize_gtin(text)
    return result.valid and result.kind in _GTIN_KINDS


def profile_column(values: list[str]) -> dict:
    """What a column's non-empty values look like: `kind` (one of PROFILE_KINDS), `share` of values that fit it,
    3 `examples`, `empty_share`; `format` for dates, `currency` for money, and `fits` (share per kind)."""
    present = [value.strip() for value in values if value is not None and value.strip()]
    empty_share = round(1 - len(present) / len(values), 3) if values else 1.0
    examples = list(dict.fromkeys(present))[:3]
    if not present:
        return {"kind": "text", "share": 0.0, "examples": [], "empty_share": empty_share, "fits": {}}
    hits: Counter = Counter()
    evidence = 0  # amounts written like money: a currency symbol or exactly two decimals
    symbols: Counter = Counter()
    date_hits: Counter = Counter()
    serials: list[int] = []
    for value in present:
        formats = _date_formats(value)
        if EXCEL_SERIAL in formats:
            serials.append(int(_SERIAL.fullmatch(value).group(1)))
        date_hits.update(formats)
        number = _number(value)
        kinds = set()
        if formats:
            kinds.add("date")
        if number and number.percent:
            kinds.add("percent")
        elif number:
            if not number.symbol and not number.decimals and not number.leading_zero:
                kinds.add("count")
            if number.decimals <= 2:
                kinds.add("money")
                evidence += bool(number.symbol) or number.decimals == 2
                if number.symbol:
                    symbols[_CURRENCY_CODES.get(number.symbol, number.symbol.upper())] += 1
            if not number.symbol:
                kinds.add("decimal")
        if _ASIN.fullmatch(value.upper()):
            kinds.add("asin_like")
        if _gtin_like(value):
            kinds.add("gtin_like")
        if _LONG_DIGITS.fullmatch(value) or _UUID.fullmatch(value):
            kinds.add("id_like")
        hits.update(kinds or {"text"})
    if serials and max(serials) - min(serials) > _SERIAL_SPAN_DAYS:
        # Five-digit numbers spread over years are counts: drop the serial reading.
        hits["date"] -= sum(1 for value in present if _date_formats(value) == (EXCEL_SERIAL,))
        date_hits.pop(EXCEL_SERIAL, None)
    total = len(present)
    fits = {kind: round(hits[kind] / total, 3) for kind in PROFILE_KINDS if hits[kind] > 0}
    kind = _profile_kind(fits, has_evidence=evidence > 0,
                         whole_numbers=fits.get("count", 0) >= FIT_SHARE and evidence == 0)
    profile = {"kind": kind, "share": fits.get(kind, 0.0), "examples": examples, "empty_share": empty_share,
               "fits": fits}
    if kind == "date":
        # The format that reads most values; DEFAULT_DATE_FORMATS order breaks ties, as the transform does.
        order = [*DEFAULT_DATE_FORMATS, EXCEL_SERIAL]
        profile["format"] = max(date_hits, key=lambda fmt: (date_hits[fmt], -order.index(fmt)))
    if kind == "money" and symbols:
        profile["currency"] = symbols.most_common(1)[0][0]
    return profile


def _profile_kind(fits: dict[str, float], *, has_evidence: bool, whole_numbers: bool) -> str:
    for kind in ("date", "percent", "asin_like", "gtin_like", "id_like"):
        if fits.get(kind, 0) >= FIT_SHARE:
            return kind
    if whole_numbers:
        return "count"
    if fits.get("money", 0) >= FIT_SHARE and has_evidence:
        return "money"
    for kind in ("decimal", "count", "money"):
        if fits.get(kind, 0) >= FIT_SHARE:
            return kind
    best = max((kind for kind in PROFILE_KINDS if kind != "text"), key=lambda kind: fits.get(kind, 0))
    return best if fits.get(best, 0) >= 0.5 else "text"
