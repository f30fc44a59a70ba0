"""Serial and lot number templates: parsing, rendering, periods, preview and scan validation."""

import random
from datetime import date

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cangliu.core.errors import ValidationFailed
from cangliu.core.serials.checkdigits import verify
from cangliu.core.serials.templates import (
    CROCKFORD,
    Context,
    Template,
    parse_template,
    pattern,
    preview,
    render,
    render_batch,
    scan_problems,
    seq_period,
    validate_scan,
)

DAY = date(2026, 11, 23)
CTX = Context(cat="PH", sku="PH-100", site="SH01", line="L2", day=DAY)


def refusal(text: str) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        parse_template(text)
    [error] = caught.value.errors
    assert error.field == "template"
    assert error.message.format(**error.params)  # every placeholder has its param
    return error.params


# --- rendering ------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("{cat}/{sku}/{site}/{line}/{seq:3}", "PH/PH-100/SH01/L2/007"),
    ("{date:YYYYMMDD}{seq:1}", "202611237"),
    ("{date:YY}-{date:MM}-{date:DD}-{seq:2}", "26-11-23-07"),
    ("{date:YYYYDDD}{seq:4}", "20263270007"),
    ("{date:YYWW}{seq:12}", "2648000000000007"),
    ("SN{rand:5}", "SNZZZZZ"),
])
def test_tokens_render_as_documented(text: str, expected: str) -> None:
    assert render(parse_template(text), CTX, 7, lambda n: "Z" * n) == expected


@pytest.mark.parametrize(("day", "week"), [
    (date(2026, 1, 1), "01"), (date(2026, 12, 31), "53"), (date(2027, 1, 1), "53"), (date(2027, 1, 4), "01"),
])
def test_week_is_the_iso_week(day: date, week: str) -> None:
    assert render(parse_template("{date:WW}{seq:1}"), Context(day=day), 0) == f"{week}0"


def test_day_of_year_counts_from_001_to_366() -> None:
    template = parse_template("{date:DDD}{seq:1}")
    assert render(template, Context(day=date(2028, 1, 1)), 0) == "0010"
    assert render(template, Context(day=date(2028, 12, 31)), 0) == "3660"


@pytest.mark.parametrize("day", [date(2028, 12, 31), date(2026, 12, 31), date(2027, 1, 1), date(2026, 2, 28),
                                 date(2029, 10, 10)])
def test_every_calendar_edge_matches_the_scan_pattern(day: date) -> None:
    template = parse_template("{date:YYYYMMDDWWDDD}{seq:1}")
    code = render(template, Context(day=day), 0)
    assert pattern(template).fullmatch(code), code


def test_random_part_uses_crockford_base32_from_the_given_generator() -> None:
    template = parse_template("{rand:16}")
    codes = [render(template, CTX, 0, random.Random(seed)) for seed in range(50)]
    assert all(len(code) == 16 and set(code) <= set(CROCKFORD) for code in codes)
    assert not set("ILOU") & set("".join(codes))
    assert render(template, CTX, 0, random.Random(3)) == render(template, CTX, 0, random.Random(3))


def test_gs1_check_digit_matches_a_published_gtin() -> None:
    # EAN-13 4006381333931 is the worked example of GS1's check digit calculator.
    assert render(parse_template("40063813339{seq:1}{check:gs1}"), CTX, 3) == "4006381333931"


@pytest.mark.parametrize("algorithm", ["gs1", "luhn", "mod11_10", "damm", "mod37_36"])
def test_rendered_check_character_verifies(algorithm: str) -> None:
    template = parse_template(f"{{date:YYMMDD}}{{seq:6:daily}}{{check:{algorithm}}}")
    codes = render_batch(template, CTX, 1, 200, None)
    assert all(verify(algorithm, code).valid for code in codes)
    assert all(validate_scan(template, code, CTX) == [] for code in codes)


def test_missing_or_odd_master_data_code_is_refused_naming_the_field() -> None:
    template = parse_template("{line}-{seq:4}")
    for bad in ("", "L 2", "线"):
        with pytest.raises(ValidationFailed) as caught:
            render(template, Context(line=bad, day=DAY), 1)
        assert caught.value.errors[0].field == "line"
        assert caught.value.errors[0].params["token"] == "{line}"


