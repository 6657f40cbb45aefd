"""GS1 identifiers: check digits, UPC-E, every GTIN length, spreadsheet damage, network ids and `manage.py gtin`."""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from campaigns.harmonize import gtin
from campaigns.harmonize.gtin import (
    AMBIGUOUS_8,
    AMBIGUOUS_11,
    ASIN,
    BAD_CHECK_DIGIT,
    BAD_CHECK_DIGIT_8,
    BAD_LENGTH,
    BAD_LENGTH_LOST_ZEROS,
    EMPTY,
    EXCEL_FLOAT,
    EXCEL_SCIENTIFIC,
    NOT_DIGITS,
    NOT_NUMERIC,
    RETAILER_PRODUCT_ID,
    UNKNOWN_NETWORK,
    UPCE_CHECK_DIGIT,
    UPCE_LENGTH,
    UPCE_NUMBER_SYSTEM,
    VARIABLE_MEASURE,
    WALMART_ITEM_ID,
    GtinResult,
    check_digit,
    classify_product_id,
    expand_upce,
    normalize_gtin,
    normalize_many,
)
from campaigns.management.commands.gtin import INVALID_CODES

ROOT = Path(__file__).resolve().parents[2]
KLEENEX_UPC = "036000291452"  # a real UPC-A: number system 0, check digit 2
KLEENEX_GTIN14 = "00036000291452"


def valid(code: str, gtin14: str, kind: str) -> GtinResult:
    return GtinResult(input=code, gtin14=gtin14, kind=kind, valid=True, reason=None, variable_measure=False)


def invalid(code: str, kind: str, reason: str) -> GtinResult:
    return GtinResult(input=code, gtin14=None, kind=kind, valid=False, reason=reason, variable_measure=False)


def oracle_check_digit(body: str) -> int:
    """The check digit computed the other way round: the body padded to GTIN-18's 17 data digits, weighted
    3,1,3,... from the left."""
    padded = body.zfill(17)
    total = sum(int(digit) * (3 if i % 2 == 0 else 1) for i, digit in enumerate(padded))
    return -total % 10


def has_valid_check_digit(digits: str) -> bool:
    return int(digits[-1]) == oracle_check_digit(digits[:-1])


# --- check digit -------------------------------------------------------------------------------------------


def test_check_digit_of_the_spec_example():
    # given the body from the GS1 section of RMN_FORMATS.md
    body = "629104150021"

    # when its check digit is computed
    digit = check_digit(body)

    # then it is 3
    assert digit == 3


@pytest.mark.parametrize(("body", "expected"), [("03600029145", 2), ("400638133393", 1), ("9638507", 4), ("0", 0)])
def test_check_digit_of_known_codes(body, expected):
    # given the body of a known UPC-A, EAN-13 or GTIN-8 (or a lone zero)
    # when its check digit is computed
    digit = check_digit(body)

    # then it is the printed one
    assert digit == expected


@pytest.mark.parametrize("body", ["", "12a4", "１２３", "12 34"])
def test_check_digit_rejects_non_digits(body):
    # given a body that is not ASCII digits
    # when its check digit is asked for
    with pytest.raises(ValueError) as excinfo:
        check_digit(body)

    # then it is refused
    assert str(excinfo.value) == NOT_DIGITS


# --- UPC-E -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "upca"),
    [
        ("123643", "012300000642"),  # d6 = 3, from RMN_FORMATS.md
        ("593663", "059300000661"),  # d6 = 3, from RMN_FORMATS.md
        ("01236432", "012300000642"),  # the first one with number system and check digit
        ("654321", "065100004327"),  # d6 = 1: NS d1 d2 d6 0000 d3 d4 d5
        ("123454", "012340000053"),  # d6 = 4: NS d1 d2 d3 d4 00000 d5
        ("123457", "012345000072"),  # d6 = 5-9: NS d1 d2 d3 d4 d5 0000 d6
        ("11234562", "112345000062"),  # number system 1
    ],
)
def test_expand_upce(code, upca):
    # given a UPC-E code
    # when it is expanded
    expanded = expand_upce(code)

    # then it is the UPC-A it stands for, with its check digit
    assert expanded == upca
    assert has_valid_check_digit(expanded)


