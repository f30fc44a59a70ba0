"""Who is acting and what they may do: permissions per action and resource, site scopes, field rules.

A permission is ``"<resource>.<action>"``, e.g. ``"transfer.post"``. A user holds roles through
assignments; each assignment grants its role's permissions within a site scope (all sites, a
region or listed sites). Field rules name groups of fields a role may not see or may not set.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

ACTIONS: Final = ("view", "create", "edit", "post", "approve", "cancel", "export")
_DOCUMENT = ACTIONS
_MASTER = ("view", "create", "edit", "cancel", "export")

# Resource → the actions that mean something for it. Document resources carry a site and are
# scoped; master data other than sites is shared by the whole network.
RESOURCES: Final[Mapping[str, tuple[str, ...]]] = {
    "purchase": _DOCUMENT,
    "sales": _DOCUMENT,
    "transfer": _DOCUMENT,
    "count": _DOCUMENT,
    "scrap": _DOCUMENT,
    "stock": ("view", "create", "export"),
    "planning": ("view", "edit"),  # stock thresholds and their overrides, planning runs
    "serial": ("view", "create", "edit", "export"),  # serial rules, batches, scans, timelines
    "sku": _MASTER,
    "site": _MASTER,
    "supplier": _MASTER,
    "customer": _MASTER,
    "finance": ("view", "create", "post", "export"),
    "report": ("view", "export"),
    "settings": ("view", "edit"),
    "user": ("view", "create", "edit"),
    "audit": ("view", "export"),
    "alert": ("view", "edit"),  # see alerts in scope; edit: acknowledge and resolve them
}
ALL_PERMISSIONS: Final = frozenset(f"{r}.{a}" for r, actions in RESOURCES.items() for a in actions)

# Field groups: the response keys and input fields each group covers.
FIELD_GROUPS: Final[Mapping[str, frozenset[str]]] = {
    "cost": frozenset({"unit_cost", "cost", "avg_cost", "cost_source", "base_cost", "landed_cost"}),
    "valuation": frozenset({"value", "values", "inventory_value", "stock_value", "cogs",
                            "by_category", "by_site", "total_value"}),
    "margin": frozenset({"margin", "margin_pct", "gross_profit"}),
    "price": frozenset({"unit_price", "price", "amount", "total", "line_total"}),
}
FIELD_RULES = ("hidden", "readonly")


def _grant(spec: Mapping[str, str]) -> frozenset[str]:
    """``{"purchase": "view create", "sku": "*"}`` → the permission strings."""
    out = set()
    for resource, actions in spec.items():
        wanted = RESOURCES[resource] if actions == "*" else tuple(actions.split())
        for action in wanted:
            if action not in RESOURCES[resource]:
                raise ValueError(f"{resource} has no action {action}")
            out.add(f"{resource}.{action}")
    return frozenset(out)


_MASTER_VIEW = {"sku": "view", "site": "view"}


@dataclass(frozen=True)
class BuiltinRole:
    code: str
    name: str  # Chinese, the default language
    name_en: str
    permissions: frozenset[str]
    hidden: frozenset[str] = frozenset()
    readonly: frozenset[str] = frozenset()


BUILTIN_ROLES: Final[tuple[BuiltinRole, ...]] = (
    BuiltinRole("admin", "管理员", "Administrator", ALL_PERMISSIONS),
    BuiltinRole("purchaser", "采购员", "Purchaser", _grant({
        "purchase": "view create edit cancel export", "supplier": "view create edit export",
        "stock": "view", "planning": "view", "report": "view", "serial": "view", "alert": "view",
        **_MASTER_VIEW})),
    BuiltinRole("purchasing_manager", "采购经理", "Purchasing manager", _grant({
        "purchase": "view create edit approve cancel export", "supplier": "view create edit export",
        "stock": "view export", "planning": "*", "report": "*", "serial": "view", "alert": "*",
        **_MASTER_VIEW})),
    BuiltinRole("clerk", "仓库员", "Warehouse clerk", _grant({
        "purchase": "view post", "sales": "view post", "transfer": "view create edit post",
        "count": "view create edit post", "scrap": "view create post", "stock": "view create",
        "serial": "view create", "alert": "view edit", **_MASTER_VIEW}),
        hidden=frozenset({"cost", "valuation", "margin"}), readonly=frozenset({"price"})),
    BuiltinRole("sales", "销售员", "Salesperson", _grant({
        "sales": "view create edit cancel export", "customer": "view create edit export",
        "stock": "view", "serial": "view", "alert": "view", **_MASTER_VIEW}),
        hidden=frozenset({"cost", "valuation", "margin"})),
    BuiltinRole("finance", "财务", "Finance", _grant({
        "finance": "*", "report": "*", "purchase": "view export", "sales": "view export",
        "scrap": "view approve export", "supplier": "view", "customer": "view",
        "stock": "view export", "alert": "view", **_MASTER_VIEW})),
    BuiltinRole("store_manager", "门店经理", "Store manager", _grant({
        "sales": "view create edit post approve cancel", "transfer": "view create edit post approve cancel",
        "count": "view create edit post approve", "scrap": "view create approve",
        "purchase": "view", "stock": "view create", "planning": "view", "customer": "view",
        "report": "view", "serial": "view", "alert": "*", **_MASTER_VIEW})),
    BuiltinRole("regional_manager", "区域经理", "Regional manager", _grant({
        "purchase": "view approve export", "sales": "view approve export",
        "transfer": "view create edit approve cancel export", "count": "view approve export",
        "scrap": "view approve export", "stock": "view export", "planning": "*", "report": "*",
        "supplier": "view", "customer": "view", "alert": "*", **_MASTER_VIEW})),
    BuiltinRole("inventory_director", "库存总监", "Inventory director", _grant({
        "purchase": "view approve cancel export", "sales": "view approve cancel export",
        "transfer": "view create edit approve cancel export", "count": "view approve cancel export",
        "scrap": "view approve cancel export", "stock": "*", "planning": "*", "report": "*",
        "settings": "view", "serial": "view export", "alert": "*",
        "supplier": "view export", "customer": "view export", "sku": "view export",
        "site": "view export"})),
)
BUILTIN: Final = {r.code: r for r in BUILTIN_ROLES}


def check_permissions(names: Iterable[str]) -> frozenset[str]:
    """The known permissions among ``names``; raises ValueError naming the first unknown one."""
    out = frozenset(names)
    unknown = sorted(out - ALL_PERMISSIONS)
    if unknown:
        raise ValueError(unknown[0])
    return out


@dataclass(frozen=True)
class Grant:
    """One role assignment: its permissions, within ``sites`` (None: every site)."""

    permissions: frozenset[str]
    sites: frozenset[int] | None = None


@dataclass(frozen=True)
class Actor:
    user_id: int
    username: str
    is_admin: bool = False
    device: str = ""
    grants: tuple[Grant, ...] = ()
    # Field groups hidden from / read-only for this user (a group shown by any role is shown).
    hidden: frozenset[str] = field(default_factory=frozenset)
    readonly: frozenset[str] = field(default_factory=frozenset)
    two_step: bool = False  # logs in with a one-time code after the password

    def can(self, permission: str, site_id: int | None = None) -> bool:
        """Holds ``permission`` at ``site_id`` (or, without a site, anywhere)."""
        if self.is_admin:
            return True
        return any(permission in g.permissions
                   and (site_id is None or g.sites is None or site_id in g.sites)
                   for g in self.grants)

    def sites(self, permission: str) -> frozenset[int] | None:
        """The sites where ``permission`` is held: None means every site, empty means none."""
        if self.is_admin:
            return None
        out: set[int] = set()
        for g in self.grants:
            if permission in g.permissions:
                if g.sites is None:
                    return None
                out |= g.sites
        return frozenset(out)

    def sees(self, permission: str, site_ids: Iterable[int]) -> bool:
        """Holds ``permission`` at one of ``site_ids`` at least (a transfer is seen at either end)."""
        scope = self.sites(permission)
        return scope is None or not scope.isdisjoint(site_ids)

    @property
    def hidden_keys(self) -> frozenset[str]:
        """The response keys this user may not see."""
        return frozenset().union(*(FIELD_GROUPS[g] for g in self.hidden))

    @property
    def fixed_keys(self) -> frozenset[str]:
        """The input fields this user may not set (hidden or read-only)."""
        return frozenset().union(*(FIELD_GROUPS[g] for g in self.hidden | self.readonly))

    def shows(self, group: str) -> bool:
        return group not in self.hidden

    def redact(self, data: Any) -> Any:
        """``data`` without the keys this user may not see, at any depth."""
        return redact(data, self.hidden_keys) if self.hidden else data


def redact(data: Any, keys: frozenset[str]) -> Any:
    if isinstance(data, dict):
        return {k: redact(v, keys) for k, v in data.items() if k not in keys}
    if isinstance(data, list):
        return [redact(v, keys) for v in data]
    return data


def keys_of(data: Any) -> set[str]:
    """Every key of every object in a parsed JSON document."""
    if isinstance(data, dict):
        return set(data).union(*(keys_of(v) for v in data.values()))
    if isinstance(data, list):
        return set().union(*(keys_of(v) for v in data))
    return set()
