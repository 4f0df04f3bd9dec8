"""`calmline db`: create or update the database's tables, and say which revision it is at."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from calmline.cli import EXIT_BLOCKED, EXIT_OK, _input_errors, out
from calmline.errors import StoreError
from calmline.settings import load_settings
from calmline.store.db import (
    current_revision,
    head_revision,
    is_known_revision,
    migrate,
    shown,
)

db_app = typer.Typer(help="Create or update the database calmline stores coaching in.")

DatabaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="CALMLINE_DATABASE_URL",
        metavar="URL",
        help="SQLAlchemy URL of the database (also CALMLINE_DATABASE_URL). Default: the "
        "SQLite file calmline.db in the data directory (CALMLINE_DATA_DIR).",
        show_default=False,
    ),
]


def resolve_database_url(database_url: str | None) -> str:
    """The URL given, else the one the settings (environment, data directory) name."""
    if database_url:
        return database_url
    return load_settings().resolved_database_url


@db_app.command("upgrade")
def upgrade(database_url: DatabaseUrlOption = None) -> None:
    """Create calmline's tables, or bring them up to this version (safe to run again)."""
    with _input_errors():
        url = resolve_database_url(database_url)
        try:
            before = current_revision(url)
        except StoreError:  # no database file yet: upgrade creates it (or says why it cannot)
            before = None
        after = migrate(url)
    where = shown(url)
    if before == after:
        out.print(Text.assemble(("up to date ", "green"), f"{where}: revision {after}"))
    else:
        out.print(
            Text.assemble(
                ("upgraded ", "green"), f"{where}: revision {before or '(empty)'} -> {after}"
            )
        )


@db_app.command("current")
def current(database_url: DatabaseUrlOption = None) -> None:
    """Show the database's revision. Exits 0 when it is up to date, 1 when it needs upgrade."""
    with _input_errors():
        url = resolve_database_url(database_url)
        revision = current_revision(url)
        head = head_revision()
        if revision is not None and not is_known_revision(revision):
            raise StoreError(
                f"{shown(url)}: revision {revision} is newer than this calmline knows "
                f"(its newest is {head}); upgrade calmline"
            )
    where = shown(url)
    if revision == head:
        out.print(Text.assemble(("up to date ", "green"), f"{where}: revision {revision}"))
        raise typer.Exit(EXIT_OK)
    at = f"revision {revision}" if revision else "no tables yet"
    out.print(
        Text.assemble(
            ("needs upgrade ", "yellow"),
            f"{where}: {at}, this calmline needs revision {head}; run `calmline db upgrade`",
        )
    )
    raise typer.Exit(EXIT_BLOCKED)