def test_expand_upce_rules_by_last_digit():
    # given the same six data digits ending in each possible d6
    # when each is expanded
    expanded = {d6: expand_upce(f"12345{d6}")[:-1] for d6 in "0123456789"}

    # then the manufacturer and item digits move as the d6 rule says
    assert expanded == {
        "0": "01200000345",
        "1": "01210000345",
        "2": "01220000345",
        "3": "01230000045",
        "4": "01234000005",
        "5": "01234500005",
        "6": "01234500006",
        "7": "01234500007",
        "8": "01234500008",
        "9": "01234500009",
    }


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("01236431", UPCE_CHECK_DIGIT.format(expected=2, found=1)),
        ("21236432", UPCE_NUMBER_SYSTEM.format(found=2)),
        ("1234567", UPCE_LENGTH),
        ("12a643", NOT_DIGITS),
    ],
)
def test_expand_upce_refuses_what_is_not_upce(code, message):
    # given a code with a wrong check digit, number system, length or characters
    # when it is expanded
    with pytest.raises(ValueError) as excinfo:
        expand_upce(code)

    # then it is refused with the reason
    assert str(excinfo.value) == message


def test_upce_is_read_only_when_asked():
    # given six digits of UPC-E
    code = "123643"

    # when they are normalized with and without the UPC-E hint
    with_hint = normalize_gtin(code, upce=True)
    without_hint = normalize_gtin(code)

    # then only the hinted one is read as UPC-E, stored as its UPC-A
    assert with_hint == valid(code, "00012300000642", "upc-e")
    assert without_hint == invalid(code, "bad_length", BAD_LENGTH.format(length=6))


@pytest.mark.parametrize(("code", "gtin14"), [("01236432", "00012300000642"), ("05936631", "00059300000661")])
def test_eight_digit_upce_with_hint(code, gtin14):
    # given an 8-digit UPC-E that is not a valid GTIN-8
    # when it is normalized with the UPC-E hint
    result = normalize_gtin(code, upce=True)

    # then it is the expanded UPC-A
    assert result == valid(code, gtin14, "upc-e")


def test_eight_digits_valid_both_ways_are_ambiguous_with_the_hint():
    # given the textbook UPC-E 01234565, whose digits also check out as a GTIN-8
    code = "01234565"

    # when it is normalized with and without the UPC-E hint
    with_hint = normalize_gtin(code, upce=True)
    without_hint = normalize_gtin(code)

    # then with the hint neither product is picked; without it, it is a GTIN-8
    assert with_hint == invalid(code, "ambiguous", AMBIGUOUS_8.format(gtin8="01234565", upca="012345000065"))
    assert without_hint == valid(code, "00000001234565", "gtin-8")


def test_eight_digits_failing_both_checks_name_both_expected_digits():
    # given 8 digits that are neither a GTIN-8 nor a UPC-E
    code = "01236431"

    # when they are normalized with the UPC-E hint
    result = normalize_gtin(code, upce=True)

    # then the reason gives the digit each reading expected
    assert result == invalid(code, "bad_check_digit", BAD_CHECK_DIGIT_8.format(gtin8=9, upce=2, found=1))


# --- one length at a time ----------------------------------------------------------------------------------


def test_upc_a_valid():
    # given a UPC-A with its check digit
    # when it is normalized
    result = normalize_gtin(KLEENEX_UPC)

    # then it is stored left-padded to 14 digits
    assert result == valid(KLEENEX_UPC, KLEENEX_GTIN14, "upc-a")
    assert result.to_dict() == {
        "input": KLEENEX_UPC,
        "gtin14": KLEENEX_GTIN14,
        "kind": "upc-a",
        "valid": True,
        "reason": None,
        "variable_measure": False,
    }


def test_upc_a_bad_check_digit():
    # given a UPC-A whose last digit is off by one
    code = "036000291453"

    # when it is normalized
    result = normalize_gtin(code)

    # then it is invalid and the reason names the expected and the found digit
    assert result == invalid(code, "bad_check_digit", BAD_CHECK_DIGIT.format(expected=2, found=3))
    assert result.reason == "bad check digit: expected 2, found 3"


