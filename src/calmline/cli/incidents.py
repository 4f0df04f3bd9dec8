"""`calmline incidents`: list, show and acknowledge the incidents of stored conversations.

Read-only commands never create a database: a missing SQLite file or an unmigrated database
is an error that says to run ``calmline db upgrade``. ``--redact-names`` drops the customer's,
the agent's and the acknowledging manager's names from the output, text and JSON alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from sqlalchemy.orm import Session

from calmline.cli import FormatOption, OutputFormat, _input_errors, _write_json, out
from calmline.cli.db import DatabaseUrlOption, resolve_database_url
from calmline.errors import InputError
from calmline.store.db import (
    check_schema,
    make_engine,
    make_session_factory,
    store_errors,
    write_session,
)
from calmline.store.queries import (
    IncidentFilter,
    acknowledge_incident,
    get_incident,
    list_incidents,
)

incidents_app = typer.Typer(
    help="Review the incidents of stored conversations (D6) and acknowledge them (D7).",
    no_args_is_help=True,
)

RedactNamesOption = Annotated[
    bool,
    typer.Option(
        "--redact-names",
        help="Leave out the customer's, agent's and manager's names ([name] inside quotes).",
    ),
]
IncidentIdArgument = Annotated[
    int, typer.Argument(help="The incident's number, as `incidents list` shows it.", metavar="ID")
]

_AGE = re.compile(r"^\s*(\d+)\s*([dhm])\s*$")
_AGE_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_since(text: str, now: datetime) -> datetime:
    """An aware date-time from ``--since``: a date, a date-time (UTC unless it says), or an
    age before ``now`` such as ``7d``, ``24h`` or ``30m``."""
    age = _AGE.match(text)
    if age:
        return now - timedelta(**{_AGE_UNITS[age.group(2)]: int(age.group(1))})
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"--since: {text!r} is not a date (2026-11-30), a date-time "
            "(2026-11-30T10:00:00Z) or an age (7d, 24h, 30m)"
        ) from None
    return when if when.utcoffset() is not None else when.replace(tzinfo=UTC)


@contextmanager
def _session(database_url: str | None, doing: str, *, write: bool = False) -> Iterator[Session]:
    engine = make_engine(resolve_database_url(database_url), must_exist=True)
    try:
        check_schema(engine)
        sessions = make_session_factory(engine)
        with store_errors(engine, doing):
            if write:
                with write_session(sessions) as session:
                    yield session
            else:
                with sessions() as session:
                    yield session
    finally:
        engine.dispose()


def _emit(records: Sequence[Mapping[str, Any]], fmt: OutputFormat) -> None:
    if fmt is OutputFormat.JSONL:
        for record in records:
            _write_json(record, pretty=False)
    else:
        _write_json(list(records), pretty=True)


@incidents_app.command("list")
def list_command(
    customer: Annotated[
        str | None,
        typer.Option(
            "--customer",
            metavar="ID_OR_NAME",
            help="Only this customer's incidents: their customer id, or their name (any case).",
            show_default=False,
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="WHEN",
            help="Only incidents that ended at or after WHEN: 2026-11-30, 2026-11-30T10:00Z, "
            "or an age: 7d, 24h, 30m.",
            show_default=False,
        ),
    ] = None,
    unacknowledged: Annotated[
        bool,
        typer.Option("--unacknowledged", help="Only incidents no manager has acknowledged."),
    ] = False,
    limit: Annotated[
        int | None,
        typer.Option("--limit", metavar="N", min=1, help="At most N, newest first."),
    ] = None,
    redact_names: RedactNamesOption = False,
    database_url: DatabaseUrlOption = None,
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """List incidents, the most recently ended first."""
    with _input_errors():
        where = IncidentFilter(
            customer=customer,
            since=parse_since(since, datetime.now(UTC)) if since is not None else None,
            unacknowledged=unacknowledged,
            limit=limit,
        )
        with _session(database_url, "listing incidents") as session:
            found = list_incidents(session, where)
    records = [incident.to_dict(redact_names=redact_names) for incident in found]
    if fmt is not OutputFormat.TEXT:
        _emit(records, fmt)
        return
    if not records:
        out.print(Text("No incidents match.", style="dim"))
        return
    out.print(_incident_table(records))
    waiting = sum(1 for r in records if not r["acknowledged_at"])
    out.print(
        Text(
            f"{len(records)} incident{'s' if len(records) != 1 else ''}, "
            f"{waiting} not acknowledged. Details: calmline incidents show ID",
            style="dim",
        )
    )


@incidents_app.command("show")
def show_command(
    incident_id: IncidentIdArgument,
    redact_names: RedactNamesOption = False,
    database_url: DatabaseUrlOption = None,
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """Show one incident: who, when, the protocol timeline, what the customer raised, the note."""
    with _input_errors(), _session(database_url, f"reading incident {incident_id}") as session:
        record = get_incident(session, incident_id).to_dict(redact_names=redact_names)
    if fmt is OutputFormat.TEXT:
        out.print(_incident_panel(record))
    else:
        _write_json(record, pretty=fmt is OutputFormat.JSON)


@incidents_app.command("ack")
def ack_command(
    incident_id: IncidentIdArgument,
    by: Annotated[
        str,
        typer.Option(
            "--by",
            metavar="NAME",
            help="Who acknowledges the incident (the line manager).",
            show_default=False,
        ),
    ],
    database_url: DatabaseUrlOption = None,
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """Acknowledge an incident: the line manager has seen it (D7).

    Acknowledging again by the same person changes nothing; by someone else it is refused.
    """
    with (
        _input_errors(),
        _session(database_url, f"acknowledging incident {incident_id}", write=True) as session,
    ):
        incident = acknowledge_incident(session, incident_id, by, datetime.now(UTC))
    if fmt is not OutputFormat.TEXT:
        _write_json(incident.to_dict(), pretty=fmt is OutputFormat.JSON)
        return
    at = incident.acknowledged_at
    out.print(
        Text.assemble(
            ("acknowledged ", "green"),
            f"incident {incident.id} by {incident.acknowledged_by}",
            f" at {_when(at.isoformat())}" if at else "",
        )
    )


# ----- text output --------------------------------------------------------------------------------


def _when(iso: object) -> str:
    if not isinstance(iso, str):
        return ""
    try:
        return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return iso


def _who(record: Mapping[str, Any]) -> str:
    name, customer_id = record.get("customer_name"), record.get("customer_id")
    if name and customer_id:
        return f"{name} ({customer_id})"
    return str(name or customer_id or "not recorded")


def _acknowledged(record: Mapping[str, Any]) -> Text:
    if not record.get("acknowledged_at"):
        return Text("no", style="yellow")
    by = record.get("acknowledged_by")
    return Text(f"{_when(record['acknowledged_at'])}" + (f" by {by}" if by else ""))


def _incident_table(records: Sequence[Mapping[str, Any]]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for header in ("#", "ended", "customer", "agent", "reason", "acknowledged", "summary"):
        table.add_column(header, overflow="fold")
    for record in records:
        table.add_row(
            str(record["id"]),
            _when(record.get("closed_at")),
            Text(_who(record)),
            Text(str(record.get("agent") or "")),
            Text(str(record.get("reason") or "")),
            _acknowledged(record),
            Text(str(record.get("summary") or "")),
        )
    return table


def _incident_panel(record: Mapping[str, Any]) -> Panel:
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="dim", no_wrap=True)
    facts.add_column()
    facts.add_row("Customer", Text(_who(record)))
    facts.add_row("Agent", Text(str(record.get("agent") or "not recorded")))
    facts.add_row("Conversation", Text(str(record.get("conversation_id") or "")))
    facts.add_row("Started", _when(record.get("opened_at")))
    facts.add_row("Ended", _when(record.get("closed_at")))
    facts.add_row("Acknowledged", _acknowledged(record))
    if record.get("summary"):
        facts.add_row("Summary", Text(str(record["summary"])))
    parts: list[RenderableType] = [facts]
    timeline = record.get("timeline") or []
    if timeline:
        steps = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        for header in ("time", "step", "stage", "done properly", "words"):
            steps.add_column(header, overflow="fold")
        for step in timeline:
            steps.add_row(
                _when(step.get("at")),
                Text(str(step.get("step", ""))),
                Text(str(step.get("stage", ""))),
                Text("yes", style="green") if step.get("proper", True) else Text("no", "red"),
                Text(f"“{step.get('quote', '')}”", style="italic"),
            )
        parts += [Text("\nProtocol timeline", style="bold"), steps]
    done = record.get("steps_done") or {}
    if done:
        line = Text("Steps: ")
        for step, was_done in done.items():
            line.append(f"{step} {'✓' if was_done else '✗'}  ", "green" if was_done else "red")
        parts.append(line)
    points = record.get("key_points") or []
    if points:
        parts.append(Text("\nWhat the customer raised", style="bold"))
        for point in points:
            signals = ", ".join(point.get("signals", []))
            parts.append(
                Text.assemble(
                    "• ", (f"“{point.get('quote', '')}”", "italic"), (f"  {signals}", "dim")
                )
            )
    for key, label in (("demands", "Demands"), ("threats", "Threats")):
        items = record.get(key) or []
        if items:
            parts.append(Text.assemble((f"{label}: ", "bold"), "; ".join(map(str, items))))
    if record.get("note"):
        parts += [Text("\nNote", style="bold"), Text(str(record["note"]))]
    title = Text.assemble((f"Incident {record['id']}", "bold"), f" · {record.get('reason', '')}")
    border = "yellow" if not record.get("acknowledged_at") else "blue"
    return Panel(Group(*parts), title=title, title_align="left", border_style=border)
