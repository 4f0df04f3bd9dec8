"""Shared fixtures: the default engine, and helpers to read case files."""

from __future__ import annotations

from pathlib import Path

import pytest

from calmline import Engine, default_engine
from tests.databases import (  # noqa: F401  (fixtures: a fresh database on SQLite and PostgreSQL)
    database_url,
    migrated_engine,
    postgresql_url,
    sessions,
    sqlite_url,
)

CASES = Path(__file__).parent / "cases"


@pytest.fixture(scope="session")
def engine() -> Engine:
    return default_engine()