def test_ean_13():
    # given an EAN-13
    code = "4006381333931"

    # when it is normalized
    result = normalize_gtin(code)

    # then it is stored with one leading zero
    assert result == valid(code, "04006381333931", "ean-13")


def test_gtin_8():
    # given a GTIN-8
    code = "96385074"

    # when it is normalized
    result = normalize_gtin(code)

    # then it is stored with six leading zeros
    assert result == valid(code, "00000096385074", "gtin-8")


def test_gtin_8_bad_check_digit():
    # given 8 digits whose check digit is wrong
    code = "96385075"

    # when they are normalized without the UPC-E hint
    result = normalize_gtin(code)

    # then the reason names the GTIN-8 digit only
    assert result == invalid(code, "bad_check_digit", BAD_CHECK_DIGIT.format(expected=4, found=5))


def test_gtin_14():
    # given a case-level GTIN-14 (indicator 1) of the UPC-A
    code = "10036000291459"

    # when it is normalized
    result = normalize_gtin(code)

    # then it is kept as it is
    assert result == valid(code, "10036000291459", "gtin-14")


def test_gtin_14_bad_check_digit():
    # given a GTIN-14 with a wrong check digit
    code = "10036000291452"

    # when it is normalized
    result = normalize_gtin(code)

    # then it is invalid
    assert result == invalid(code, "bad_check_digit", BAD_CHECK_DIGIT.format(expected=9, found=2))


@pytest.mark.parametrize("code", [KLEENEX_UPC, "0" + KLEENEX_UPC, KLEENEX_GTIN14, "0-36000-29145-2"])
def test_padding_invariance(code):
    # given the same product as UPC-A, as EAN-13 (0 + UPC-A), as GTIN-14 and as printed with dashes
    # when it is normalized
    result = normalize_gtin(code)

    # then every form gives the same 14 digits
    assert result.valid
    assert result.gtin14 == KLEENEX_GTIN14


def test_eleven_digit_body_gets_its_check_digit():
    # given a UPC-A body whose check digit a feed dropped (and whose 11 digits do not check out on their own)
    code = "03600029145"

    # when it is normalized
    result = normalize_gtin(code)

    # then the check digit is computed and the kind says so
    assert result == valid(code, KLEENEX_GTIN14, "upc-a-body")


def test_thirteen_digit_alternate_form_is_a_gtin_14_body():
    # given a 13-digit "alternate" form (GTIN-14 minus its check digit) that is not a valid EAN-13
    code = "0003600029145"

    # when it is normalized
    result = normalize_gtin(code)

    # then the GTIN-14 check digit is computed: the same product as the UPC-A
    assert result == valid(code, KLEENEX_GTIN14, "gtin-14-body")


def test_thirteen_digits_that_check_out_are_an_ean_13_first():
    # given a valid EAN-13, which could also be read as a GTIN-14 body
    code = "4006381333931"

    # when it is normalized
    result = normalize_gtin(code)

    # then the native reading wins
    assert result.kind == "ean-13"
    assert result.gtin14 == "04006381333931"


@pytest.mark.parametrize(("code", "length"), [("1", 1), ("12345", 5), ("1234567", 7), ("123456789", 9),
                                              ("1234567890", 10), ("123456789012345", 15)])
def test_bad_length(code, length):
    # given a digit string of no GTIN length (the 10 digits do not check out)
    # when it is normalized
    result = normalize_gtin(code)

    # then it is invalid for its length
    assert result == invalid(code, "bad_length", BAD_LENGTH.format(length=length))


# --- spreadsheet damage ------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["3.60003E+10", "3.6E+11", "3,60003E+10", "3.60003e10", "3.600029145E+10"])
def test_scientific_notation_is_never_recovered(code):
    # given a code that Excel turned into scientific notation
    # when it is normalized
    result = normalize_gtin(code)

    # then it is invalid: the digits are gone
    assert result == invalid(code, "excel_damaged", EXCEL_SCIENTIFIC)


