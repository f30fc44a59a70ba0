"""Alembic environment: runs migrations on the URL given by cangliu.db.migrate."""

from alembic import context

from cangliu.db import models  # noqa: F401  (registers the tables)
from cangliu.db.base import Base
from cangliu.db.engine import make_engine

config = context.config
engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
