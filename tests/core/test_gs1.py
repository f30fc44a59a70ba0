"""GS1 element strings as scanners deliver them: human-readable or raw, with or without the
symbology identifier; a wrong element is refused naming its AI and the reason."""

from datetime import date

import pytest

from cangliu.core.errors import ValidationFailed
from cangliu.core.serials.gs1 import GS, element_string, expiry_date, human_readable, is_gs1, parse

TODAY = date(2026, 11, 23)
# GS1's example GTIN 09506000134352 (GS1 Digital Link standard, GS1 DataMatrix Guideline) with a
# lot, an expiry date and a serial in the layout of GS1 General Specifications 3.2.
HUMAN = "(01)09506000134352(17)201225(10)ABC123(21)12345"
RAW = "01095060001343521720122510ABC123" + GS + "2112345"
EXPECTED = (("01", "09506000134352"), ("17", "201225"), ("10", "ABC123"), ("21", "12345"))


def refused(content: str) -> tuple[str, str, dict[str, str]]:
    with pytest.raises(ValidationFailed) as failed:
        parse(content, today=TODAY)
    error = failed.value.errors[0]
    return error.field, error.message.format(**error.params), error.params


@pytest.mark.parametrize("content", [
    HUMAN,
    RAW,
    "]d2" + RAW,  # GS1 DataMatrix
    "]Q3" + RAW,  # GS1 QR Code
    "]C1" + RAW,  # GS1-128
    GS + RAW,  # a scanner passing the leading FNC1 on as GS
])
def test_every_form_of_the_same_element_string_gives_the_same_data(content):
    data = parse(content, today=TODAY)
    assert data.elements == EXPECTED
    assert (data.gtin, data.lot, data.serial, data.sscc) == ("09506000134352", "ABC123", "12345", None)
    assert data.expiry == date(2020, 12, 25)
    assert is_gs1(content)


def test_the_datamatrix_guideline_example_names_its_unsupported_ship_to_ai():
    # GS1 DataMatrix Guideline (release 2.5.1, human readable interpretation example):
    # (01)03453120000011(17)120508(10)ABCD1234(410)9501101020917 — AI 410 (ship to GLN) is not ours.
    field, message, _ = refused("(01)03453120000011(17)120508(10)ABCD1234(410)9501101020917")
    assert (field, message) == ("ai_410", "unknown application identifier 410")
    raw = "]d2" + "010345312000001117120508" + "10ABCD1234" + GS + "4109501101020917"
    assert refused(raw)[:2] == ("ai_410", "unknown application identifier 410")
    data = parse("(01)03453120000011(17)120508(10)ABCD1234", today=TODAY)
    assert (data.gtin, data.expiry, data.lot) == ("03453120000011", date(2012, 5, 8), "ABCD1234")


def test_an_sscc_is_read_and_its_check_digit_verified():
    # SSCC 106141411234567897: the example of GS1 General Specifications (AI 00).
    data = parse("]C100106141411234567897", today=TODAY)
    assert data.sscc == "106141411234567897" and data.gtin is None
    assert refused("(00)106141411234567891")[:2] == ("ai_00", "SSCC check digit mismatch: expected 7")


def test_a_gtin_with_a_wrong_check_digit_names_the_expected_one():
    field, message, params = refused("(01)09506000134351(21)12345")
    assert (field, message) == ("ai_01", "GTIN check digit mismatch: expected 2")
    assert params["expected"] == "2"


def test_an_impossible_expiry_date_is_refused():
    assert refused("(01)09506000134352(17)201332")[:2] == ("ai_17", "invalid date 201332")
    assert refused("(17)210229")[:2] == ("ai_17", "invalid date 210229")  # 2021 is not a leap year


def test_day_00_means_the_last_day_of_the_month():
    assert parse("(17)240200", today=TODAY).expiry == date(2024, 2, 29)
    assert parse("(17)251100", today=TODAY).expiry == date(2025, 11, 30)


@pytest.mark.parametrize(("yy", "year"), [("76", 2076), ("77", 1977), ("00", 2000), ("99", 1999)])
def test_the_century_puts_the_year_within_49_years_back_or_50_ahead(yy, year):
    # GS1 General Specifications 7.12: difference 51..99 → previous century, -99..-50 → next.
    assert expiry_date(yy + "0101", TODAY).year == year
    assert expiry_date("490101", date(2099, 6, 1)).year == 2149


@pytest.mark.parametrize(("content", "field", "message"), [
    ("(01)0950600013435", "ai_01", "GTIN must have 14 digits, not 13"),
    ("(10)" + "L" * 21, "ai_10", "lot is longer than 20 characters"),
    ("(21)AB#1", "ai_21", "character # at position 3 is not allowed in serial"),
    ("(21)", "ai_21", "serial is empty"),
    ("(01)0950600013435X", "ai_01", "GTIN must be digits only: 0950600013435X"),
    ("(21)1(21)2", "ai_21", "application identifier 21 appears twice with different values"),
    ("(X)(01)09506000134352", "content", "text before the first application identifier: (X)"),
    ("X(01)09506000134352", "content", "no application identifier at position 1"),
    ("]d2", "content", "the scanned content is empty"),
    ("3103000123", "ai_3103", "unknown application identifier 3103"),
])
def test_bad_elements_are_refused_naming_the_ai_and_the_reason(content, field, message):
    assert refused(content)[:2] == (field, message)


def test_plain_serials_are_not_taken_for_gs1_but_marked_content_is():
    assert not is_gs1("SN-2026-000123")
    assert not is_gs1("12345678")
    assert is_gs1("0109506000134352")  # raw, no identifier, but a GTIN with a valid check digit
    assert is_gs1("]d2garbage")  # claims GS1: parse will say what is wrong


def test_builders_put_variable_fields_last_with_a_gs_between_them():
    text = element_string(gtin="9506000134352", serial="12345", lot="ABC123",
                          expiry=date(2020, 12, 25))
    assert text == RAW  # GTIN-13 padded to 14 digits; GS after the lot, none after the serial
    assert human_readable(gtin="09506000134352", serial="12345", lot="ABC123",
                          expiry=date(2020, 12, 25)) == HUMAN
    assert element_string(gtin="09506000134352", serial="SN1") == "0109506000134352" + "21SN1"
    assert parse(element_string(sscc="106141411234567897", lot="L1"), today=TODAY).lot == "L1"


def test_builders_refuse_what_a_scanner_would_refuse():
    with pytest.raises(ValidationFailed) as failed:
        element_string(gtin="09506000134353", serial="1")
    assert failed.value.errors[0].field == "ai_01"
    with pytest.raises(ValidationFailed):
        human_readable()
