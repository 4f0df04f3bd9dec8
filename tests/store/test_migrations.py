"""The packaged migrations build the schema the models describe, on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import calmline.store
from calmline.errors import StoreError
from calmline.store.db import (
    check_schema,
    current_revision,
    head_revision,
    make_engine,
    migrate,
)
from calmline.store.models import Base

TABLES = {
    "conversations",
    "events",
    "incidents",
    "notifications",
    "trainees",
    "training_sessions",
    "alembic_version",
}


def test_migrations_run_up_from_an_empty_database(database_url: str) -> None:
    engine = make_engine(database_url)
    assert current_revision(engine) is None
    assert migrate(engine) == head_revision()
    assert current_revision(database_url) == head_revision()
    assert set(sa.inspect(engine).get_table_names()) == TABLES
    check_schema(engine)  # no error
    engine.dispose()


def test_migrating_again_changes_nothing(migrated_engine: sa.Engine) -> None:
    before = sa.inspect(migrated_engine).get_table_names()
    assert migrate(migrated_engine) == head_revision()
    assert sa.inspect(migrated_engine).get_table_names() == before


def test_migrate_takes_a_url_too(database_url: str) -> None:
    assert migrate(database_url) == head_revision()
    assert current_revision(database_url) == head_revision()


def test_models_and_migrations_agree(migrated_engine: sa.Engine) -> None:
    with migrated_engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == [], "models.py and the migrations differ: write a migration"


def test_every_migration_is_package_data() -> None:
    versions = Path(calmline.store.__file__).parent / "migrations" / "versions"
    scripts = sorted(p.name for p in versions.glob("*.py"))
    assert scripts, "no migration scripts in the package"
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text(encoding="utf-8")
    for glob in ("store/migrations/*.py", "store/migrations/versions/*.py"):
        assert f'"{glob}"' in pyproject


def test_a_database_from_a_newer_calmline_is_refused_clearly(migrated_engine: sa.Engine) -> None:
    with migrated_engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    for attempt in (lambda: check_schema(migrated_engine), lambda: migrate(migrated_engine)):
        with pytest.raises(StoreError, match="revision 9999, which this calmline does not know"):
            attempt()
    with migrated_engine.connect() as connection:  # and nothing was changed
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == (
            "9999"
        )
