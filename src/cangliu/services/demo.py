"""The demo network: sites, bins, ~300 SKUs and 120 days of history, all posted through the ledger."""

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from cangliu.core.permissions import Actor
from cangliu.core.tracking import gs1_check_digit
from cangliu.db.models import Setting
from cangliu.db.uow import Database
from cangliu.services import masterdata, stock
from cangliu.services.demo_documents import load_documents
from cangliu.services.postings import Meta
from cangliu.services.stock import Line

# (code, zh, en, tracking, shelf life days, decimals/uom)
CATEGORIES = [
    ("DRINK", "饮料", "Drinks", "none", None, "pcs"), ("SNACK", "零食", "Snacks", "none", None, "pcs"),
    ("DAIRY", "乳制品", "Dairy", "lot", 21, "pcs"), ("FRESH", "生鲜", "Fresh food", "lot", 7, "kg"),
    ("HOME", "日化", "Household", "none", None, "pcs"), ("APPL", "家电", "Appliances", "serial", None, "pcs"),
    ("DIGI", "数码", "Electronics", "serial", None, "pcs"), ("AUTO", "汽配", "Auto parts", "none", None, "pcs"),
]
# Purchase cost per unit by category, so the history carries inventory value and COGS.
UNIT_COSTS = {"DRINK": "2.5", "SNACK": "6", "DAIRY": "5", "FRESH": "12", "HOME": "15",
              "APPL": "180", "DIGI": "90", "AUTO": "40"}
PRODUCTS = {
    "DRINK": ["矿泉水", "绿茶", "橙汁", "可乐", "咖啡"], "SNACK": ["薯片", "饼干", "坚果", "巧克力", "牛肉干"],
    "DAIRY": ["纯牛奶", "酸奶", "奶酪", "黄油"], "FRESH": ["苹果", "香蕉", "猪肉", "鸡蛋"],
    "HOME": ["洗衣液", "牙膏", "纸巾", "洗发水"], "APPL": ["电饭煲", "电水壶", "吹风机"],
    "DIGI": ["蓝牙耳机", "充电宝", "数据线"], "AUTO": ["机油滤芯", "雨刮器", "刹车片"],
}
EN = {"矿泉水": "Mineral water", "绿茶": "Green tea", "橙汁": "Orange juice", "可乐": "Cola",
      "咖啡": "Coffee", "薯片": "Potato chips", "饼干": "Biscuits", "坚果": "Nuts",
      "巧克力": "Chocolate", "牛肉干": "Beef jerky", "纯牛奶": "Milk", "酸奶": "Yogurt",
      "奶酪": "Cheese", "黄油": "Butter", "苹果": "Apples", "香蕉": "Bananas", "猪肉": "Pork",
      "鸡蛋": "Eggs", "洗衣液": "Laundry liquid", "牙膏": "Toothpaste", "纸巾": "Tissues",
      "洗发水": "Shampoo", "电饭煲": "Rice cooker", "电水壶": "Kettle", "吹风机": "Hair dryer",
      "蓝牙耳机": "Bluetooth earphones", "充电宝": "Power bank", "数据线": "USB cable",
      "机油滤芯": "Oil filter", "雨刮器": "Wiper blade", "刹车片": "Brake pads"}
# (code, zh, en, kind, region, channel)
SITES = [
    ("WH-CENTRAL", "中央仓", "Central warehouse", "central", "华东", "warehouse"),
    ("WH-EAST", "华东区域仓", "East regional warehouse", "regional", "华东", "warehouse"),
    ("WH-SOUTH", "华南区域仓", "South regional warehouse", "regional", "华南", "warehouse"),
    ("ST-SH01", "上海南京路店", "Shanghai Nanjing Rd", "store", "华东", "store"),
    ("ST-SH02", "上海徐汇店", "Shanghai Xuhui", "store", "华东", "store"),
    ("ST-HZ01", "杭州西湖店", "Hangzhou West Lake", "store", "华东", "store"),
    ("ST-NJ01", "南京新街口店", "Nanjing Xinjiekou", "store", "华东", "store"),
    ("ST-GZ01", "广州天河店", "Guangzhou Tianhe", "store", "华南", "store"),
    ("ST-GZ02", "广州越秀店", "Guangzhou Yuexiu", "store", "华南", "store"),
    ("ST-SZ01", "深圳福田店", "Shenzhen Futian", "store", "华南", "store"),
    ("ST-XM01", "厦门中山路店", "Xiamen Zhongshan Rd", "store", "华南", "store"),
    ("FC-ONLINE", "电商履约中心", "Online fulfilment centre", "online", "华东", "online"),
]
DAYS = 120
SKU_COUNT = 300
PROMO_DAYS = range(95, 102)  # a week-long promotion on drinks and snacks


