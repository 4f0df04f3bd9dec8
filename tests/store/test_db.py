"""Connecting: URLs, SQLite settings, write transactions and the errors a user sees."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from calmline.errors import StoreError
from calmline.store.db import (
    check_schema,
    current_revision,
    database_url,
    make_engine,
    make_session_factory,
    shown,
    store_errors,
    write_session,
)
from calmline.store.models import Conversation
from tests.store.helpers import conversation_row


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgresql://u:pw@db.example/calm", "postgresql+psycopg"),
        ("postgres://u:pw@db.example/calm", "postgresql+psycopg"),
        ("postgresql+psycopg://u:pw@db.example/calm", "postgresql+psycopg"),
        ("sqlite:////var/lib/calmline/calmline.db", "sqlite"),
    ],
)
def test_postgresql_urls_go_through_psycopg_3(given: str, driver: str) -> None:
    assert database_url(given).drivername == driver


@pytest.mark.parametrize(
    "given", ["mysql://u:secret-pw@db.example/calm", "not a url", "oracle://u:secret-pw@x/y"]
)
def test_unsupported_or_malformed_urls_are_store_errors_without_the_password(given: str) -> None:
    with pytest.raises(StoreError) as caught:
        make_engine(given)
    assert "secret-pw" not in caught.value.message


def test_shown_hides_the_password() -> None:
    assert shown("postgresql://calm:s3cret@db.example:5432/calm") == (
        "postgresql://calm:***@db.example:5432/calm"
    )


def test_sqlite_creates_its_folder_and_runs_in_wal_mode_with_foreign_keys(sqlite_url: str) -> None:
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    assert not path.parent.exists()
    engine = make_engine(sqlite_url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    engine.dispose()
    assert path.is_file()


def test_reading_commands_never_create_a_database(sqlite_url: str) -> None:
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    with pytest.raises(StoreError, match=r"no database at .*calmline db upgrade"):
        current_revision(sqlite_url)
    assert not path.exists()


def test_an_unreachable_server_is_a_store_error_naming_the_url_without_its_password() -> None:
    # Port 9 on this machine: nothing listens there, so the connection is refused at once.
    url = "postgresql://calm:s3cret@127.0.0.1:9/calm"
    with pytest.raises(StoreError) as caught:
        current_revision(url)
    message = caught.value.message
    assert "postgresql+psycopg://calm:***@127.0.0.1:9/calm" in message
    assert "s3cret" not in message


def test_a_database_without_tables_says_to_run_the_migrations(database_url: str) -> None:
    engine = make_engine(database_url)
    with pytest.raises(StoreError, match=r"is empty.*calmline db upgrade"):
        check_schema(engine)
    sessions = make_session_factory(engine)
    with (
        pytest.raises(StoreError, match=r"not migrated.*calmline db upgrade"),
        store_errors(engine, "listing"),
        sessions() as session,
    ):
        session.scalars(sa.select(Conversation)).all()
    engine.dispose()


def test_a_write_session_commits_at_the_end_and_rolls_back_on_error(
    sessions: sessionmaker[Session],
) -> None:
    with write_session(sessions) as session:
        session.add(conversation_row("kept"))
    with pytest.raises(RuntimeError), write_session(sessions) as session:
        session.add(conversation_row("dropped"))
        session.flush()
        raise RuntimeError("boom")
    with sessions() as session:
        ids = session.scalars(sa.select(Conversation.external_id)).all()
    assert ids == ["kept"]


def test_a_sqlite_write_session_holds_the_write_lock_from_its_first_read(
    sqlite_url: str,
) -> None:
    from calmline.store.db import migrate

    engine = make_engine(sqlite_url)
    migrate(engine)
    sessions = make_session_factory(engine)
    path = sqlite_url.removeprefix("sqlite:///")
    with write_session(sessions) as session:
        session.scalars(sa.select(Conversation)).all()  # a read only
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
    engine.dispose()


def test_a_waiting_sqlite_writer_gets_the_lock_when_the_first_one_commits(sqlite_url: str) -> None:
    from calmline.store.db import migrate

    engine = make_engine(sqlite_url)
    migrate(engine)
    sessions = make_session_factory(engine)
    first_holds_lock = threading.Event()
    release = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with write_session(sessions) as session:
                session.add(conversation_row("first"))
                session.flush()
                first_holds_lock.set()
                release.wait(10)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=first)
    thread.start()
    assert first_holds_lock.wait(10)
    threading.Timer(0.2, release.set).start()
    with write_session(sessions) as session:  # waits for the busy timeout, not an error
        count = session.scalar(sa.select(sa.func.count()).select_from(Conversation))
        session.add(conversation_row("second"))
    thread.join(10)
    assert not errors
    assert count == 1
    engine.dispose()