def test_mod37_36_refuses_a_lower_case_code_at_render() -> None:
    template = parse_template("{sku}{seq:4}{check:mod37_36}")
    assert verify("mod37_36", render(template, Context(sku="AB12", day=DAY), 5)).valid
    with pytest.raises(ValidationFailed):
        render(template, Context(sku="ab-12", day=DAY), 5)


def test_counter_that_no_longer_fits_its_digits_is_refused() -> None:
    template = parse_template("{seq:3}")
    assert render(template, CTX, 999) == "999"
    with pytest.raises(ValidationFailed):
        render(template, CTX, 1000)
    with pytest.raises(ValidationFailed):
        render_batch(template, CTX, 990, 20, None)


def test_code_longer_than_60_characters_with_its_master_data_is_refused() -> None:
    template = parse_template("{sku}{seq:12}")
    assert render(template, Context(sku="A" * 48, day=DAY), 1).endswith("000000000001")
    with pytest.raises(ValidationFailed):
        render(template, Context(sku="A" * 49, day=DAY), 1)


# --- counter periods ------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "period"), [
    ("{seq:6}", ""),
    ("{date:YYMMDD}{seq:6:daily}", "2026-11-23"),
    ("{date:YYYYDDD}{seq:6:daily}", "2026-11-23"),
    ("{date:YYMM}{seq:6:monthly}", "2026-11"),
    ("{date:YY}{seq:6:yearly}", "2026"),
])
def test_reset_gives_the_counter_period(text: str, period: str) -> None:
    assert seq_period(parse_template(text), DAY) == period


def test_template_records_its_counter_and_check() -> None:
    template = parse_template("{date:YYMMDD}{seq:6:daily}{rand:2}")
    assert (template.seq_reset, template.has_seq, template.has_rand, template.check) == (
        "daily", True, True, None)
    template = parse_template("{rand:8}{check:mod37_36}")
    assert (template.seq_reset, template.has_seq, template.check) == ("never", False, "mod37_36")


# --- malformed templates --------------------------------------------------------------------

@pytest.mark.parametrize(("text", "token", "position"), [
    ("{foo}{seq:4}", "{foo}", "1"),
    ("{}{seq:4}", "{}", "1"),
    ("{cat:x}{seq:4}", "{cat:x}", "1"),
    ("A{date}{seq:4}", "{date}", "2"),
    ("{date:YYMMDX}{seq:4}", "{date:YYMMDX}", "1"),
    ("{date:Y}{seq:4}", "{date:Y}", "1"),
    ("{seq:0}", "{seq:0}", "1"),
    ("{seq:13}", "{seq:13}", "1"),
    ("{seq:x}", "{seq:x}", "1"),
    ("{seq:4:hourly}", "{seq:4:hourly}", "1"),
    ("{seq:4:daily:x}", "{seq:4:daily:x}", "1"),
    ("{rand:0}", "{rand:0}", "1"),
    ("{rand:17}", "{rand:17}", "1"),
    ("{seq:4}{check:crc}", "{check:crc}", "8"),
    ("{seq:4}-{seq:4}", "{seq:4}", "9"),
    ("{seq:4}{check:gs1}0", "{check:gs1}", "8"),
    ("{seq:4}{check:gs1}{check:luhn}", "{check:gs1}", "8"),
    ("{cat}{seq:4}{check:gs1}", "{check:gs1}", "13"),
    ("{rand:4}{check:luhn}", "{check:luhn}", "9"),
    ("12-{seq:4}{check:damm}", "{check:damm}", "11"),
    ("ab{seq:4}{check:mod37_36}", "{check:mod37_36}", "10"),
    ("{seq:6:daily}", "{seq:6:daily}", "1"),
    ("{date:YYMM}{seq:6:daily}", "{seq:6:daily}", "12"),
    ("{date:MMDD}{seq:6:daily}", "{seq:6:daily}", "12"),
    ("{date:YYWW}{seq:6:monthly}", "{seq:6:monthly}", "12"),
    ("{date:MM}{seq:6:yearly}", "{seq:6:yearly}", "10"),
])
def test_malformed_template_is_refused_naming_the_token(text: str, token: str, position: str) -> None:
    params = refusal(text)
    assert params["token"] == token
    assert params["position"] == position


