"""What each importable entity's sheet holds: its columns with a Chinese and an English header,
their type, whether they are required, and what they mean (the notes of the template).

Headers are matched case- and space-insensitively (underscores count as spaces), in either
language, or as the template writes them: ``中文 / english`` in one cell.
"""

from dataclasses import dataclass, field

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]*$"


@dataclass(frozen=True)
class Col:
    key: str
    zh: str
    en: str
    kind: str = "text"  # text code ref int decimal money qty bool enum date email list currency
    required: bool = False
    max_len: int = 200
    low: float | None = None  # numbers: smallest allowed (for decimals > low when low_open)
    high: float | None = None
    low_open: bool = False
    choices: dict[str, str] = field(default_factory=dict)  # accepted spelling → stored value
    aliases: tuple[str, ...] = ()  # other headers accepted for the column
    note: str = ""  # an English msgid explaining the column
    example: str = ""

    @property
    def header(self) -> str:
        """As the template writes it."""
        return f"{self.zh} / {self.en}"


@dataclass(frozen=True)
class Entity:
    key: str
    label: str  # msgid
    columns: tuple[Col, ...]
    permission: str  # needed to import (create mode)
    edit_permission: str = ""  # also needed in create-or-update mode ("" : no such mode)
    unique: tuple[str, ...] = ("code",)  # the columns naming one record of the file

    @property
    def by_key(self) -> dict[str, Col]:
        return {c.key: c for c in self.columns}


def _choices(pairs: dict[str, str], **aliases: str) -> dict[str, str]:
    """value → Chinese label (as the pages say it), as accepted spellings: both point at the
    value, and so do the ``aliases`` (other Chinese spellings, given as value=alias)."""
    out = {v.lower(): v for v in pairs}
    out.update({label.lower(): v for v, label in pairs.items()})
    out.update({alias.lower(): v for v, alias in aliases.items()})
    return out


SITE_KINDS = {"central": "中央仓", "regional": "区域仓", "store": "门店", "online": "电商仓"}
CHANNELS = {"warehouse": "仓库", "store": "门店", "online": "电商", "wholesale": "批发"}
CUSTOMER_CHANNELS = {"store": "门店", "online": "电商", "wholesale": "批发"}
TRACKING = {"none": "不追踪", "lot": "批次", "serial": "序列号"}
LOCATION_KINDS = {"zone": "库区", "bin": "货位"}
VALUATION = {"moving_average": "移动加权平均", "fifo": "先进先出"}

CODE = Col("code", "编码", "code", "code", True, 40, note="Unique code; cannot be changed later",
           example="SKU-1001")
ACTIVE = Col("active", "启用", "active", "bool", note="Yes or no (default yes)", example="是")


def _name(max_len: int, example: str) -> tuple[Col, Col]:
    return (Col("name", "名称", "name", "text", True, max_len, note="Name (Chinese)", example=example),
            Col("name_en", "英文名称", "name_en", "text", False, max_len, note="Name in English",
                example=""))


def _measure(key: str, zh: str, note: str) -> Col:
    return Col(key, zh, key, "decimal", low=0, high=1e9, note=note)


def _partner(example: str) -> tuple[Col, ...]:
    return (Col("contact", "联系人", "contact", note="Contact person", example="张三"),
            Col("phone", "电话", "phone", max_len=40, note="Phone", example="021-12345678"),
            Col("email", "邮箱", "email", "email", note="E-mail", example=example),
            Col("address", "地址", "address", note="Address", example="上海市"))


def _ref(key: str, zh: str, required: bool, note: str, example: str) -> Col:
    return Col(key, zh, key, "ref", required, 64, note=note, example=example)


SKU_REF = _ref("sku", "SKU编码", True, "SKU code or one of its barcodes", "SKU-1001")
SITE_REF = _ref("site", "站点编码", True, "Site code", "WH")

