"""The promotion calendar: promotions planned, edited and cancelled with every bad field named,
stale edits refused, planners kept to their sites; the forecast frame and the days until the next
promotion per SKU × site that the planning run reads."""

from datetime import date, timedelta
from decimal import Decimal

import polars as pl
import pytest
from sqlalchemy import select

from cangliu.core.errors import Conflict, NotFound, StaleVersion, ValidationFailed
from cangliu.core.permissions import Actor, Grant
from cangliu.db.models import AuditEvent, Location, Sku
from cangliu.services import promotion_effects, promotions

TODAY = date(2026, 11, 23)


def _ids(db) -> dict[str, int]:
    with db.read() as s:
        rows = [*s.execute(select(Sku.code, Sku.id)), *s.execute(select(Location.code, Location.id))]
    return {code: i for code, i in rows}


def _plan(db, actor, **fields):
    values = {"name": "双十二", "starts_on": TODAY + timedelta(days=5),
              "ends_on": TODAY + timedelta(days=7), "uplift_pct": "50"} | fields
    return promotions.create(db.uow(), actor, **values)


def _planner(db, *sites: str) -> Actor:
    ids = _ids(db)
    return Actor(user_id=99, username="planner", grants=(
        Grant(frozenset({"planning.view", "planning.edit"}), frozenset(ids[s] for s in sites)),))


def test_a_promotion_is_planned_with_a_generated_code_and_read_back(db, network):
    made = _plan(db, network, skus=["SKU-1"], sites=["S1", "S2"], note="线上大促")
    assert made["code"].startswith("PR-") and made["version"] == 1
    assert (made["skus"], made["sites"], made["uplift_pct"]) == (["SKU-1"], ["S1", "S2"], Decimal(50))
    second = _plan(db, network, code="xmas-26")
    assert second["code"] == "XMAS-26" and second["skus"] == [] and second["sites"] == []
    with db.read() as s:
        got = promotions.get(s, made["code"], today=TODAY)
        assert got["state"] == "upcoming" and got["note"] == "线上大促"
        assert promotions.get(s, made["code"], today=TODAY + timedelta(days=6))["state"] == "running"
        assert promotions.get(s, made["code"], today=TODAY + timedelta(days=8))["state"] == "past"
        audited = s.scalar(select(AuditEvent.id).where(AuditEvent.entity == "promotion",
                                                       AuditEvent.entity_key == "XMAS-26"))
    assert audited is not None


def test_every_bad_field_is_named_and_nothing_is_saved(db, network):
    with pytest.raises(ValidationFailed) as bad:
        _plan(db, network, name=" ", ends_on=TODAY, uplift_pct="-100",
              skus=["SKU-1", "NOPE"], sites=["S9"])
    fields = {(e.field, e.message) for e in bad.value.errors}
    assert {f for f, _ in fields} == {"name", "ends_on", "uplift_pct", "skus", "sites"}
    assert ("skus", "unknown SKU {code}") in fields
    assert next(e for e in bad.value.errors if e.field == "sites").params == {"code": "S9"}
    for uplift in ("1000.5", "abc", "1.0000001"):
        with pytest.raises(ValidationFailed) as one:
            _plan(db, network, uplift_pct=uplift)
        assert [e.field for e in one.value.errors] == ["uplift_pct"]
    assert _plan(db, network, uplift_pct="1000")["uplift_pct"] == Decimal(1000)
    _plan(db, network, code="DUP")
    with pytest.raises(ValidationFailed) as dup:
        _plan(db, network, code="dup")
    assert dup.value.errors[0].field == "code"
    with db.read() as s:
        items, _ = promotions.list_promotions(s, today=TODAY)
    assert len(items) == 2


def test_an_edit_on_a_stale_version_changes_nothing_and_a_cancelled_one_is_final(db, network):
    made = _plan(db, network, sites=["S1"])
    edited = promotions.update(db.uow(), network, made["code"], 1,
                               {"uplift_pct": "80", "sites": ["S2"], "skus": ["SKU-KG"]})
    assert (edited["version"], edited["uplift_pct"], edited["sites"], edited["skus"]) == (
        2, Decimal(80), ["S2"], ["SKU-KG"])
    with pytest.raises(StaleVersion):
        promotions.update(db.uow(), network, made["code"], 1, {"name": "旧的"})
    with pytest.raises(ValidationFailed) as bad:
        promotions.update(db.uow(), network, made["code"], 2,
                          {"ends_on": TODAY, "name": "x"})
    assert [e.field for e in bad.value.errors] == ["ends_on"]
    cancelled = promotions.cancel(db.uow(), network, made["code"], 2)
    assert cancelled["state"] == "cancelled" and cancelled["cancelled_by"] == "admin"
    with pytest.raises(Conflict):
        promotions.update(db.uow(), network, made["code"], 3, {"name": "again"})
    with db.read() as s:
        assert promotions.get(s, made["code"], today=TODAY)["name"] == "双十二"
        assert promotion_effects.forecast_frame(s, TODAY, TODAY + timedelta(days=30)).is_empty()


def test_a_planner_of_some_sites_plans_only_there_and_sees_only_theirs(db, network):
    planner = _planner(db, "S1")
    with pytest.raises(ValidationFailed) as wide:
        _plan(db, planner)
    assert wide.value.errors[0].field == "sites"
    with pytest.raises(ValidationFailed) as other:
        _plan(db, planner, sites=["S1", "S2"])
    assert other.value.errors[0].params == {"code": "S2"}
    mine = _plan(db, planner, sites=["S1"])
    everywhere = _plan(db, network, name="全网")
    elsewhere = _plan(db, network, name="华南", sites=["S2"])
    scope = planner.sites("planning.view")
    with db.read() as s:
        items, _ = promotions.list_promotions(s, today=TODAY, scope=scope)
        assert {i["code"] for i in items} == {mine["code"], everywhere["code"]}
        with pytest.raises(NotFound):
            promotions.get(s, elsewhere["code"], today=TODAY, scope=scope)
    with pytest.raises(promotions.NotPermitted):
        promotions.update(db.uow(), planner, everywhere["code"], 1, {"name": "改"})
    with pytest.raises(NotFound):
        promotions.cancel(db.uow(), planner, elsewhere["code"], 1)
    assert promotions.cancel(db.uow(), planner, mine["code"], 1)["state"] == "cancelled"