@pytest.mark.parametrize(("text", "position"), [
    ("AB{seq:4}{", "10"), ("AB{seq:4", "3"), ("{{seq:4}", "1"), ("AB}{seq:4}", "3"),
])
def test_unbalanced_braces_are_refused_with_their_position(text: str, position: str) -> None:
    assert refusal(text)["position"] == position


def test_check_refusal_names_the_part_that_could_put_letters_before_it() -> None:
    params = refusal("X{date:YY}{sku}{seq:4}{check:gs1}")
    assert (params["part"], params["part_position"]) == ("X", "1")
    assert refusal("{date:YY}{sku}{seq:4}{check:gs1}")["part"] == "{sku}"


def test_template_that_cannot_give_unique_codes_is_refused() -> None:
    params = refusal("{cat}-{date:YYMMDD}")
    assert params == {"seq": "{seq:N}", "rand": "{rand:N}"}


def test_template_over_60_characters_is_refused() -> None:
    assert refusal("{rand:16}{rand:16}{rand:16}{rand:16}")["length"] == "64"
    parse_template("{rand:16}{rand:16}{rand:16}{seq:12}")  # exactly 60


def test_character_a_label_cannot_carry_is_refused() -> None:
    params = refusal("A B{seq:4}")
    assert params["position"] == "2"


@pytest.mark.parametrize("text", [
    "{date:YYMMDD}{seq:6:daily}", "{date:YYYYDDD}{seq:4:daily}", "{date:YYDDD}{seq:4:monthly}",
    "{date:YYYYMM}{seq:4:monthly}", "{date:YYYYWW}{seq:4:yearly}", "{cat}-{line}-{rand:6}",
    "LOT{date:YYMMDD}{seq:3:daily}{check:mod37_36}", "9{date:YYMMDD}{seq:3:daily}{check:mod11_10}",
])
def test_well_formed_templates_are_accepted(text: str) -> None:
    assert parse_template(text).text == text


# --- batches and preview --------------------------------------------------------------------

def test_random_only_batch_redraws_duplicates() -> None:
    template = parse_template("{rand:1}")
    assert sorted(render_batch(template, CTX, 1, 32, random.Random(1))) == sorted(CROCKFORD)
    with pytest.raises(ValidationFailed):
        render_batch(template, CTX, 1, 33, random.Random(1))


def test_preview_is_deterministic_for_a_seed() -> None:
    text = "{cat}-{date:YYMMDD}-{rand:4}-{seq:3}"
    first = preview(text, CTX, count=5, seed=42)
    assert first == preview(text, CTX, count=5, seed=42)
    assert first != preview(text, CTX, count=5, seed=43)
    assert [code[-3:] for code in first] == ["001", "002", "003", "004", "005"]
    assert first[0].startswith("PH-261123-")


def test_preview_of_a_malformed_template_raises_the_reason() -> None:
    with pytest.raises(ValidationFailed):
        preview("{seq:4}{nope}", CTX)


# --- scanning -------------------------------------------------------------------------------

def test_scan_names_what_was_expected_where() -> None:
    template = parse_template("{cat}-{date:YYMMDD}-{seq:6}")
    assert validate_scan(template, "PH-261123-000042") == []
    assert validate_scan(template, "PH-261123-00042") == ["expected {seq:6} at position 11, found “00042”"]
    assert validate_scan(template, "PH/261123-000042")[0].startswith("expected “-” at position 3")
    assert validate_scan(template, "PH-261323-000042")[0].startswith("expected {date:YYMMDD} at position 4")
    assert validate_scan(template, "PH-261123-") == ["code ends at position 11; expected {seq:6}"]
    assert validate_scan(template, "PH-261123-0000421") == [
        "unexpected “1” at position 17 after the end of the code"]


