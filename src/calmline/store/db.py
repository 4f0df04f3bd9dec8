"""Connecting to the database, running the packaged migrations, and saying clearly what is wrong.

SQLite (the default, a file in the user's data directory) runs in WAL mode with foreign keys on
and a busy timeout, and calmline issues its own ``BEGIN`` so that a write transaction can take
the write lock from its first statement (``BEGIN IMMEDIATE``). PostgreSQL is reached through
psycopg 3; a plain ``postgresql://`` URL is read as ``postgresql+psycopg://``.

Every failure to reach the database, or a database whose tables are not at the revision this
code expects, is a :class:`~calmline.errors.StoreError` that names the URL with its password
hidden and says what to do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from calmline.errors import StoreError

log = logging.getLogger("calmline.store")

#: Where the Alembic scripts live inside the package (no alembic.ini needed).
MIGRATIONS = "calmline.store:migrations"
#: How long a SQLite connection waits for another writer before giving up.
SQLITE_BUSY_TIMEOUT_MS = 10_000
#: Execution option naming how a SQLite transaction begins (DEFERRED or IMMEDIATE).
SQLITE_BEGIN = "calmline_sqlite_begin"
_BEGIN_MODES = {"DEFERRED", "IMMEDIATE", "EXCLUSIVE"}
#: The command that brings a database up to date, named in errors.
UPGRADE_HINT = "run `calmline db upgrade` (with the same --database-url) first"

#: PostgreSQL error codes (SQLSTATE) that mean the tables are missing.
_UNDEFINED_TABLE = "42P01"


def database_url(url: str | URL) -> URL:
    """``url`` parsed, with PostgreSQL pointed at psycopg 3; a StoreError when it is not a URL."""
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
    except (sa_exc.ArgumentError, ValueError) as exc:
        raise StoreError(f"{_shown_raw(url)}: not a database URL ({exc})") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise StoreError(
            f"{shown(parsed)}: calmline stores data in SQLite or PostgreSQL, not {backend}"
        )
    return parsed


def shown(url: str | URL) -> str:
    """The URL as it may be printed or logged: the password replaced by ``***``."""
    if isinstance(url, str):
        try:
            url = make_url(url)
        except (sa_exc.ArgumentError, ValueError):
            return _shown_raw(url)
    return url.render_as_string(hide_password=True)


def _shown_raw(url: object) -> str:
    """An unparseable URL, shown without anything that could be a password."""
    text = str(url)
    if "@" in text:
        scheme, _, rest = text.partition("://")
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return text


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL (None for an in-memory database or another backend)."""
    if url.get_backend_name() != "sqlite":
        return None
    name = url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name).expanduser()


def make_engine(url: str | URL, *, must_exist: bool = False) -> sa.Engine:
    """An engine for ``url``, set up for calmline on SQLite or PostgreSQL.

    SQLite: the parent directory is created (unless ``must_exist``: then a missing file is a
    StoreError, so reading commands never leave an empty database behind). Statement
    parameters are never shown in errors or logs: they hold what customers wrote.
    """
    parsed = database_url(url)
    path = sqlite_path(parsed)
    kwargs: dict[str, Any] = {"hide_parameters": True}
    if path is not None:
        if must_exist and not path.is_file():
            raise StoreError(f"{shown(parsed)}: no database at {path}; {UPGRADE_HINT}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"{shown(parsed)}: cannot create the folder {path.parent}: {exc.strerror}"
            ) from None
    elif parsed.get_backend_name() == "postgresql":
        kwargs["pool_pre_ping"] = True
    try:
        engine = sa.create_engine(parsed, **kwargs)
    except (ImportError, sa_exc.ArgumentError) as exc:
        raise StoreError(f"{shown(parsed)}: cannot use this database URL: {exc}") from None
    if engine.dialect.name == "sqlite":
        _set_up_sqlite(engine)
    return engine