@dataclass
class Demo:
    db: Database
    actor: Actor
    rng: random.Random
    start: datetime
    progress: Callable[[str, int, int], None]


def is_loaded(db: Database) -> bool:
    with db.uow() as uow:
        return uow.session.get(Setting, "demo_loaded") is not None


def load(db: Database, actor: Actor, *, now: datetime, seed: int = 42,
         progress: Callable[[str, int, int], None] = lambda *_: None) -> dict[str, int]:
    """Create the demo network and post its history; returns counts for the CLI to print."""
    start = datetime.combine((now - timedelta(days=DAYS)).date(), time(8), tzinfo=UTC)
    demo = Demo(db, actor, random.Random(seed), start, progress)
    skus = _master_data(demo)
    moves = _history(demo, skus)
    documents = load_documents(db, actor)
    with db.uow() as uow:
        uow.session.add(Setting(key="demo_loaded", value=now.isoformat()))
        uow.commit()
    return {"sites": len(SITES), "skus": len(skus), "postings": moves, "documents": documents}


def _create(demo: Demo, kind: str, fields: dict[str, object]) -> None:
    masterdata.create(demo.db.uow(), demo.actor, kind, fields)


@dataclass(frozen=True)
class DemoSku:
    code: str
    category: str
    tracking: str
    decimals: int
    base_demand: float  # mean daily units at one store
    unit_cost: Decimal = Decimal(0)


def _master_data(demo: Demo) -> list[DemoSku]:
    for code, zh, en, *_ in CATEGORIES:
        _create(demo, "category", {"code": code, "name": zh, "name_en": en})
    for code, zh, en, kind, region, channel in SITES:
        _create(demo, "site", {"code": code, "name": zh, "name_en": en, "site_kind": kind,
                               "region": region, "channel": channel, "address": f"{region} · {zh}"})
        zones = ("A", "B") if kind in ("central", "regional", "online") else ()
        for zone in zones:
            _create(demo, "location", {"code": f"{code}-{zone}", "name": f"{zone}区",
                                       "name_en": f"Zone {zone}", "kind": "zone", "parent": code})
            for n in range(1, 4):
                _create(demo, "location", {"code": f"{code}-{zone}{n:02d}",
                                           "name": f"{zone}区{n:02d}号货位",
                                           "name_en": f"Bin {zone}{n:02d}", "kind": "bin",
                                           "parent": f"{code}-{zone}",
                                           "capacity_volume_l": "20000", "capacity_weight_kg": "8000"})
    for i in range(1, 6):
        _create(demo, "supplier", {"code": f"SUP-{i:02d}", "name": f"供应商{i:02d}有限公司",
                                   "contact": f"联系人{i}", "lead_time_days": 3 + i})
    for i in range(1, 11):
        _create(demo, "customer", {"code": f"CUS-{i:03d}", "name": f"客户{i:03d}",
                                   "channel": ("store", "online", "wholesale")[i % 3]})
    skus = []
    for n in range(1, SKU_COUNT + 1):
        cat, zh, en, tracking, shelf_life, uom = CATEGORIES[n % len(CATEGORIES)]
        product = demo.rng.choice(PRODUCTS[cat])
        code = f"SKU-{n:04d}"
        decimals = 3 if uom == "kg" else 0
        ean = f"690{n:09d}"
        _create(demo, "sku", {
            "code": code, "name": f"{product} {n:03d}", "name_en": f"{EN[product]} {n:03d}",
            "category": cat, "uom": uom, "decimals": decimals, "tracking": tracking,
            "shelf_life_days": shelf_life, "weight_kg": str(round(demo.rng.uniform(0.1, 5), 2)),
            "volume_l": str(round(demo.rng.uniform(0.2, 20), 1)), "barcodes": [ean + gs1_check_digit(ean)],
            "fragile": cat in ("DIGI", "APPL"), "high_value": cat in ("DIGI", "APPL"),
            "perishable": cat in ("DAIRY", "FRESH"), "bonded": False})
        base = demo.rng.choice((0.2, 0.5, 1.0, 2.0, 4.0)) * (0.3 if tracking == "serial" else 1)
        cost = Decimal(UNIT_COSTS[cat]) * (1 + Decimal(n % 5) / 10)  # no draw: the rest stays
        skus.append(DemoSku(code, cat, tracking, decimals, base, cost))
    return skus


