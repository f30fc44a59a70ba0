"""Check characters against published test vectors, and the errors each scheme is built to catch."""

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from cangliu.core.errors import ValidationFailed
from cangliu.core.serials.checkdigits import (
    ALGORITHMS,
    ALPHANUMERIC,
    BAD_CHARACTER,
    EMPTY_CODE,
    MISMATCH,
    NO_PAYLOAD,
    UNKNOWN_ALGORITHM,
    check_character,
    require_valid,
    verify,
)

VECTORS = [
    # GTIN-13 4006381333931: the EAN-13 example of Wikipedia "International Article Number",
    # computed with the GS1 General Specifications 7.9.1 mod 10 (weights 3/1 from the right).
    ("gs1", "400638133393", "1"),
    # GTIN-12 036000291452: the UPC-A example of Wikipedia "Universal Product Code".
    ("gs1", "03600029145", "2"),
    # GTIN-14 09506000134352: GS1's example GTIN in the GS1 DataMatrix Guideline and the GS1
    # Digital Link standard (https://id.gs1.org/01/09506000134352).
    ("gs1", "0950600013435", "2"),
    # SSCC 106141411234567897: the example SSCC of the GS1 General Specifications (AI 00) and the
    # GS1 Digital Link standard (https://id.gs1.org/00/106141411234567897).
    ("gs1", "10614141123456789", "7"),
    # Luhn 79927398713: ISO/IEC 7812-1 Annex B scheme, the example of Wikipedia "Luhn algorithm".
    ("luhn", "7992739871", "3"),
    # ISO/IEC 7064:2003 MOD 11,10, the standard's example 0794 → 5 (also in python-stdnum's
    # stdnum.iso7064.mod_11_10 documentation).
    ("mod11_10", "0794", "5"),
    # ISO/IEC 7064 MOD 37,36 as used by the IFPI GRid standard (Global Release Identifier
    # Standard, v2.1, section 4): its examples A1-2425G-ABC1234002-M and A1-2425G-XYZ9876008-6.
    ("mod37_36", "A12425GABC1234002", "M"),
    ("mod37_36", "A12425GXYZ9876008", "6"),
    # Damm: 572 → 4, the worked example of Wikipedia "Damm algorithm" (H. M. Damm, 2004).
    ("damm", "572", "4"),
]


@pytest.mark.parametrize(("algorithm", "payload", "check"), VECTORS)
def test_published_vectors_give_the_published_check_character(algorithm, payload, check):
    assert check_character(algorithm, payload) == check
    assert verify(algorithm, payload + check).valid


@pytest.mark.parametrize(("algorithm", "payload", "check"), VECTORS)
def test_a_wrong_last_character_names_the_expected_one(algorithm, payload, check):
    wrong = "7" if check != "7" else "8"
    verdict = verify(algorithm, payload + wrong)
    assert not verdict.valid
    assert (verdict.expected, verdict.found, verdict.reason) == (check, wrong, MISMATCH)
    assert verdict.message == f"check digit mismatch: expected {check}"


def test_an_unknown_algorithm_is_named_with_the_choices():
    verdict = verify("mod97", "123")
    assert not verdict.valid and verdict.reason == UNKNOWN_ALGORITHM
    assert "mod97" in verdict.message and "mod37_36" in verdict.message
    with pytest.raises(ValidationFailed) as failed:
        check_character("mod97", "123")
    assert failed.value.errors[0].field == "algorithm"
    assert failed.value.errors[0].params["choices"] == ", ".join(ALGORITHMS)


def test_a_character_the_scheme_does_not_take_is_named_with_its_position():
    verdict = verify("luhn", "12A45")
    assert not verdict.valid and verdict.reason == BAD_CHARACTER
    assert verdict.params == {"character": "A", "position": "3", "algorithm": "luhn"}
    with pytest.raises(ValidationFailed) as failed:
        check_character("mod37_36", "AB-1")
    assert failed.value.errors[0].field == "payload"
    assert failed.value.errors[0].params["character"] == "-"
    assert failed.value.errors[0].params["position"] == "3"


def test_empty_codes_and_payloads_are_refused():
    assert verify("gs1", "").reason == EMPTY_CODE
    assert verify("gs1", "5").reason == NO_PAYLOAD
    with pytest.raises(ValidationFailed) as failed:
        check_character("damm", "")
    assert failed.value.errors[0].field == "payload"


def test_require_valid_raises_on_the_named_field():
    require_valid("gs1", "4006381333931")
    with pytest.raises(ValidationFailed) as failed:
        require_valid("gs1", "4006381333932", field="serial")
    error = failed.value.errors[0]
    assert (error.field, error.message, error.params) == ("serial", MISMATCH, {"expected": "1"})


digits = st.text(alphabet="0123456789", min_size=1, max_size=30)
alphanumerics = st.text(alphabet=ALPHANUMERIC, min_size=1, max_size=30)


@given(st.sampled_from(ALGORITHMS), alphanumerics)
def test_appending_the_check_character_always_verifies(algorithm, payload):
    if algorithm != "mod37_36":
        payload = "".join(str(ALPHANUMERIC.index(c) % 10) for c in payload)
    assert verify(algorithm, payload + check_character(algorithm, payload)).valid


@given(st.sampled_from(["gs1", "luhn", "damm", "mod11_10"]), digits, st.data())
def test_every_single_digit_substitution_is_detected(algorithm, payload, data):
    code = payload + check_character(algorithm, payload)
    at = data.draw(st.integers(0, len(code) - 1))
    other = data.draw(st.sampled_from([d for d in "0123456789" if d != code[at]]))
    assert not verify(algorithm, code[:at] + other + code[at + 1:]).valid


@given(alphanumerics, st.data())
def test_every_single_character_substitution_is_detected_by_mod37_36(payload, data):
    code = payload + check_character("mod37_36", payload)
    at = data.draw(st.integers(0, len(code) - 1))
    other = data.draw(st.sampled_from([c for c in ALPHANUMERIC if c != code[at]]))
    assert not verify("mod37_36", code[:at] + other + code[at + 1:]).valid


@given(st.text(alphabet="0123456789", min_size=2, max_size=30), st.data())
def test_every_adjacent_transposition_of_distinct_digits_is_detected_by_damm(payload, data):
    code = payload + check_character("damm", payload)
    distinct = [i for i in range(len(code) - 1) if code[i] != code[i + 1]]
    assume(distinct)
    at = data.draw(st.sampled_from(distinct))
    swapped = code[:at] + code[at + 1] + code[at] + code[at + 2:]
    assert not verify("damm", swapped).valid
