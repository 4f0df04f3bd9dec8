"""`calmline keys`: create, list and revoke the API keys of the HTTP service.

The token of a new key is printed once, on standard output alone (so a script can capture
it), with the other lines on standard error; calmline keeps only its hash and cannot show it
again. Like the other database commands these never create a database: run
``calmline db upgrade`` first.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC
from typing import Annotated

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from calmline.cli import FormatOption, OutputFormat, _input_errors, _write_json, err, out
from calmline.cli.db import DatabaseUrlOption, resolve_database_url
from calmline.store.db import make_engine, make_session_factory
from calmline.store.keys import ApiKey, KeyStore, Role

keys_app = typer.Typer(
    help="Create, list and revoke the API keys of the HTTP service (calmline serve).",
    no_args_is_help=True,
)

#: Said whenever a token is shown.
SHOWN_ONCE = (
    "Copy this key now: it is not stored and cannot be shown again. "
    "If it is lost, revoke it and create another."
)


@contextmanager
def _keys(database_url: str | None) -> Iterator[KeyStore]:
    engine = make_engine(resolve_database_url(database_url), must_exist=True)
    try:
        yield KeyStore(make_session_factory(engine))
    finally:
        engine.dispose()


def _who(key: ApiKey) -> str:
    team = f", team {key.team}" if key.team else ""
    return f"{key.name} ({key.role.value}{team})"


@keys_app.command("create")
def create_command(
    name: Annotated[
        str,
        typer.Argument(
            help="Who the key is for: the agent's name as their conversations give it, or "
            "the person's.",
            metavar="NAME",
            show_default=False,
        ),
    ],
    role: Annotated[
        Role,
        typer.Option(
            "--role",
            case_sensitive=False,
            help="What the key may do: agent, trainer, manager (needs --team) or admin.",
            show_default=False,
        ),
    ],
    team: Annotated[
        str | None,
        typer.Option(
            "--team",
            metavar="TEAM",
            help="The team: a manager sees its conversations and incidents (required for "
            "a manager).",
            show_default=False,
        ),
    ] = None,
    database_url: DatabaseUrlOption = None,
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """Create an API key and print its token, once."""
    with _input_errors(), _keys(database_url) as keys:
        key, token = keys.create(name, role, team)
    if fmt is not OutputFormat.TEXT:
        record = {
            "id": key.id,
            "prefix": key.prefix,
            "name": key.name,
            "role": key.role.value,
            "team": key.team,
            "token": token,
        }
        _write_json(record, pretty=fmt is OutputFormat.JSON)
        err.print(Text(SHOWN_ONCE, style="yellow"))
        return
    err.print(Text.assemble(("created ", "green"), f"API key {key.prefix} for {_who(key)}:"))
    sys.stdout.write(token + "\n")
    sys.stdout.flush()
    err.print(Text(SHOWN_ONCE, style="yellow"))


@keys_app.command("revoke")
def revoke_command(
    prefix: Annotated[
        str,
        typer.Argument(
            help="The key's prefix, as `keys list` shows it (cl_PREFIX or the whole key work too).",
            metavar="PREFIX",
            show_default=False,
        ),
    ],
    database_url: DatabaseUrlOption = None,
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """Revoke an API key: it stops working at once. Revoking again changes nothing."""
    with _input_errors(), _keys(database_url) as keys:
        key = keys.revoke(prefix)
    if fmt is not OutputFormat.TEXT:
        _write_json(key.to_dict(), pretty=fmt is OutputFormat.JSON)
        return
    out.print(Text.assemble(("revoked ", "green"), f"API key {key.prefix} of {_who(key)}"))


@keys_app.command("list")
def list_command(
    include_revoked: Annotated[
        bool, typer.Option("--all", help="Revoked keys too (they are left out otherwise).")
    ] = False,
    database_url: DatabaseUrlOption = None,
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """List the API keys, oldest first: prefix, name, role, team, when made and last used."""
    with _input_errors(), _keys(database_url) as keys:
        found = keys.list(include_revoked=include_revoked)
    if fmt is OutputFormat.JSONL:
        for key in found:
            _write_json(key.to_dict(), pretty=False)
        return
    if fmt is OutputFormat.JSON:
        _write_json([key.to_dict() for key in found], pretty=True)
        return
    if not found:
        hint = "" if include_revoked else " (--all shows revoked ones)"
        out.print(Text(f"No API keys{hint}. Create one: calmline keys create NAME --role ROLE"))
        return
    out.print(_table(found, include_revoked=include_revoked))


def _table(found: Sequence[ApiKey], *, include_revoked: bool) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    headers = ["prefix", "name", "role", "team", "created", "last used"]
    if include_revoked:
        headers.append("revoked")
    for header in headers:
        table.add_column(header, overflow="fold")
    for key in found:
        row = [
            Text(key.prefix),
            Text(key.name),
            Text(key.role.value),
            Text(key.team or ""),
            Text(f"{key.created_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"),
            Text(
                f"{key.last_used_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
                if key.last_used_at
                else "never",
                style="" if key.last_used_at else "dim",
            ),
        ]
        if include_revoked:
            row.append(
                Text(f"{key.revoked_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC", style="red")
                if key.revoked_at
                else Text("no")
            )
        table.add_row(*row)
    return table
