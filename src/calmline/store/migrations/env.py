"""Alembic's entry point for calmline's packaged migrations.

calmline runs this through :func:`calmline.store.db.migrate`, which passes an open connection
in ``config.attributes["connection"]``; a configuration with only ``sqlalchemy.url`` (as
:func:`calmline.store.db.alembic_config` builds for ``alembic.command``) works too.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from calmline.errors import StoreError
from calmline.store.db import make_engine
from calmline.store.models import Base

config = context.config


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite can roll DDL back too, since calmline issues its own BEGIN (see db.py).
        transactional_ddl=True,
        # SQLite cannot ALTER most things: rebuild the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise StoreError("migrations: no connection and no sqlalchemy.url to connect to")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise StoreError("calmline's migrations run against a database, not as an SQL script")
run_online()