def test_float_form_with_intact_digits_is_recovered():
    # given a 12-digit UPC-A that went through a float
    code = "614141000036.0"

    # when it is normalized
    result = normalize_gtin(code)

    # then the .0 is dropped and the code is read by its length
    assert result == valid(code, "00614141000036", "upc-a")


def test_float_form_past_fifteen_digits_is_damaged():
    # given a float form longer than the 15 digits a spreadsheet keeps
    code = "1234567890123456.0"

    # when it is normalized
    result = normalize_gtin(code)

    # then it is invalid
    assert result == invalid(code, "excel_damaged", EXCEL_FLOAT)


@pytest.mark.parametrize("code", ["36000291452", "36000291452.0"])
def test_upc_that_lost_its_leading_zero_is_ambiguous(code):
    # given the UPC-A 036000291452 after Excel dropped its leading zero (as text, and as a float)
    # when it is normalized
    result = normalize_gtin(code)

    # then it is not guessed: its 11 digits are also a UPC-A body, of another product
    reason = AMBIGUOUS_11.format(padded="036000291452", completed="360002914522")
    assert result == invalid(code, "ambiguous", reason)


def test_ten_digits_that_check_out_may_be_a_upc_that_lost_two_zeros():
    # given 10 digits that are a valid UPC-A once padded with two zeros
    code = "1234567895"

    # when they are normalized
    result = normalize_gtin(code)

    # then they stay invalid and the reason says what they may be
    assert result == invalid(code, "bad_length", BAD_LENGTH_LOST_ZEROS.format(upc="001234567895"))


@pytest.mark.parametrize("code", ["'036000291452", '"036000291452"', ' 036000291452\t', '="036000291452"',
                                  "036 000 291 452", "\ufeff036000291452", "'0 36000 29145 2"])
def test_spreadsheet_text_markers_are_cleaned(code):
    # given the UPC-A wrapped in quotes, an apostrophe, a formula, a BOM or spaces
    # when it is normalized
    result = normalize_gtin(code)

    # then the digits are read and the input is kept as given
    assert result == valid(code, KLEENEX_GTIN14, "upc-a")


# --- variable measure --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "gtin14", "kind"),
    [
        ("212345678909", "00212345678909", "upc-a"),  # UPC number system 2
        ("2012345678903", "02012345678903", "ean-13"),  # EAN prefix 20
        ("2912345678906", "02912345678906", "ean-13"),  # EAN prefix 29
        ("02012345678903", "02012345678903", "gtin-14"),  # the EAN-13 above, padded
        ("21234567890", "00212345678909", "upc-a-body"),  # the UPC-A above, without its check digit
    ],
)
def test_variable_measure_codes_are_flagged(code, gtin14, kind):
    # given a restricted-circulation (store-weighed) code
    # when it is normalized
    result = normalize_gtin(code)

    # then it stays valid but is flagged, not to be matched
    assert result == GtinResult(
        input=code, gtin14=gtin14, kind=kind, valid=True, reason=VARIABLE_MEASURE, variable_measure=True
    )


@pytest.mark.parametrize(
    ("code", "gtin14"),
    [
        ("20123451", "00000020123451"),  # GTIN-8 starting with 2
        ("20212345678903", "20212345678903"),  # GTIN-14 with indicator 2
        ("92012345678906", "92012345678906"),  # GTIN-14 with indicator 9
        ("3012345678902", "03012345678902"),  # EAN-13 with prefix 30
    ],
)
def test_other_prefixes_are_not_variable_measure(code, gtin14):
    # given a GTIN-8 or GTIN-14 that merely starts with 2 or 9, or an EAN-13 with prefix 30
    # when it is normalized
    result = normalize_gtin(code)

    # then it is not flagged
    assert result.valid
    assert result.gtin14 == gtin14
    assert result.variable_measure is False
    assert result.reason is None


# --- junk --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["abc", "12345678901a", "0x36000291452", "३६०००२९१४५२"])
def test_not_numeric(code):
    # given letters, or digits from another script
    # when it is normalized
    result = normalize_gtin(code)

    # then it is invalid
    assert result == invalid(code, "not_numeric", NOT_NUMERIC)