def test_the_list_filters_by_state_site_and_sku_and_pages_by_start_date(db, network):
    for days, name, sites in ((-10, "past", []), (-1, "running", ["S1"]), (3, "soon", ["S2"]),
                              (9, "later", [])):
        _plan(db, network, name=name, sites=sites, starts_on=TODAY + timedelta(days=days),
              ends_on=TODAY + timedelta(days=days + 2), skus=["SKU-1"] if name == "soon" else [])
    with db.read() as s:
        def names(**filters):
            items, _ = promotions.list_promotions(s, today=TODAY, **filters)
            return [i["name"] for i in items]

        assert names() == ["past", "running", "soon", "later"]
        assert names(state="upcoming") == ["soon", "later"]
        assert names(state="running") == ["running"] and names(state="past") == ["past"]
        assert names(site="S1") == ["past", "running", "later"]
        assert names(sku="SKU-KG") == ["past", "running", "later"]
        assert names(q="soo") == ["soon"]
        first, cursor = promotions.list_promotions(s, today=TODAY, limit=3)
        rest, end = promotions.list_promotions(s, today=TODAY, limit=3, after=cursor)
        assert [i["name"] for i in first + rest] == names() and end is None
        with pytest.raises(ValidationFailed):
            names(state="someday")


def test_forecast_frame_lists_each_promotion_sku_and_site_that_overlaps(db, network):
    ids = _ids(db)
    _plan(db, network, skus=["SKU-1", "SKU-KG"], sites=["S1"], uplift_pct="25")
    _plan(db, network, name="全网", starts_on=TODAY + timedelta(days=40),
          ends_on=TODAY + timedelta(days=41))
    with db.read() as s:
        frame = promotion_effects.forecast_frame(s, TODAY, TODAY + timedelta(days=28))
    assert frame.schema == pl.Schema({"start": pl.Date, "end": pl.Date, "sku": pl.Int64,
                                      "site": pl.Int64, "uplift_pct": pl.Float64})
    assert sorted(frame.select("sku", "site", "uplift_pct").rows()) == sorted(
        [(ids["SKU-1"], ids["S1"], 25.0), (ids["SKU-KG"], ids["S1"], 25.0)])


def test_upcoming_gives_days_until_the_soonest_promotion_per_sku_and_site(db, network):
    ids = _ids(db)
    _plan(db, network, name="running", starts_on=TODAY - timedelta(days=1), ends_on=TODAY,
          skus=["SKU-1"], sites=["S1"], uplift_pct="30")
    _plan(db, network, name="network", starts_on=TODAY + timedelta(days=4),
          ends_on=TODAY + timedelta(days=6), uplift_pct="20")
    _plan(db, network, name="same day, bigger", starts_on=TODAY + timedelta(days=4),
          ends_on=TODAY + timedelta(days=4), sites=["S2"], uplift_pct="60")
    _plan(db, network, name="too far", starts_on=TODAY + timedelta(days=70),
          ends_on=TODAY + timedelta(days=72), skus=["SKU-LOT"], uplift_pct="99")
    pairs = pl.DataFrame({"sku": [ids["SKU-1"], ids["SKU-1"], ids["SKU-KG"], ids["SKU-LOT"]],
                          "site": [ids["S1"], ids["S2"], ids["WH"], ids["S1"]],
                          "on_hand": [1.0, 2.0, 3.0, 4.0]})
    with db.read() as s:
        got = promotion_effects.upcoming(s, TODAY, pairs)
        later = promotion_effects.upcoming(s, TODAY + timedelta(days=7), pairs)
    assert got.columns == ["sku", "site", "on_hand", "promo_starts_in_days", "promo_uplift_pct"]
    assert got["on_hand"].to_list() == [1.0, 2.0, 3.0, 4.0]
    assert got["promo_starts_in_days"].to_list() == [0.0, 4.0, 4.0, 4.0]
    assert got["promo_uplift_pct"].to_list() == [30.0, 60.0, 20.0, 20.0]
    assert later["promo_starts_in_days"].null_count() == 4
    assert later.schema["promo_uplift_pct"] == pl.Float64


def test_upcoming_answers_every_pair_of_a_large_run(db, network):
    _plan(db, network, skus=["SKU-1"], sites=["S1"])
    _plan(db, network, name="全网", starts_on=TODAY + timedelta(days=9),
          ends_on=TODAY + timedelta(days=9))
    ids = _ids(db)
    many = pl.int_range(0, 99_999, eager=True)
    pairs = pl.concat([pl.DataFrame({"sku": [ids["SKU-1"]], "site": [ids["S1"]]}),
                       pl.DataFrame({"sku": 10**6 + many % 2000, "site": 10**6 + many // 2000})])
    with db.read() as s:
        got = promotion_effects.upcoming(s, TODAY, pairs)
    assert got.height == 100_000 and got["promo_starts_in_days"].null_count() == 0
    assert got.filter(pl.col("promo_starts_in_days") == 5).rows() == [(ids["SKU-1"], ids["S1"], 5.0, 50.0)]
    assert got["promo_starts_in_days"].tail(99_999).unique().to_list() == [9.0]