ENTITIES: dict[str, Entity] = {e.key: e for e in (
    Entity("category", "Categories", (
        Col("code", "编码", "code", "code", True, 40, note="Unique code; cannot be changed later",
            example="FOOD"), *_name(100, "食品"),
        Col("parent", "上级品类", "parent", "ref", False, 64, aliases=("上级分类",),
            note="Parent category code (may be a category earlier in this file)"),
        Col("valuation", "计价方法", "valuation", "enum",
            choices=_choices(VALUATION, moving_average="移动平均"),
            note="Valuation: moving_average (移动加权平均) or fifo (先进先出)",
            example="移动加权平均"),
    ), "sku.create", "sku.edit"),
    Entity("sku", "SKUs", (
        CODE, *_name(200, "矿泉水 550ml"),
        Col("category", "品类", "category", "ref", False, 64, aliases=("分类",),
            note="Category code", example="FOOD"),
        Col("uom", "单位", "uom", max_len=20, note="Unit of measure (default pcs)", example="瓶"),
        Col("decimals", "小数位数", "decimals", "int", low=0, high=6, aliases=("小数位",),
            note="Decimal places of quantities, 0 to 6 (default 0)", example="0"),
        Col("tracking", "追踪方式", "tracking", "enum", aliases=("跟踪方式",),
            choices=_choices(TRACKING, none="不跟踪"),
            note="none (不追踪), lot (批次) or serial (序列号)", example="不追踪"),
        Col("shelf_life_days", "保质期（天）", "shelf_life_days", "int", low=1, high=36500,
            note="Shelf life in days (empty: none)", example="365"),
        Col("warranty_days", "保修期（天）", "warranty_days", "int", low=0, high=3650,
            note="Warranty in days from shipment, 0: none (default 365)", example="0"),
        _measure("weight_kg", "重量（千克）", "Weight in kg"),
        _measure("volume_l", "体积（升）", "Volume in litres"),
        Col("pack_size", "每包件数", "pack_size", "decimal", low=0, high=1e6, low_open=True,
            note="Units per pack (default 1)", example="24"),
        *(Col(k, zh, k, "bool", note="Yes or no (default no)", example="否")
          for k, zh in (("fragile", "易碎"), ("high_value", "高价值"), ("bonded", "保税"),
                        ("perishable", "易腐"))),
        ACTIVE,
        Col("barcodes", "条码", "barcodes", "list", max_len=64,
            note="Barcodes, separated by commas", example="6900000000017"),
    ), "sku.create", "sku.edit"),
    Entity("site", "Sites", (
        Col("code", "编码", "code", "code", True, 40, note="Unique code; cannot be changed later",
            example="WH"), *_name(100, "中央仓"),
        Col("site_kind", "站点类型", "site_kind", "enum", True,
            choices=_choices(SITE_KINDS, online="线上仓"),
            note="central (中央仓), regional (区域仓), store (门店) or online (电商仓)",
            example="中央仓"),
        Col("region", "区域", "region", max_len=40, note="Region", example="华东"),
        Col("channel", "渠道", "channel", "enum", choices=_choices(CHANNELS, online="线上"),
            note="warehouse (仓库), store (门店), online (电商) or wholesale (批发)",
            example="仓库"),
        Col("address", "地址", "address", note="Address", example="上海市"),
        Col("latitude", "纬度", "latitude", "decimal", low=-90, high=90, note="Latitude"),
        Col("longitude", "经度", "longitude", "decimal", low=-180, high=180, note="Longitude"),
        Col("allow_negative", "允许负库存", "allow_negative", "bool",
            note="Yes or no (default no)", example="否"),
        ACTIVE,
    ), "site.create", "site.edit"),
    Entity("location", "Zones and bins", (
        Col("code", "编码", "code", "code", True, 40, note="Unique code; cannot be changed later",
            example="WH-A1"), *_name(100, "A区1号"),
        Col("kind", "类型", "kind", "enum", True, choices=_choices(LOCATION_KINDS, bin="库位"),
            note="zone (库区) or bin (货位)", example="货位"),
        _ref("parent", "上级", True, "Site or zone code (may be a zone earlier in this file)",
             "WH"),
        _measure("capacity_volume_l", "容量（升）", "Capacity in litres"),
        _measure("capacity_weight_kg", "承重（千克）", "Capacity in kg"),
        ACTIVE,
    ), "site.create", "site.edit"),
    Entity("supplier", "Suppliers", (
        Col("code", "编码", "code", "code", True, 40, note="Unique code; cannot be changed later",
            example="SUP-01"), Col("name", "名称", "name", "text", True, 200, note="Name",
                                   example="华东饮料有限公司"),
        *_partner("sales@example.com"),
        Col("lead_time_days", "交货期（天）", "lead_time_days", "int", low=0, high=365,
            note="Lead time in days (default 7)", example="7"),
        ACTIVE,
    ), "supplier.create", "supplier.edit"),
    Entity("customer", "Customers", (
        Col("code", "编码", "code", "code", True, 40, note="Unique code; cannot be changed later",
            example="CUS-01"), Col("name", "名称", "name", "text", True, 200, note="Name",
                                   example="便利店连锁"),
        Col("channel", "渠道", "channel", "enum",
            choices=_choices(CUSTOMER_CHANNELS, online="线上"),
            note="store (门店), online (电商) or wholesale (批发)", example="门店"),
        *_partner("buyer@example.com"), ACTIVE,
    ), "customer.create", "customer.edit"),
    Entity("opening_stock", "Opening stock", (
        SITE_REF, Col("bin", "货位", "bin", "ref", False, 64, aliases=("库位",),
                      note="Zone or bin of the site (empty: the site)"),
        SKU_REF,
        Col("qty", "数量", "qty", "qty", True, note="Quantity on hand, within the SKU's decimals",
            example="120"),
        Col("lot", "批次", "lot", max_len=64, note="Lot (required for lot-tracked SKUs)"),
        Col("expiry_date", "有效期至", "expiry_date", "date",
            note="Expiry date of the lot (YYYY-MM-DD)"),
        Col("unit_cost", "单位成本", "unit_cost", "money", note="Unit cost (empty: current average)",
            example="1.5"),
    ), "stock.create", unique=("site", "bin", "sku", "lot")),
    Entity("supplier_price", "Supplier prices", (
        _ref("supplier", "供应商编码", True, "Supplier code", "SUP-01"), SKU_REF,
        Col("price", "采购价", "price", "money", True, note="Purchase price", example="1.2"),
        Col("currency", "币种", "currency", "currency", note="Currency, 3 letters (default CNY)",
            example="CNY"),
        Col("min_order_qty", "最小订货量", "min_order_qty", "money", note="Minimum order quantity",
            example="24"),
        Col("lead_time_days", "交货期（天）", "lead_time_days", "int", low=0, high=365,
            note="Lead time in days (empty: the supplier's)"),
    ), "supplier.edit", unique=("supplier", "sku")),
    Entity("customer_price", "Customer prices", (
        _ref("customer", "客户编码", True, "Customer code", "CUS-01"), SKU_REF,
        Col("price", "销售价", "price", "money", True, note="Sale price", example="2.5"),
    ), "customer.edit", unique=("customer", "sku")),
    Entity("demand", "Demand history", (
        Col("date", "日期", "date", "date", True, note="Day (YYYY-MM-DD)", example="2026-11-01"),
        SITE_REF, SKU_REF,
        Col("qty", "需求量", "qty", "money", True, note="Quantity demanded that day",
            example="12"),
        Col("stockout", "缺货", "stockout", "bool", note="Yes if the site was out of stock that day",
            example="否"),
        Col("lost_qty", "缺货损失量", "lost_qty", "money", note="Demand lost to the stock-out"),
    ), "planning.edit", unique=("date", "site", "sku")),
)}

MASTER_DATA = frozenset({"category", "sku", "site", "location", "supplier", "customer"})
YES = frozenset({"yes", "y", "true", "1", "是", "t", "对", "√"})
NO = frozenset({"no", "n", "false", "0", "否", "f", "不", "×"})
