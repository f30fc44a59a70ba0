"""Fixtures: a fresh migrated database per test, on SQLite and (when configured) PostgreSQL.

Service tests take the ``db`` fixture, which runs each test once per backend. PostgreSQL is used
when ``CANGLIU_TEST_PG_URL`` points at a server; every test run creates its own database there
and drops it at the end. Under ``CI=true`` a missing PostgreSQL is an error, not a skip.
"""

import os
import shutil
import uuid
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, text

from cangliu.core.permissions import Actor
from cangliu.db.engine import normalize_url
from cangliu.db.migrate import upgrade
from cangliu.db.uow import Database
from cangliu.services import auth, masterdata
from cangliu.services.postings import Meta

# Apps under test run no background jobs of their own; tests run jobs with a clock they control.
os.environ["CANGLIU_SCHEDULER"] = "off"
# Tests make requests far faster than people: the rate-limit tests turn the limiter on themselves.
os.environ["CANGLIU_RATE_LIMIT_ENABLED"] = "false"

# Tests create many users: cheap argon2 parameters keep that fast (production keeps the defaults).
auth._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

PG_URL = os.environ.get("CANGLIU_TEST_PG_URL")
IN_CI = os.environ.get("CI") == "true"
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]
PASSWORD = "correct-horse-battery"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long tests first, so that the parallel workers do not end waiting on one of them."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_configure(config: pytest.Config) -> None:
    if IN_CI and not PG_URL:
        raise pytest.UsageError("CI=true requires CANGLIU_TEST_PG_URL (PostgreSQL tests must run)")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return str(path)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A database of our own on the test server, migrated once, dropped after the run."""
    assert PG_URL
    name = f"cangliu_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalize_url(PG_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        # Commits return before their WAL reaches the disk: visibility, locking and isolation are
        # unchanged, only a crash of the server itself could lose the last commits of this
        # throwaway database (the restart test runs on a cluster of its own).
        conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    url = normalize_url(PG_URL).rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _empty_pg(url: str) -> None:
    """Empty every table a test wrote to and restart every sequence, keeping the virtual
    locations. DELETE, not TRUNCATE: a test leaves few rows, and TRUNCATE's new files per table
    cost several times more (0.2 s against 0.03 s per test here); autovacuum clears the rest."""
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = [r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename NOT IN ('location', 'alembic_version')"))]
        used = [r[0] for r in conn.execute(text(" UNION ALL ".join(
            f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM \"{t}\")" for t in tables)))]
        if used:
            # The audit log refuses deletes by trigger, and foreign keys are triggers too: a
            # superuser may skip triggers for this, so the order of the tables does not matter.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            for table in used:
                conn.execute(text(f'DELETE FROM "{table}"'))
            conn.execute(text("SET LOCAL session_replication_role = DEFAULT"))
        conn.execute(text("SELECT setval(c.oid, 1, false) FROM pg_class c WHERE c.relkind = 'S' "
                          "AND c.relname <> 'location_id_seq'"))
        conn.execute(text("DELETE FROM location WHERE code NOT LIKE '@%' OR route_from_id IS NOT NULL"))
    engine.dispose()


def fresh_url(backend: str, request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """An empty, migrated database: a copy of the SQLite template, or the emptied PG test database."""
    if backend == "sqlite":
        path = tmp_path / "cangliu.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_url")
    _empty_pg(url)
    return url


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path) -> Iterator[Database]:  # type: ignore[no-untyped-def]
    database = Database(fresh_url(request.param, request, tmp_path))
    yield database
    database.dispose()


@pytest.fixture
def admin(db: Database) -> Actor:
    return auth.create_user(db.uow(), username="admin", password=PASSWORD, is_admin=True)


def seed_network(db: Database, actor: Actor) -> None:
    """A small network: a central warehouse with a bin, two stores (one allowing negative stock)."""
    create = masterdata.create
    create(db.uow(), actor, "category", {"code": "FOOD", "name": "食品"})
    create(db.uow(), actor, "site", {"code": "WH", "name": "中央仓", "site_kind": "central",
                                      "region": "华东", "channel": "warehouse"})
    create(db.uow(), actor, "location", {"code": "WH-A1", "name": "A1", "kind": "bin",
                                          "parent": "WH"})
    create(db.uow(), actor, "site", {"code": "S1", "name": "门店一", "site_kind": "store",
                                      "region": "华东", "channel": "store"})
    create(db.uow(), actor, "site", {"code": "S2", "name": "门店二", "site_kind": "store",
                                      "region": "华南", "channel": "store",
                                      "allow_negative": True})
    create(db.uow(), actor, "sku", {"code": "SKU-1", "name": "矿泉水", "category": "FOOD",
                                     "barcodes": ["6900000000017"]})
    create(db.uow(), actor, "sku", {"code": "SKU-KG", "name": "大米", "uom": "kg", "decimals": 3})
    create(db.uow(), actor, "sku", {"code": "SKU-LOT", "name": "牛奶", "tracking": "lot",
                                     "shelf_life_days": 14, "perishable": True})


@pytest.fixture
def network(db: Database, admin: Actor) -> Actor:
    seed_network(db, admin)
    return admin


@pytest.fixture
def meta(network: Actor) -> Meta:
    return Meta(actor=network, reason="test")