def _meta(demo: Demo, day: int, reason: str, hour: int = 0) -> Meta:
    return Meta(actor=demo.actor, reason=reason,
                occurred_at=demo.start + timedelta(days=day, hours=hour))


def _qty(value: float, decimals: int) -> Decimal:
    return Decimal(str(round(value, decimals))) if decimals else Decimal(int(value))


def _history(demo: Demo, skus: list[DemoSku]) -> int:
    """Weekly supply chain central → regional → stores, daily sales, a promotion spike."""
    stores = {code: region for code, _, _, kind, region, _ in SITES if kind in ("store", "online")}
    regional = {"华东": "WH-EAST", "华南": "WH-SOUTH"}
    assortment = {s: [k for k in skus if demo.rng.random() < 0.3] for s in stores}
    shadow: dict[tuple[str, str], Decimal] = {}
    postings = 0
    for day in range(DAYS):
        demo.progress("history", day, DAYS)
        if day % 7 == 0:
            postings += _replenish(demo, day, skus, stores, regional, assortment, shadow)
        weekday = (demo.start + timedelta(days=day)).weekday()
        season = 1.5 if weekday >= 5 else 1.0
        for site, carried in assortment.items():
            lines = []
            for k in carried:
                promo = 3.0 if day in PROMO_DAYS and k.category in ("DRINK", "SNACK") else 1.0
                want = _qty(demo.rng.expovariate(1 / (k.base_demand * season * promo)), k.decimals)
                have = shadow.get((site, k.code), Decimal(0))
                sold = min(want, have)
                if sold > 0:
                    shadow[(site, k.code)] = have - sold
                    lines.append(Line(k.code, sold))
            if lines:
                stock.issue(demo.db.uow(), _meta(demo, day, "门店销售 / store sales", 20), site=site,
                            lines=lines)
                postings += 1
    demo.progress("history", DAYS, DAYS)
    return postings


def _lot(k: DemoSku, day: int) -> str | None:
    return f"L{day:03d}" if k.tracking == "lot" else None


def _replenish(demo: Demo, day: int, skus: list[DemoSku], stores: dict[str, str],
               regional: dict[str, str], assortment: dict[str, list[DemoSku]],
               shadow: dict[tuple[str, str], Decimal]) -> int:
    """Receive at the central warehouse, push to regions, top up stores to two weeks of demand."""
    posted = 0
    store_need: dict[str, list[tuple[DemoSku, Decimal]]] = {}
    region_need: dict[str, dict[str, Decimal]] = {r: {} for r in regional.values()}
    for site, carried in assortment.items():
        need = []
        for k in carried:
            weekly = k.base_demand * 7 * (2.5 if day + 7 in PROMO_DAYS else 1)
            have = shadow.get((site, k.code), Decimal(0))
            if have > _qty(weekly, k.decimals):
                continue  # above the reorder point: no delivery this week
            gap = _qty(weekly * 2 + 2, k.decimals) - have
            if gap > 0:
                need.append((k, gap))
                src = regional[stores[site]]
                region_need[src][k.code] = region_need[src].get(k.code, Decimal(0)) + gap
        store_need[site] = need
    receipt = [Line(k.code, _qty(float(sum(n.get(k.code, Decimal(0)) for n in region_need.values())) * 1.1 + 5,
                                 k.decimals), bin="WH-CENTRAL-A01", lot=_lot(k, day),
                    unit_cost=k.unit_cost)
               for k in skus]
    stock.receive(demo.db.uow(), _meta(demo, day, "采购入库 / purchase receipt", 1),
                  site="WH-CENTRAL", lines=receipt)
    posted += 1
    by_code = {k.code: k for k in skus}
    for wh, wanted in region_need.items():
        lines = [Line(code, qty, lot=_lot(by_code[code], day)) for code, qty in wanted.items() if qty > 0]
        if lines:
            stock.move(demo.db.uow(), _meta(demo, day, "区域补货 / regional replenishment", 3),
                       from_site="WH-CENTRAL", to_site=wh, lines=lines)
            posted += 1
    for site, need in store_need.items():
        lines = [Line(k.code, gap, lot=_lot(k, day)) for k, gap in need]
        if lines:
            stock.move(demo.db.uow(), _meta(demo, day, "门店补货 / store replenishment", 6),
                       from_site=regional[stores[site]], to_site=site, lines=lines)
            posted += 1
            for k, gap in need:
                shadow[(site, k.code)] = shadow.get((site, k.code), Decimal(0)) + gap
    return posted
