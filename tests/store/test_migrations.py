"""The packaged migrations build the schema the models describe, on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import calmline.store
from calmline.errors import StoreError
from calmline.store.db import (
    alembic_config,
    check_schema,
    current_revision,
    head_revision,
    make_engine,
    migrate,
)
from calmline.store.models import Base
from tests.store.helpers import T0

TABLES = {
    "conversations",
    "events",
    "incidents",
    "notifications",
    "trainees",
    "training_sessions",
    "api_keys",
    "practice_sessions",
    "playbook_versions",
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


def _downgrade(engine: sa.Engine, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_0003_downgrades_to_0002_keeping_conversations_and_their_events(
    migrated_engine: sa.Engine,
) -> None:
    with migrated_engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO conversations (id, external_id, team, channel, created_at, "
                "event_count, state, protocol_stage) "
                "VALUES (1, 'c1', 'north', 'chat', :at, 1, 'calm', 'none')"
            ),
            {"at": T0},
        )
        connection.execute(
            sa.text(
                "INSERT INTO events (id, conversation_id, event_id, seq, kind, at, text, "
                "guidance, created_at) "
                "VALUES (1, 1, 'e1', 1, 'customer_message', :at, 'hello', '{}', :at)"
            ),
            {"at": T0},
        )
    _downgrade(migrated_engine, "0002")
    assert current_revision(migrated_engine) == "0002"
    inspector = sa.inspect(migrated_engine)
    assert set(inspector.get_table_names()) == TABLES - {
        "api_keys",
        "practice_sessions",
        "playbook_versions",
    }
    assert "team" not in {c["name"] for c in inspector.get_columns("conversations")}
    assert "team" not in {c["name"] for c in inspector.get_columns("incidents")}
    with migrated_engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM events").scalar() == 1
        assert connection.exec_driver_sql("SELECT external_id FROM conversations").scalar() == (
            "c1"
        )
    assert migrate(migrated_engine) == head_revision()
    check_schema(migrated_engine)


def test_every_migration_downgrades_to_an_empty_database(migrated_engine: sa.Engine) -> None:
    _downgrade(migrated_engine, "base")
    assert current_revision(migrated_engine) is None
    assert set(sa.inspect(migrated_engine).get_table_names()) == {"alembic_version"}
    assert migrate(migrated_engine) == head_revision()