@pytest.mark.parametrize("code", ["", "   ", "''", '""', "-"])
def test_empty(code):
    # given an empty cell, or one holding only blanks, quotes or a dash
    # when it is normalized
    result = normalize_gtin(code)

    # then it is invalid as empty
    assert result == invalid(code, "empty", EMPTY)


# --- network ids -------------------------------------------------------------------------------------------


def test_asin_with_amazon_hint():
    # given an ASIN from an Amazon Ads export
    code = "B08N5WRWNW"

    # when it is classified for amazon
    result = classify_product_id(code, network="amazon")

    # then it passes without a GTIN, to be resolved through the crosswalk
    assert result == GtinResult(input=code, gtin14=None, kind="asin", valid=True, reason=ASIN)


def test_asin_without_hint_is_not_numeric():
    # given the same ASIN without a network
    code = "B08N5WRWNW"

    # when it is classified
    result = classify_product_id(code)

    # then it is only a malformed GTIN
    assert result == invalid(code, "not_numeric", NOT_NUMERIC)


def test_upc_with_amazon_hint_is_still_a_upc():
    # given a UPC in an Amazon export
    # when it is classified for amazon
    result = classify_product_id(KLEENEX_UPC, network="amazon")

    # then it is read as a GTIN
    assert result == valid(KLEENEX_UPC, KLEENEX_GTIN14, "upc-a")


@pytest.mark.parametrize("code", ["552574", "12345678", "123456789", "1234567890", "123456789.0"])
def test_walmart_item_id(code):
    # given Walmart item ids (6-10 digits that are not a GTIN; one came through a float)
    # when they are classified for walmart
    result = classify_product_id(code, network="walmart")

    # then they pass without a GTIN, to be resolved through the crosswalk
    assert result == GtinResult(input=code, gtin14=None, kind="walmart_item_id", valid=True, reason=WALMART_ITEM_ID)


def test_walmart_gtin_stays_a_gtin():
    # given a UPC-A and a GTIN-8 in a Walmart export
    # when they are classified for walmart
    upc = classify_product_id(KLEENEX_UPC, network="walmart")
    gtin8 = classify_product_id("96385074", network="walmart")

    # then they are read as GTINs
    assert upc == valid(KLEENEX_UPC, KLEENEX_GTIN14, "upc-a")
    assert gtin8 == valid("96385074", "00000096385074", "gtin-8")


def test_walmart_bad_twelve_digits_are_not_an_item_id():
    # given a 12-digit code with a bad check digit in a Walmart export
    code = "036000291453"

    # when it is classified for walmart
    result = classify_product_id(code, network="walmart")

    # then it is a broken UPC, not an item id
    assert result == invalid(code, "bad_check_digit", BAD_CHECK_DIGIT.format(expected=2, found=3))


def test_instacart_codes_are_upcs():
    # given a UPC and a mangled UPC from Instacart
    # when they are classified for instacart
    upc = classify_product_id(KLEENEX_UPC, network="instacart")
    mangled = classify_product_id("3.60003E+10", network="instacart")

    # then they are read exactly as GTINs
    assert upc == normalize_gtin(KLEENEX_UPC)
    assert mangled == invalid("3.60003E+10", "excel_damaged", EXCEL_SCIENTIFIC)


@pytest.mark.parametrize("code", ["SKU-123", "abc", "036000291453"])
def test_criteo_retailer_product_ids(code):
    # given retailer product ids in a Criteo export
    # when they are classified for criteo
    result = classify_product_id(code, network="criteo")

    # then they pass without a GTIN
    assert result == GtinResult(
        input=code, gtin14=None, kind="retailer_product_id", valid=True, reason=RETAILER_PRODUCT_ID
    )