def _set_up_sqlite(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # calmline, not the sqlite3 module, decides when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        mode = str(connection.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")).upper()
        if mode not in _BEGIN_MODES:
            raise StoreError(f"unknown SQLite transaction mode {mode!r}")
        connection.exec_driver_sql(f"BEGIN {mode}")


def make_session_factory(engine: sa.Engine) -> sessionmaker[Session]:
    """Sessions on ``engine`` whose objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def write_session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session in one write transaction: committed at the end, rolled back on any error.

    On SQLite the transaction begins IMMEDIATE, taking the write lock before the first read,
    so two writers never both read the same state and then collide; on PostgreSQL rows are
    locked where they are read (``SELECT ... FOR UPDATE``).
    """
    with sessions() as session:
        # The first connection of a session begins its transaction, with these options.
        session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        session.commit()


class MigratedDatabase:
    """The database a service works on: checked to be migrated when opened, with read and
    write transactions whose driver errors become StoreError saying what was being done."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        bind = session_factory.kw.get("bind")
        if not isinstance(bind, sa.Engine):
            raise StoreError("the session factory is not bound to a database engine")
        check_schema(bind)
        self.engine = bind
        self.sessions = session_factory

    @contextmanager
    def writing(self, doing: str) -> Iterator[Session]:
        with store_errors(self.engine, doing), write_session(self.sessions) as session:
            yield session

    @contextmanager
    def reading(self, doing: str) -> Iterator[Session]:
        with store_errors(self.engine, doing), self.sessions() as session:
            yield session


# ----- errors -------------------------------------------------------------------------------------


def _reason(exc: BaseException) -> str:
    """The first line of what the driver said (never the statement or its parameters)."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


def _missing_table(exc: sa_exc.DBAPIError) -> bool:
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == _UNDEFINED_TABLE:
        return True
    return "no such table" in str(orig)


@contextmanager
def store_errors(engine: sa.Engine, doing: str) -> Iterator[None]:
    """Turn database failures met while ``doing`` something into a StoreError naming the URL."""
    where = shown(engine.url)
    try:
        yield
    except StoreError:
        raise
    except sa_exc.DBAPIError as exc:
        if _missing_table(exc):
            raise StoreError(
                f"{doing}: the database {where} is not migrated; {UPGRADE_HINT}"
            ) from None
        if exc.connection_invalidated or isinstance(
            exc, sa_exc.OperationalError | sa_exc.InterfaceError
        ):
            raise StoreError(f"{doing}: cannot use the database {where}: {_reason(exc)}") from None
        raise StoreError(f"{doing}: the database {where} refused it: {_reason(exc)}") from None
    except sa_exc.SQLAlchemyError as exc:
        raise StoreError(f"{doing}: database {where}: {_reason(exc)}") from None


# ----- migrations ---------------------------------------------------------------------------------


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic configuration for the packaged migrations (for ``alembic.command``)."""
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    if url is not None:
        # ConfigParser interpolation would read a % in a password as a reference.
        rendered = database_url(url).render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def head_revision() -> str:
    """The newest migration shipped with this version of calmline."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships its migrations
        raise StoreError("calmline's migrations are missing from the installed package")
    return head


@contextmanager
def _engine_for(engine_or_url: sa.Engine | str | URL, *, must_exist: bool) -> Iterator[sa.Engine]:
    if isinstance(engine_or_url, sa.Engine):
        yield engine_or_url
        return
    engine = make_engine(engine_or_url, must_exist=must_exist)
    try:
        yield engine
    finally:
        engine.dispose()


def migrate(engine_or_url: sa.Engine | str | URL, revision: str = "head") -> str | None:
    """Bring the database up to ``revision`` (the newest by default) in one transaction.

    Returns the revision the database is at afterwards. Safe to run again: a database that is
    already up to date is left as it is.
    """
    with _engine_for(engine_or_url, must_exist=False) as engine:
        config = alembic_config()
        with store_errors(engine, "migrating"), engine.begin() as connection:
            config.attributes["connection"] = connection
            before = MigrationContext.configure(connection).get_current_revision()
            refuse_unknown_revision(engine, before)
            try:
                command.upgrade(config, revision)
            except CommandError as exc:
                raise StoreError(f"migrating {shown(engine.url)}: {exc}") from None
            after = MigrationContext.configure(connection).get_current_revision()
        if before != after:
            log.info("database %s migrated from %s to %s", shown(engine.url), before, after)
        return after


def current_revision(engine_or_url: sa.Engine | str | URL) -> str | None:
    """The migration the database is at (None when calmline's tables were never created)."""
    with (
        _engine_for(engine_or_url, must_exist=True) as engine,
        store_errors(engine, "reading the migration revision"),
        engine.connect() as connection,
    ):
        return MigrationContext.configure(connection).get_current_revision()


def is_known_revision(revision: str) -> bool:
    """Whether this calmline ships the migration ``revision`` (a newer one may not)."""
    scripts = ScriptDirectory.from_config(alembic_config())
    try:
        return scripts.get_revision(revision) is not None
    except CommandError:
        return False


def refuse_unknown_revision(engine: sa.Engine, revision: str | None) -> None:
    """A StoreError when the database is at a revision this calmline does not ship."""
    if revision is not None and not is_known_revision(revision):
        raise StoreError(
            f"the database {shown(engine.url)} is at revision {revision}, which this calmline "
            f"does not know (its newest is {head_revision()}): it was migrated by a newer "
            "calmline; upgrade calmline, or use a database of this version"
        )


def check_schema(engine: sa.Engine) -> None:
    """A StoreError unless the database can be reached and is at the newest migration."""
    current = current_revision(engine)
    head = head_revision()
    refuse_unknown_revision(engine, current)
    if current != head:
        at = f"at revision {current}" if current else "empty"
        raise StoreError(
            f"the database {shown(engine.url)} is {at}, this calmline needs revision {head}; "
            f"{UPGRADE_HINT}"
        )


def utc_now() -> datetime:
    return datetime.now(UTC)


class Store:
    """A store over calmline's migrated database: keys, practice, playbooks, training.

    ``session_factory`` comes from :func:`make_session_factory` on a migrated database
    (checked here: a StoreError says to run ``calmline db upgrade``); ``clock`` gives the
    times written (tests pass their own).
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._database = MigratedDatabase(session_factory)
        self._clock = clock
