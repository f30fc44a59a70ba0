"""The demo's people: one user per built-in role, each with a site scope that shows a different slice."""

from dataclasses import dataclass

from sqlalchemy import select

from cangliu.core.permissions import Actor
from cangliu.db.models import AppUser
from cangliu.db.uow import Database
from cangliu.services import auth, roles


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    role: str
    scope: str = "all"
    region: str = ""
    sites: tuple[str, ...] = ()

    @property
    def scope_label(self) -> str:
        return {"all": "all sites / 全部", "region": self.region}.get(self.scope, " ".join(self.sites))


DEMO_USERS = (
    DemoUser("purchaser", "采购 王芳", "purchaser"),
    DemoUser("buyer_lead", "采购经理 吴昊", "purchasing_manager"),
    DemoUser("clerk", "仓库 李强", "clerk", "sites", sites=("WH-CENTRAL", "WH-EAST")),
    DemoUser("sales", "销售 张伟", "sales", "region", region="华东"),
    DemoUser("finance", "财务 刘洋", "finance"),
    DemoUser("store", "店长 陈静", "store_manager", "sites", sites=("ST-SH01",)),
    DemoUser("regional", "区域经理 赵磊", "regional_manager", "region", region="华南"),
    DemoUser("regional_east", "区域经理 孙丽", "regional_manager", "region", region="华东"),
    DemoUser("director", "库存总监 周敏", "inventory_director"),
)


def create(db: Database, admin: Actor, password: str) -> tuple[DemoUser, ...]:
    """Create the demo users (all with ``password``) and their role assignments; skip existing."""
    with db.uow() as uow:
        existing = set(uow.session.scalars(select(AppUser.username)))
    for user in DEMO_USERS:
        if user.username in existing:
            continue
        auth.create_user(db.uow(), username=user.username, password=password,
                         display_name=user.display_name)
        roles.set_assignments(db.uow(), admin, user.username, [
            {"role": user.role, "scope": user.scope, "region": user.region, "sites": list(user.sites)}])
    return DEMO_USERS