@pytest.mark.parametrize(("code", "expected"), [
    (KLEENEX_UPC, valid(KLEENEX_UPC, KLEENEX_GTIN14, "upc-a")),
    ("3.6E+11", invalid("3.6E+11", "excel_damaged", EXCEL_SCIENTIFIC)),
    ("", invalid("", "empty", EMPTY)),
])
def test_criteo_gtins_and_damage_are_not_product_ids(code, expected):
    # given a GTIN, a mangled number and an empty cell in a Criteo export
    # when they are classified for criteo
    result = classify_product_id(code, network="criteo")

    # then they are read as GTINs
    assert result == expected


def test_unknown_network():
    # given a network the classifier does not know
    # when a code is classified for it
    with pytest.raises(ValueError) as excinfo:
        classify_product_id(KLEENEX_UPC, network="myspace")

    # then it is refused
    assert str(excinfo.value) == UNKNOWN_NETWORK.format(network="myspace")


# --- many codes --------------------------------------------------------------------------------------------


def test_normalize_many_reads_each_distinct_code_once(monkeypatch):
    # given a long column holding four distinct codes
    column = [KLEENEX_UPC, "abc", "4006381333931", KLEENEX_UPC, "123643"] * 2_500
    calls = Counter()
    real = gtin.normalize_gtin

    def counting(code, **kwargs):
        calls[code] += 1
        return real(code, **kwargs)

    monkeypatch.setattr(gtin, "normalize_gtin", counting)

    # when it is normalized as a whole
    results = normalize_many(column, upce=True)

    # then each distinct code was read once and is keyed by its input
    assert calls == {KLEENEX_UPC: 1, "abc": 1, "4006381333931": 1, "123643": 1}
    assert results == {
        KLEENEX_UPC: valid(KLEENEX_UPC, KLEENEX_GTIN14, "upc-a"),
        "abc": invalid("abc", "not_numeric", NOT_NUMERIC),
        "4006381333931": valid("4006381333931", "04006381333931", "ean-13"),
        "123643": valid("123643", "00012300000642", "upc-e"),
    }


def test_normalize_many_with_network():
    # given an Amazon column of ASINs and UPCs
    column = ["B08N5WRWNW", KLEENEX_UPC, "B08N5WRWNW"]

    # when it is normalized for amazon
    results = normalize_many(column, network="amazon")

    # then each reading is the classifier's
    assert results == {
        "B08N5WRWNW": GtinResult(input="B08N5WRWNW", gtin14=None, kind="asin", valid=True, reason=ASIN),
        KLEENEX_UPC: valid(KLEENEX_UPC, KLEENEX_GTIN14, "upc-a"),
    }


# --- properties over random codes --------------------------------------------------------------------------

KIND_BY_LENGTH = {8: "gtin-8", 12: "upc-a", 13: "ean-13", 14: "gtin-14"}


def random_digits(rng: random.Random, length: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(length))


@pytest.mark.parametrize("seed", range(20))
def test_appending_the_check_digit_always_validates(seed):
    # given random bodies of every GTIN length
    rng = random.Random(seed)
    bodies = [random_digits(rng, length) for length in (7, 11, 12, 13) for _ in range(25)]

    for body in bodies:
        # when the check digit is appended and the code normalized
        code = f"{body}{check_digit(body)}"
        result = normalize_gtin(code)

        # then it is valid, of its length's kind, padded to 14, and the check digit agrees with the oracle
        assert check_digit(body) == oracle_check_digit(body)
        assert result.valid, result
        assert result.kind == KIND_BY_LENGTH[len(code)]
        assert result.gtin14 == code.zfill(14)
        assert result.variable_measure == code.zfill(14).startswith(("002", "02"))


@pytest.mark.parametrize("seed", range(20))
def test_every_single_digit_error_is_caught(seed):
    # given random valid UPC-As and GTIN-14s
    rng = random.Random(seed)
    for length in (11, 13):
        body = random_digits(rng, length)
        code = f"{body}{check_digit(body)}"

        # when any one digit is replaced by another
        for position in range(len(code)):
            for digit in "0123456789".replace(code[position], ""):
                typo = f"{code[:position]}{digit}{code[position + 1:]}"

                # then the typo does not validate
                assert normalize_gtin(typo).kind == "bad_check_digit", typo