def test_scan_with_context_requires_that_context_codes() -> None:
    template = parse_template("{cat}-{seq:6}")
    assert validate_scan(template, "XY-000001") == []
    assert validate_scan(template, "XY-000001", CTX)[0].startswith("expected {cat} “PH” at position 1")
    assert pattern(template, CTX).fullmatch("PH-000001")


def test_scan_reports_check_digit_mismatch_with_the_expected_character() -> None:
    template = parse_template("{date:YYMMDD}{seq:6}{check:gs1}")
    code = render(template, CTX, 42)
    wrong = code[:-1] + str((int(code[-1]) + 1) % 10)
    assert validate_scan(template, wrong) == [f"check digit mismatch: expected {code[-1]}"]
    [problem] = scan_problems(template, wrong)
    assert (problem.message, problem.params) == ("check digit mismatch: expected {expected}",
                                                 {"expected": code[-1]})


# --- properties -----------------------------------------------------------------------------

CHECKS = [None, "gs1", "luhn", "mod11_10", "damm", "mod37_36"]
DATE_FORMATS = st.lists(st.sampled_from(["YYYY", "YY", "MM", "DD", "WW", "DDD"]), min_size=1, max_size=3)


@st.composite
def templates(draw: st.DrawFn) -> str:
    check = draw(st.sampled_from(CHECKS))
    digits_only = check not in (None, "mod37_36")
    alphabet = "0123456789" if digits_only else "0123456789AZ" if check else "0123456789AZaz-./_"
    pieces = [st.text(alphabet, min_size=1, max_size=3),
              DATE_FORMATS.map(lambda f: "{date:" + "".join(f) + "}")]
    if not digits_only:
        pieces += [st.sampled_from(["{cat}", "{sku}", "{site}", "{line}"]),
                   st.integers(1, 4).map(lambda n: f"{{rand:{n}}}")]
    body = draw(st.lists(st.one_of(*pieces), max_size=4))
    unique = st.integers(1, 8).map(lambda n: f"{{seq:{n}}}")
    if not digits_only:
        unique |= st.integers(6, 10).map(lambda n: f"{{rand:{n}}}")
    body.insert(draw(st.integers(0, len(body))), draw(unique))
    return "".join(body) + (f"{{check:{check}}}" if check else "")


def contexts(alphanumeric: bool) -> st.SearchStrategy[Context]:
    code = st.from_regex(r"[0-9A-Z]{1,6}" if alphanumeric else r"[A-Za-z0-9][A-Za-z0-9._\-]{0,5}",
                         fullmatch=True)
    return st.builds(Context, cat=code, sku=code, site=code, line=code,
                     day=st.dates(date(2000, 1, 1), date(2099, 12, 31)))


def parsed(text: str) -> Template:
    try:
        return parse_template(text)
    except ValidationFailed:
        assume(False)  # a combination the parser rightly refuses (e.g. over 60 characters)
        raise


@settings(max_examples=150, deadline=None)
@given(text=templates(), data=st.data(), seed=st.integers(0, 2**32))
def test_rendered_codes_always_match_the_pattern(text: str, data: st.DataObject, seed: int) -> None:
    template = parsed(text)
    context = data.draw(contexts(template.check is not None))
    seq = data.draw(st.integers(0, 10 ** template.seq_width - 1))
    code = render(template, context, seq, random.Random(seed))
    assert pattern(template).fullmatch(code)
    assert pattern(template, context).fullmatch(code)
    assert validate_scan(template, code, context) == []


@settings(max_examples=100, deadline=None)
@given(text=templates(), data=st.data(), first=st.integers(0, 1000), count=st.integers(1, 40),
       seed=st.integers(0, 2**32))
def test_batch_equals_render_one_by_one_and_is_unique(text: str, data: st.DataObject, first: int,
                                                       count: int, seed: int) -> None:
    template = parsed(text)
    assume(not template.has_seq or first + count <= 10 ** template.seq_width)
    context = data.draw(contexts(template.check is not None))
    batch = render_batch(template, context, first, count, random.Random(seed))
    rng = random.Random(seed)
    assert batch == [render(template, context, first + i, rng) for i in range(count)]
    assert len(set(batch)) == count
