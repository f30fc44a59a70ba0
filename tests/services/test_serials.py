"""Serial numbers in the database: rules, batch generation (sequence, resets, uniqueness, one
transaction), scanning validation and the lifecycle events documents record."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from cangliu.core.errors import Conflict, NotFound, StaleVersion, ValidationFailed
from cangliu.core.serials import gs1
from cangliu.core.serials.checkdigits import check_character
from cangliu.core.serials.lifecycle import IllegalSerialTransition
from cangliu.db.models import Lot, Serial, SerialBatch, SerialEvent, Setting, Sku
from cangliu.services import masterdata, serials
from tests.races import race

DAY = date(2026, 11, 23)
PHONE_GTIN = "690000000005" + check_character("gs1", "690000000005")
TABLET_GTIN = "690000000006" + check_character("gs1", "690000000006")


def at(day: date = DAY):  # type: ignore[no-untyped-def]
    return lambda: datetime(day.year, day.month, day.day, 9, tzinfo=UTC)


@pytest.fixture
def phones(db, network):
    """Two serial-tracked SKUs in category PH, one lot-tracked SKU (from the network)."""
    masterdata.create(db.uow(), network, "category", {"code": "PH", "name": "手机"})
    for code, gtin in (("PHONE", PHONE_GTIN), ("TABLET", TABLET_GTIN)):
        masterdata.create(db.uow(), network, "sku", {"code": code, "name": code, "category": "PH",
                                                     "tracking": "serial", "barcodes": [gtin]})
    return network


def gen(db, actor, day: date = DAY, **kw):  # type: ignore[no-untyped-def]
    return serials.generate(db.uow(clock=at(day)), actor, **{"sku": "PHONE", "count": 3, **kw})


def count(db, model) -> int:  # type: ignore[no-untyped-def]
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(model))


# --- rules -------------------------------------------------------------------------------------

def test_a_rule_is_saved_listed_and_edited_with_its_version(db, phones):
    made = serials.create(db.uow(), phones, code="PH-RULE", name="手机序列号",
                          template="{cat}{date:YYMMDD}{seq:5:daily}{check:mod37_36}", category="PH")
    assert (made["category"], made["sku"], made["version"]) == ("PH", None, 1)
    changed = serials.update(db.uow(), phones, "PH-RULE", 1, {"line": "L2"})
    assert (changed["line"], changed["version"]) == ("L2", 2)
    with pytest.raises(StaleVersion):
        serials.update(db.uow(), phones, "PH-RULE", 1, {"name": "x"})
    with db.read() as s:
        assert [r["code"] for r in serials.list_rules(s)] == ["PH-RULE"]
        assert serials.get_rule(s, "PH-RULE")["name"] == "手机序列号"


def test_a_malformed_template_is_refused_naming_the_token_and_changes_nothing(db, phones):
    with pytest.raises(ValidationFailed) as failed:
        serials.create(db.uow(), phones, code="BAD", name="x", template="{sku}-{seq:5}-{seq:3}")
    error = failed.value.errors[0]
    assert error.field == "template" and error.params["token"] == "{seq:3}"
    assert error.params["position"] == "15"
    with db.read() as s:
        assert serials.list_rules(s) == []
    with pytest.raises(ValidationFailed) as failed:
        serials.create(db.uow(), phones, code="BOTH", name="x", template="{seq:5}", sku="PHONE",
                       category="PH")
    assert failed.value.errors[0].field == "category"


def test_the_rule_for_a_sku_is_its_own_then_its_categorys_then_the_default(db, phones):
    with db.read() as s:
        phone = s.scalar(select(Sku).where(Sku.code == "PHONE"))
        assert serials.rule_for(s, phone).template == serials.DEFAULT_TEMPLATES["serial"]
    serials.create(db.uow(), phones, code="ANY", name="默认", template="X{seq:6}")
    serials.create(db.uow(), phones, code="CAT", name="分类", template="C{seq:6}", category="PH")
    with db.read() as s:
        assert serials.rule_for(s, phone).code == "CAT"
    serials.create(db.uow(), phones, code="OWN", name="专用", template="P{seq:6}", sku="PHONE")
    with db.read() as s:
        assert serials.rule_for(s, phone).code == "OWN"


def test_preview_renders_the_skus_category_and_code(db, phones):
    with db.read() as s:
        codes = serials.preview(s, "{cat}-{sku}-{date:YYMMDD}-{seq:3}", sku="PHONE", count=2,
                                today=DAY)
    assert codes == ["PH-PHONE-261123-001", "PH-PHONE-261123-002"]


# --- generation --------------------------------------------------------------------------------

def test_a_batch_continues_the_sequence_and_resets_daily(db, phones):
    serials.create(db.uow(), phones, code="R", name="r", template="{sku}{date:YYMMDD}{seq:4:daily}",
                   sku="PHONE")
    first = gen(db, phones)
    assert first["codes"] == ["PHONE2611230001", "PHONE2611230002", "PHONE2611230003"]
    assert first["batch"].startswith("SB-20261123-") and first["status"] == "generated"
    assert gen(db, phones, count=2)["codes"] == ["PHONE2611230004", "PHONE2611230005"]
    assert gen(db, phones, day=date(2026, 11, 24), count=1)["codes"] == ["PHONE2611240001"]
    with db.read() as s:
        statuses = set(s.scalars(select(Serial.status)))
        kinds = set(s.scalars(select(SerialEvent.kind)))
    assert statuses == {"generated"} and kinds == {"generated"}
    assert count(db, SerialEvent) == count(db, Serial) == 6
    assert count(db, SerialBatch) == 3


def test_without_a_rule_the_built_in_default_numbers_per_day(db, phones):
    made = gen(db, phones, count=2)
    assert made["codes"] == ["PHONE-261123-000001", "PHONE-261123-000002"]
    assert made["rule"] == "DEFAULT"


def test_a_used_code_stops_the_batch_naming_it_and_writes_nothing(db, phones):
    serials.create(db.uow(), phones, code="R", name="r", template="S{seq:4:never}", sku="PHONE")
    serials.create(db.uow(), phones, code="T", name="t", template="S{seq:4:never}", sku="TABLET")
    gen(db, phones, count=2)  # S0001, S0002
    before = (count(db, Serial), count(db, SerialEvent), count(db, SerialBatch))
    with pytest.raises(serials.SerialExists) as taken:
        gen(db, phones, sku="TABLET", count=3)
    assert taken.value.params["code"] == "S0001"
    assert (count(db, Serial), count(db, SerialEvent), count(db, SerialBatch)) == before


def test_per_sku_uniqueness_lets_two_skus_share_a_code(db, phones):
    with db.uow() as uow:
        uow.session.add(Setting(key="serial_uniqueness", value="per_sku"))
        uow.commit()
    serials.create(db.uow(), phones, code="R", name="r", template="S{seq:4:never}", sku="PHONE")
    serials.create(db.uow(), phones, code="T", name="t", template="S{seq:4:never}", sku="TABLET")
    gen(db, phones, count=2)
    assert gen(db, phones, sku="TABLET", count=2)["codes"] == ["S0001", "S0002"]
    with db.read() as s:
        with pytest.raises(ValidationFailed):
            serials.get_serial(s, "S0001")  # which SKU?
        assert serials.get_serial(s, "S0001", sku="TABLET")["sku"] == "TABLET"


def test_bad_input_is_refused_naming_the_field(db, phones):
    for kw, field in [({"count": 0}, "count"), ({"count": 100_001}, "count"),
                      ({"sku": "NOPE"}, "sku"), ({"sku": "SKU-1"}, "sku"),
                      ({"site": "NOPE"}, "site"), ({"rule": "NOPE"}, "rule")]:
        with pytest.raises(ValidationFailed) as failed:
            gen(db, phones, **kw)
        assert failed.value.errors[0].field == field, kw
    assert count(db, Serial) == count(db, SerialBatch) == 0


def test_a_lot_tracked_sku_gets_lot_codes_with_expiry_from_shelf_life(db, phones):
    made = gen(db, phones, sku="SKU-LOT", count=2)
    assert made["kind"] == "lot" and made["codes"] == ["SKU-LOT-261123-001", "SKU-LOT-261123-002"]
    with db.read() as s:
        expiries = set(s.scalars(select(Lot.expiry_date)))
    assert expiries == {date(2026, 12, 7)} and count(db, Serial) == 0


def test_a_retried_request_with_the_same_key_generates_once(db, phones):
    one = gen(db, phones, idempotency_key="k1")
    two = gen(db, phones, idempotency_key="k1")
    assert one == two and count(db, Serial) == 3


def test_concurrent_batches_never_hand_out_the_same_number(db, phones):
    serials.create(db.uow(), phones, code="R", name="r", template="S{seq:6:never}{check:mod37_36}",
                   sku="PHONE")
    results = race(db, lambda i: gen(db, phones, count=200))
    assert not [r for r in results if isinstance(r, Exception)], results
    codes = [c for r in results for c in r["codes"]]
    assert len(codes) == len(set(codes)) == 200 * len(results)
    with db.read() as s:
        assert s.scalar(select(func.count(func.distinct(Serial.code)))) == len(codes)
        seqs = sorted(int(c[1:7]) for c in s.scalars(select(Serial.code)))
    assert seqs == list(range(1, len(codes) + 1))


# --- scanning ----------------------------------------------------------------------------------

@pytest.fixture
def checked(db, phones):
    serials.create(db.uow(), phones, code="R", name="r", template="8{seq:7:never}{check:luhn}",
                   sku="PHONE")
    return gen(db, phones, count=2, site="S1")["codes"]


def scan(db, code: str, **kw):  # type: ignore[no-untyped-def]
    with db.read() as s:
        return serials.check_scan(s, code, today=DAY, **kw)


def test_a_good_scan_is_valid_and_says_where_the_unit_is(db, checked):
    answer = scan(db, checked[0], sku="PHONE", site="S1")
    assert answer["valid"] and answer["problems"] == []
    assert (answer["sku"], answer["status"], answer["site"]) == ("PHONE", "generated", "S1")


def test_a_wrong_check_digit_names_the_expected_one(db, checked):
    good = checked[0]
    wrong = good[:-1] + str((int(good[-1]) + 1) % 10)
    answer = scan(db, wrong, sku="PHONE")
    assert not answer["valid"]
    [problem] = answer["problems"]
    assert problem.message == "check digit mismatch: expected {expected}"
    assert problem.params["expected"] == good[-1]


def test_a_serial_of_another_sku_is_refused_naming_both(db, checked):
    answer = scan(db, checked[0], sku="TABLET")
    assert not answer["valid"]
    assert [(p.field, p.params.get("actual"), p.params.get("sku")) for p in answer["problems"]] \
        == [("sku", "PHONE", "TABLET")]


def test_an_unknown_code_and_another_site_are_told_apart(db, checked):
    payload = "89999999"
    unknown = scan(db, payload + check_character("luhn", payload))
    assert not unknown["valid"]
    assert [(p.field, p.message) for p in unknown["problems"]] == [("code", "unknown serial {code}")]
    elsewhere = scan(db, checked[1], site="S2")
    assert [p.field for p in elsewhere["problems"]] == ["site"]


def test_gs1_content_is_unpacked_before_the_serial_is_checked(db, checked):
    content = gs1.element_string(gtin=PHONE_GTIN, serial=checked[0])
    answer = scan(db, content, sku="PHONE")
    assert answer["valid"] and answer["code"] == checked[0]
    assert answer["gtin_sku"] == "PHONE"
    no_serial = scan(db, gs1.element_string(gtin=PHONE_GTIN, lot="L1"))
    assert not no_serial["valid"] and "AI 21" in no_serial["problems"][0].message


# --- records and lifecycle ---------------------------------------------------------------------

def ids_of(db, codes):  # type: ignore[no-untyped-def]
    with db.read() as s:
        return list(s.scalars(select(Serial.id).where(Serial.code.in_(codes)).order_by(Serial.id)))


def record(db, codes, kind, **kw):  # type: ignore[no-untyped-def]
    with db.uow() as uow:
        n = serials.record_event(uow.session, ids_of(db, codes), kind, at=datetime.now(UTC),
                                 operator="clerk", **kw)
        uow.commit()
    return n


def test_events_move_a_serial_and_form_its_timeline(db, checked):
    assert record(db, checked, "received", document_type="receipt", document_number="RC-1") == 2
    record(db, checked[:1], "shipped", document_type="sales_order", document_number="SO-1",
           detail={"customer": "CUS-1"})
    with db.read() as s:
        got = serials.get_serial(s, checked[0])
        listed, _ = serials.list_serials(s, status="in_stock")
    assert got["status"] == "sold"
    assert [(e["kind"], e["status"]) for e in got["events"]] == [
        ("generated", "generated"), ("received", "in_stock"), ("shipped", "sold")]
    assert got["events"][-1]["detail"] == {"customer": "CUS-1"}
    assert [r["code"] for r in listed] == [checked[1]]


def test_a_transition_the_lifecycle_forbids_names_the_serial_and_both_states(db, checked):
    with pytest.raises(IllegalSerialTransition) as refused:
        record(db, checked, "shipped")  # generated → sold
    assert refused.value.params == {"code": checked[0], "state": "generated", "target": "sold"}
    assert count(db, SerialEvent) == 2
    with db.read() as s:
        assert {r["status"] for r in serials.list_serials(s)[0]} == {"generated"}


def test_lists_page_by_cursor_and_unknown_serials_are_not_found(db, checked):
    with db.read() as s:
        page, cursor = serials.list_serials(s, limit=1)
        rest, end = serials.list_serials(s, limit=1, after=cursor)
        assert [page[0]["code"], rest[0]["code"]] == checked and end is None
        assert serials.list_serials(s, q=checked[1][:-1])[0][0]["code"] == checked[1]
        with pytest.raises(NotFound):
            serials.get_serial(s, "NOPE")
        hidden, _ = serials.list_serials(s, scope=frozenset({-1}))
    assert hidden == []


def test_a_scrapped_serial_scans_as_unusable_and_callers_name_the_states_they_accept(db, checked):
    record(db, checked[:1], "scrapped")
    dead = scan(db, checked[0])
    assert not dead["valid"] and [(p.field, p.params["status"]) for p in dead["problems"]] == [
        ("status", "scrapped")]
    assert not scan(db, checked[1], statuses=("in_stock",))["valid"]
    assert scan(db, checked[1], statuses=("generated",))["valid"]


def test_concurrent_reservations_of_one_unit_let_exactly_one_through(db, checked):
    record(db, checked[:1], "received")
    [serial_id] = ids_of(db, checked[:1])

    def reserve(i: int) -> int:
        with db.uow() as uow:
            n = serials.record_event(uow.session, [serial_id], "reserved", at=datetime.now(UTC),
                                     operator=f"clerk{i}", document_number=f"SO-{i}")
            uow.commit()
        return n

    results = race(db, reserve)
    assert results.count(1) == 1
    assert all(isinstance(r, IllegalSerialTransition | Conflict) for r in results if r != 1)
    with db.read() as s:
        kinds = [e["kind"] for e in serials.get_serial(s, checked[0])["events"]]
    assert kinds == ["generated", "received", "reserved"]