@pytest.mark.parametrize("seed", range(20))
def test_same_product_in_every_padding(seed):
    # given random valid UPC-As
    rng = random.Random(seed)
    for _ in range(25):
        body = random_digits(rng, 11)
        upc = f"{body}{check_digit(body)}"

        # when the UPC-A, its EAN-13 and its GTIN-14 form are normalized
        results = [normalize_gtin(code) for code in (upc, f"0{upc}", f"00{upc}")]

        # then all three are the same product
        assert {result.gtin14 for result in results} == {f"00{upc}"}


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("network", [None, "amazon", "walmart", "instacart", "criteo"])
def test_every_gtin_returned_checks_out(seed, network):
    # given random digit strings of every length, with random digits and some separators
    rng = random.Random(seed)
    codes = [random_digits(rng, rng.randint(1, 16)) for _ in range(60)]
    codes += [f"{code[:3]}-{code[3:]}" for code in codes[:10]] + [f"{code}.0" for code in codes[10:20]]

    for code in codes:
        for upce in (False, True):
            # when each is classified
            result = classify_product_id(code, network=network, upce=upce)

            # then a GTIN comes only with a valid result, and it is 14 digits with a valid check digit
            if result.gtin14 is not None:
                assert result.valid
                assert len(result.gtin14) == 14 and result.gtin14.isdigit()
                assert has_valid_check_digit(result.gtin14), result
            if not result.valid:
                assert result.gtin14 is None
                assert result.reason


# --- manage.py gtin ----------------------------------------------------------------------------------------


def test_command_prints_one_json_line_per_code():
    # given valid codes, one of them UPC-E, one repeated
    out = io.StringIO()

    # when the command runs
    call_command("gtin", KLEENEX_UPC, "123643", KLEENEX_UPC, "--upce", stdout=out)

    # then each code gets its JSON line, in order
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines == [
        valid(KLEENEX_UPC, KLEENEX_GTIN14, "upc-a").to_dict(),
        valid("123643", "00012300000642", "upc-e").to_dict(),
        valid(KLEENEX_UPC, KLEENEX_GTIN14, "upc-a").to_dict(),
    ]
    assert set(lines[0]) == {"input", "gtin14", "kind", "valid", "reason", "variable_measure"}


def test_command_with_network():
    # given an ASIN
    out = io.StringIO()

    # when the command runs with --network amazon
    call_command("gtin", "B08N5WRWNW", "--network", "amazon", stdout=out)

    # then the line is the ASIN reading
    assert json.loads(out.getvalue()) == {
        "input": "B08N5WRWNW", "gtin14": None, "kind": "asin", "valid": True, "reason": ASIN,
        "variable_measure": False,
    }


def test_command_fails_when_a_code_is_invalid():
    # given one valid and one invalid code
    out = io.StringIO()

    # when the command runs
    with pytest.raises(CommandError) as excinfo:
        call_command("gtin", KLEENEX_UPC, "abc", stdout=out)

    # then both lines are printed and the error carries exit status 1
    assert str(excinfo.value) == INVALID_CODES.format(invalid=1, total=2)
    assert excinfo.value.returncode == 1
    assert [json.loads(line)["valid"] for line in out.getvalue().splitlines()] == [True, False]


def test_manage_py_exit_status():
    # given the real manage.py in a fresh interpreter
    def run(*codes):
        return subprocess.run([sys.executable, "manage.py", "gtin", *codes], cwd=ROOT, env=dict(os.environ),
                              capture_output=True, text=True, timeout=60)

    # when it reads a valid code, then a valid and an invalid one
    ok = run(KLEENEX_UPC)
    failed = run(KLEENEX_UPC, "3.6E+11")

    # then the exit status is 0, then 1 with the message on stderr and the lines still on stdout
    assert (ok.returncode, ok.stderr) == (0, "")
    assert json.loads(ok.stdout) == valid(KLEENEX_UPC, KLEENEX_GTIN14, "upc-a").to_dict()
    assert failed.returncode == 1
    assert failed.stderr == f"CommandError: {INVALID_CODES.format(invalid=1, total=2)}\n"
    assert len(failed.stdout.splitlines()) == 2
