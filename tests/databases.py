"""Database fixtures for every test that stores something: one fresh database per test, on SQLite
and on the PostgreSQL server at 127.0.0.1:5432.

``database_url`` is parametrised over both backends, so a test that takes it (or
``migrated_engine`` / ``sessions``) runs twice. The PostgreSQL run creates a database
``calmline_test_<random>`` from the maintenance database and drops it afterwards. When the
server cannot be reached those runs are skipped with the connection error as the reason, unless
the environment variable ``CI`` is set: then they fail, because CI must run them.

``CALMLINE_TEST_POSTGRES_URL`` points at another server (default
``postgresql://postgres@127.0.0.1:5432/postgres``: trust authentication, user postgres).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from calmline.store.db import database_url as parse_url
from calmline.store.db import make_engine, make_session_factory, migrate

MAINTENANCE_URL = os.environ.get(
    "CALMLINE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", "postgresql"]


def _admin_engine() -> sa.Engine:
    return sa.create_engine(
        parse_url(MAINTENANCE_URL),
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": 3},
    )


@cache
def postgres_unreachable() -> str | None:
    """Why the test server cannot be used (None when it can); asked once per test run."""
    engine = _admin_engine()
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()
        return reason[0] if reason else type(exc).__name__
    finally:
        engine.dispose()
    return None


def require_postgres() -> None:
    """Skip (or, under CI, fail) the current test when the PostgreSQL server is unreachable."""
    reason = postgres_unreachable()
    if reason is None:
        return
    message = f"PostgreSQL at {MAINTENANCE_URL} is unreachable: {reason}"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set, so the PostgreSQL tests must run)")
    pytest.skip(message)


@pytest.fixture
def postgresql_url() -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database, dropped after the test."""
    require_postgres()
    name = f"calmline_test_{secrets.token_hex(6)}"
    admin = _admin_engine()
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = parse_url(MAINTENANCE_URL).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """The URL of a SQLite file that does not exist yet, in a folder that does not either."""
    return f"sqlite:///{tmp_path / 'data' / 'calmline.db'}"


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh empty database on each backend in turn."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
def migrated_engine(database_url: str) -> Iterator[sa.Engine]:
    """An engine on a fresh database with calmline's tables created by the migrations."""
    engine = make_engine(database_url)
    migrate(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def sessions(migrated_engine: sa.Engine) -> sessionmaker[Session]:
    return make_session_factory(migrated_engine)
