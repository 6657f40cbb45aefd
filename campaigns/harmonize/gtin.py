"""GS1 identifiers from messy feeds: clean a product code, check it and store it as a 14-digit GTIN.

Never returns a GTIN that fails its check digit and never picks between two readings of a damaged code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum


class Kind(StrEnum):
    GTIN_8 = "gtin-8"
    UPC_E = "upc-e"
    UPC_A = "upc-a"
    UPC_A_BODY = "upc-a-body"
    EAN_13 = "ean-13"
    GTIN_14_BODY = "gtin-14-body"
    GTIN_14 = "gtin-14"
    ASIN = "asin"
    WALMART_ITEM_ID = "walmart_item_id"
    RETAILER_PRODUCT_ID = "retailer_product_id"
    EMPTY = "empty"
    EXCEL_DAMAGED = "excel_damaged"
    NOT_NUMERIC = "not_numeric"
    BAD_CHECK_DIGIT = "bad_check_digit"
    BAD_LENGTH = "bad_length"
    AMBIGUOUS = "ambiguous"


NETWORKS = ("amazon", "walmart", "instacart", "criteo")

EMPTY = "empty code"
NOT_NUMERIC = "not numeric: a GTIN has digits only"
EXCEL_SCIENTIFIC = (
    "mangled by a spreadsheet: scientific notation keeps only the leading digits, the rest are lost; "
    "re-export the column as text"
)
EXCEL_FLOAT = (
    "mangled by a spreadsheet: a number with more than 15 digits loses its trailing digits; "
    "re-export the column as text"
)
VARIABLE_MEASURE = "variable-measure code: not globally unique, flagged not matched"
ASIN = "ASIN: resolve through the crosswalk"
WALMART_ITEM_ID = "Walmart item id: resolve through the crosswalk"
RETAILER_PRODUCT_ID = "retailer product id: resolve through the crosswalk"
BAD_CHECK_DIGIT = "bad check digit: expected {expected}, found {found}"
BAD_CHECK_DIGIT_8 = "bad check digit: expected {gtin8} as GTIN-8 or {upce} as UPC-E, found {found}"
BAD_LENGTH = "bad length: {length} digits is not a GTIN length (8, 12, 13 or 14)"
BAD_LENGTH_LOST_ZEROS = (
    "bad length: 10 digits; may be an Excel-truncated UPC that lost leading zeros ({upc}), not guessed"
)
AMBIGUOUS_11 = (
    "ambiguous: 11 digits read as a UPC-A that lost its leading zero ({padded}) or as a UPC-A body "
    "that lost its check digit ({completed}); not guessed"
)
AMBIGUOUS_8 = "ambiguous: 8 digits valid both as GTIN-8 ({gtin8}) and as UPC-E ({upca}); not guessed"

NOT_DIGITS = "a GS1 number has ASCII digits only"
UPCE_LENGTH = "UPC-E has 6 digits, or 8 with number system and check digit"
UPCE_NUMBER_SYSTEM = "UPC-E number system must be 0 or 1, found {found}"
UPCE_CHECK_DIGIT = "UPC-E check digit: expected {expected}, found {found}"
UNKNOWN_NETWORK = "unknown network {network!r}; expected one of amazon, walmart, instacart, criteo"

_DIGITS = re.compile(r"[0-9]+")
_SCIENTIFIC = re.compile(r"[0-9]+(?:[.,][0-9]*)?[eE][+-]?[0-9]+")
_FLOAT = re.compile(r"([0-9]+)[.,]0+")
_ASIN = re.compile(r"B0[0-9A-Z]{8}")
_INSIDE = re.compile(r"[\s\-]+")
_EDGES = " \t\r\n\"'\u00a0\ufeff"
# Excel keeps 15 significant digits; a float with more has already lost some.
_EXCEL_DIGITS = 15


@dataclass(frozen=True)
class GtinResult:
    input: str
    gtin14: str | None
    kind: str
    valid: bool
    reason: str | None
    variable_measure: bool = False

    def to_dict(self) -> dict:
        return {**asdict(self), "kind": str(self.kind)}


def check_digit(body: str) -> int:
    """The GS1 check digit of `body`: weights 3,1,3,... from its rightmost digit."""
    if not _DIGITS.fullmatch(body):
        raise ValueError(NOT_DIGITS)
    total = sum(int(digit) * (3 if i % 2 == 0 else 1) for i, digit in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def expand_upce(code: str) -> str:
    """UPC-E (`NS d1..d6 check`, or `d1..d6` with number system 0) as the 12-digit UPC-A it stands for."""
    if not _DIGITS.fullmatch(code):
        raise ValueError(NOT_DIGITS)
    if len(code) == 6:
        number_system, data, found = "0", code, None
    elif len(code) == 8:
        number_system, data, found = code[0], code[1:7], int(code[7])
    else:
        raise ValueError(UPCE_LENGTH)
    if number_system not in "01":
        raise ValueError(UPCE_NUMBER_SYSTEM.format(found=number_system))
    d1, d2, d3, d4, d5, d6 = data
    if d6 in "012":
        body = f"{number_system}{d1}{d2}{d6}0000{d3}{d4}{d5}"
    elif d6 == "3":
        body = f"{number_system}{d1}{d2}{d3}00000{d4}{d5}"
    elif d6 == "4":
        body = f"{number_system}{d1}{d2}{d3}{d4}00000{d5}"
    else:
        body = f"{number_system}{d1}{d2}{d3}{d4}{d5}0000{d6}"
    expected = check_digit(body)
    if found is not None and found != expected:
        raise ValueError(UPCE_CHECK_DIGIT.format(expected=expected, found=found))
    return f"{body}{expected}"


def normalize_gtin(code: str, *, upce: bool = False) -> GtinResult:
    """`code` cleaned and checked; `gtin14` is set for valid results only. `upce` admits UPC-E codes."""
    cleaned = _clean(code)
    if not cleaned:
        return _invalid(code, Kind.EMPTY, EMPTY)
    if _SCIENTIFIC.fullmatch(cleaned):
        return _invalid(code, Kind.EXCEL_DAMAGED, EXCEL_SCIENTIFIC)
    if match := _FLOAT.fullmatch(cleaned):
        # `36000291452.0` came through a float: its digits are exact up to Excel's 15, its leading zeros
        # are gone, which the length rules below deal with.
        cleaned = match.group(1)
        if len(cleaned) > _EXCEL_DIGITS:
            return _invalid(code, Kind.EXCEL_DAMAGED, EXCEL_FLOAT)
    if not _DIGITS.fullmatch(cleaned):
        return _invalid(code, Kind.NOT_NUMERIC, NOT_NUMERIC)

    length = len(cleaned)
    if length == 8:
        return _eight_digits(code, cleaned, upce=upce)
    if length == 6 and upce:
        return _valid(code, expand_upce(cleaned), Kind.UPC_E)
    if length == 11:
        completed = f"{cleaned}{check_digit(cleaned)}"
        if _checks(cleaned):
            # Excel dropping the leading zero of a UPC-A and a feed dropping the check digit both give
            # 11 digits; when both readings check out they name different products.
            padded = f"0{cleaned}"
            return _invalid(code, Kind.AMBIGUOUS, AMBIGUOUS_11.format(padded=padded, completed=completed))
        return _valid(code, completed, Kind.UPC_A_BODY)
    if length == 13 and not _checks(cleaned):
        return _valid(code, f"{cleaned}{check_digit(cleaned)}", Kind.GTIN_14_BODY)
    if length in (12, 13, 14):
        kind = {12: Kind.UPC_A, 13: Kind.EAN_13, 14: Kind.GTIN_14}[length]
        if _checks(cleaned):
            return _valid(code, cleaned, kind)
        return _bad_check_digit(code, cleaned)
    # Padding a code with zeros never changes its check digit, so a UPC-A that lost two leading zeros
    # still checks out as 10 digits; a UPC-A that lost one is the 11-digit case above.
    if length == 10 and _checks(cleaned):
        return _invalid(code, Kind.BAD_LENGTH, BAD_LENGTH_LOST_ZEROS.format(upc=f"00{cleaned}"))
    return _invalid(code, Kind.BAD_LENGTH, BAD_LENGTH.format(length=length))


def classify_product_id(code: str, *, network: str | None = None, upce: bool = False) -> GtinResult:
    """`code` read the way `network` writes product ids: ASINs, Walmart item ids and retailer ids pass
    through valid without a GTIN, to be resolved through the crosswalk."""
    if network is None:
        return normalize_gtin(code, upce=upce)
    network = network.lower()
    if network not in NETWORKS:
        raise ValueError(UNKNOWN_NETWORK.format(network=network))
    cleaned = _clean(code)
    if network == "amazon" and _ASIN.fullmatch(cleaned.upper()):
        return GtinResult(input=code, gtin14=None, kind=Kind.ASIN, valid=True, reason=ASIN)
    result = normalize_gtin(code, upce=upce)
    if result.valid:
        return result
    digits = match.group(1) if (match := _FLOAT.fullmatch(cleaned)) else cleaned
    if network == "walmart" and _DIGITS.fullmatch(digits) and 6 <= len(digits) <= 10:
        return GtinResult(input=code, gtin14=None, kind=Kind.WALMART_ITEM_ID, valid=True, reason=WALMART_ITEM_ID)
    if network == "criteo" and result.kind not in (Kind.EXCEL_DAMAGED, Kind.EMPTY):
        return GtinResult(
            input=code, gtin14=None, kind=Kind.RETAILER_PRODUCT_ID, valid=True, reason=RETAILER_PRODUCT_ID
        )
    return result


def normalize_many(
    codes: Iterable[str], *, upce: bool = False, network: str | None = None
) -> dict[str, GtinResult]:
    """Each distinct code of `codes` read once (a million-row column holds a few dozen distinct codes)."""
    return {code: classify_product_id(code, network=network, upce=upce) for code in dict.fromkeys(codes)}


def _clean(code: str) -> str:
    cleaned = code.strip(_EDGES)
    if cleaned.startswith("="):  # ="0123..." is how spreadsheets are told to keep a number as text
        cleaned = cleaned[1:].strip(_EDGES)
    return _INSIDE.sub("", cleaned)


def _checks(digits: str) -> bool:
    return int(digits[-1]) == check_digit(digits[:-1])


def _eight_digits(code: str, digits: str, *, upce: bool) -> GtinResult:
    gtin8 = _checks(digits)
    upca = _upce_or_none(digits) if upce else None
    if gtin8 and upca:
        return _invalid(code, Kind.AMBIGUOUS, AMBIGUOUS_8.format(gtin8=digits, upca=upca))
    if gtin8:
        return _valid(code, digits, Kind.GTIN_8)
    if upca:
        return _valid(code, upca, Kind.UPC_E)
    if upce and digits[0] in "01":
        body = expand_upce(digits[1:7])[1:-1]
        reason = BAD_CHECK_DIGIT_8.format(
            gtin8=check_digit(digits[:-1]), upce=check_digit(f"{digits[0]}{body}"), found=digits[-1]
        )
        return _invalid(code, Kind.BAD_CHECK_DIGIT, reason)
    return _bad_check_digit(code, digits)


def _upce_or_none(digits: str) -> str | None:
    try:
        return expand_upce(digits)
    except ValueError:
        return None


def _valid(code: str, digits: str, kind: Kind) -> GtinResult:
    gtin14 = digits.zfill(14)
    # UPC-A number system 2 and EAN-13 prefixes 20-29 are restricted-circulation numbers (store-weighed goods).
    variable_measure = gtin14.startswith(("002", "02"))
    return GtinResult(
        input=code,
        gtin14=gtin14,
        kind=kind,
        valid=True,
        reason=VARIABLE_MEASURE if variable_measure else None,
        variable_measure=variable_measure,
    )


def _invalid(code: str, kind: Kind, reason: str) -> GtinResult:
    return GtinResult(input=code, gtin14=None, kind=kind, valid=False, reason=reason)


def _bad_check_digit(code: str, digits: str) -> GtinResult:
    reason = BAD_CHECK_DIGIT.format(expected=check_digit(digits[:-1]), found=digits[-1])
    return _invalid(code, Kind.BAD_CHECK_DIGIT, reason)
