"""cangliu serials: support staff check a code's check character (exit 0 valid, 1 invalid, 2 bad
usage), compute one for a payload and read a scanned GS1 element string — no database needed."""

from click.testing import Result
from typer.testing import CliRunner

from cangliu.cli import app
from cangliu.core.serials.checkdigits import MISMATCH
from cangliu.i18n import translate

runner = CliRunner()


def said(result: Result) -> str:
    """The output with Rich's line wrapping undone."""
    return " ".join(result.output.split())


def test_a_valid_code_says_valid_in_both_languages_and_exits_0():
    done = runner.invoke(app, ["serials", "check", "4006381333931", "--algorithm", "gs1"])
    assert done.exit_code == 0, done.output
    assert "valid / 有效: 4006381333931 (gs1)" in said(done)


def test_a_wrong_check_digit_names_the_expected_one_and_exits_1():
    done = runner.invoke(app, ["serials", "check", "79927398710", "--algorithm", "luhn"])
    assert done.exit_code == 1
    assert "invalid / 无效" in said(done)
    assert "check digit mismatch: expected 3" in said(done)
    # The Chinese half comes from the catalogue, as everywhere else.
    assert translate("zh_CN", MISMATCH, expected="3") in said(done)


def test_a_character_the_algorithm_does_not_take_is_named_and_exits_1():
    done = runner.invoke(app, ["serials", "check", "12X4", "-a", "damm"])
    assert done.exit_code == 1
    assert "character X at position 3 is not allowed by damm" in said(done)


def test_an_unknown_algorithm_is_bad_usage_naming_the_choices():
    for command in ("check", "check-digit"):
        done = runner.invoke(app, ["serials", command, "1234", "--algorithm", "mod97"])
        assert done.exit_code == 2
        assert "unknown check digit algorithm mod97; choose one of gs1, luhn, mod11_10, mod37_36, damm" \
            in said(done)


def test_check_digit_prints_the_character_and_the_complete_code():
    done = runner.invoke(app, ["serials", "check-digit", "A12425GABC1234002", "-a", "mod37_36"])
    assert done.exit_code == 0, done.output
    assert "check character / 校验位: M" in said(done)
    assert "code / 完整编码: A12425GABC1234002M" in said(done)
    bad = runner.invoke(app, ["serials", "check-digit", "07a4", "-a", "mod11_10"])
    assert bad.exit_code == 2 and "payload: character a at position 3" in said(bad)


def test_parse_lists_the_elements_of_a_scanned_datamatrix():
    done = runner.invoke(app, ["serials", "parse", "]d201095060001343521720122510ABC123<GS>2112345"])
    assert done.exit_code == 0, done.output
    text = said(done)
    assert "(01) GTIN / 全球贸易项目代码: 09506000134352" in text
    assert "(17) expiry / 有效期至: 201225 (2020-12-25)" in text
    assert "(10) lot / 批号: ABC123" in text and "(21) serial / 序列号: 12345" in text


def test_parse_names_the_wrong_element_and_exits_1():
    done = runner.invoke(app, ["serials", "parse", "(01)09506000134351(17)201225"])
    assert done.exit_code == 1
    assert "ai_01: GTIN check digit mismatch: expected 2" in said(done)
