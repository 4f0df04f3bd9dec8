"""`calmline coach FILE`: replay a transcript through the coach, guidance turn by turn."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from calmline.cli import (
    FormatOption,
    InputFormatOption,
    OutputFormat,
    PlaybookOption,
    _engine,
    _input_errors,
    _JsonOut,
    analysis_view,
    err,
    findings_view,
    out,
)
from calmline.cli.db import DatabaseUrlOption, resolve_database_url
from calmline.coach.coach import Coach
from calmline.coach.events import CustomerState, Event, EventKind, Guidance
from calmline.core.analyzer import Engine
from calmline.core.types import ReplyCheck, Role
from calmline.errors import CalmlineError, EventError
from calmline.settings import load_settings
from calmline.store.db import make_engine, make_session_factory
from calmline.store.service import ConversationService
from calmline.transcript import RowProblem, TranscriptReader, TranscriptRow

_STATE_STYLE = {
    CustomerState.CALM: "green",
    CustomerState.UPSET: "yellow",
    CustomerState.ABUSIVE: "red",
    CustomerState.UNSAFE: "bold white on red",
}
#: Where replays without timestamps start when --assume-interval spaces them out.
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def replay_events(
    rows: Iterator[TranscriptRow | RowProblem], *, assume_interval: float | None
) -> Iterator[tuple[TranscriptRow, Event] | RowProblem]:
    """Events from transcript rows: customer rows are messages, agent rows are sent replies.

    The coach needs a time for every message (pacing, the timeline). Without a timestamp a
    row is an error naming its line, unless ``assume_interval`` spaces such rows evenly.
    """
    last: dict[str, datetime] = {}
    for item in rows:
        if isinstance(item, RowProblem):
            yield item
            continue
        if item.timestamp is not None:
            at = datetime.fromtimestamp(item.timestamp, tz=UTC)
        elif assume_interval is not None:
            previous = last.get(item.conversation_id)
            at = _EPOCH if previous is None else previous + timedelta(seconds=assume_interval)
        else:
            raise EventError(
                f"line {item.line}: timestamp: the coach needs a time for every message "
                "(pacing and the protocol timeline use it); add timestamps or pass "
                "--assume-interval SECONDS"
            )
        last[item.conversation_id] = at
        kind = EventKind.CUSTOMER_MESSAGE if item.role is Role.CUSTOMER else EventKind.AGENT_MESSAGE
        event = Event(id=f"line-{item.line}", kind=kind, at=at, text=item.text, author=item.author)
        yield item, event


def _service(engine: Engine, database_url: str | None) -> ConversationService:
    """The stored coaching service on the configured database (which must be migrated)."""
    db = make_engine(resolve_database_url(database_url), must_exist=True)
    return ConversationService(make_session_factory(db), engine, load_settings().notify)


def _coach_for(coaches: dict[str, Coach], engine: Engine, row: TranscriptRow) -> Coach:
    """The in-memory coach of a row's conversation (the customer's name from any of its rows)."""
    coach = coaches.get(row.conversation_id)
    if coach is None:
        coach = coaches[row.conversation_id] = Coach(
            engine, conversation_id=row.conversation_id, customer_name=row.customer_name
        )
    elif row.customer_name and coach.customer_name is None:
        coach.customer_name = row.customer_name
    return coach


def guidance_record(row: TranscriptRow, guidance: Guidance) -> dict[str, Any]:
    """One JSON object per event: where it came from and everything the coach said."""
    return {"line": row.line, "role": row.role.value, **guidance.to_dict()}


def guidance_panel(engine: Engine, row: TranscriptRow, guidance: Guidance) -> Panel:
    title = " · ".join(
        escape(p) for p in (row.role.value.capitalize(), row.author or "", f"line {row.line}") if p
    )
    body: list[RenderableType] = [Text(row.text), Text("")]
    if guidance.analysis is not None:
        body.append(analysis_view(guidance.analysis))
    elif guidance.fixed is not None:
        check = ReplyCheck(
            draft=row.text,
            findings=guidance.findings,
            credits=guidance.credits,
            fixed=guidance.fixed,
        )
        body.append(findings_view(engine, check))
    status = Text.assemble(
        ("customer ", "dim"),
        (guidance.state.value, _STATE_STYLE[guidance.state]),
        (f" ({guidance.trend.value})", "dim"),
        ("   protocol ", "dim"),
        guidance.protocol_stage.replace("_", " "),
    )
    body.extend([Text(""), status])
    for advice in guidance.pacing:
        body.append(Text.assemble((f"⏱ {advice.principle} ", "magenta"), advice.message))
    for note in guidance.notes:
        body.append(Text(f"• {note}", style="cyan"))
    step = guidance.next_step
    if step is not None and (step.wording or step.action != "respond"):
        line = Text.assemble(("Next: ", "bold"), (f"{step.action} ({step.principle}) ", "bold"))
        line.append(step.why, style="dim")
        body.append(line)
        if step.wording:
            body.append(Text.assemble(("  say: ", "dim"), (step.wording, "green")))
    if guidance.history:
        body.append(Text.assemble(("Last time: ", "bold yellow"), guidance.history))
    if guidance.notify_manager:
        body.append(Text("Line manager notified (D7).", style="bold red"))
    border = "red" if guidance.blocked or guidance.state is CustomerState.UNSAFE else "blue"
    return Panel(
        Group(*body), title=title, title_align="left", border_style=border, box=box.ROUNDED
    )


def incident_panel(guidance: Guidance) -> Panel:
    assert guidance.incident is not None
    table = Table.grid(padding=(0, 1))
    table.add_column()
    table.add_row(Text(guidance.incident.note))
    return Panel(
        table,
        title=f"Incident · {guidance.incident.reason.replace('_', ' ')}",
        title_align="left",
        border_style="red",
        box=box.ROUNDED,
    )


def coach(
    file: Annotated[
        Path, typer.Argument(help="A transcript (JSONL or CSV) to replay.", metavar="FILE")
    ],
    fmt: FormatOption = OutputFormat.TEXT,
    playbook: PlaybookOption = None,
    input_format: InputFormatOption = None,
    assume_interval: Annotated[
        float | None,
        typer.Option(
            "--assume-interval",
            metavar="SECONDS",
            min=0.1,
            help="Space messages without a timestamp this many seconds apart.",
        ),
    ] = None,
    store: Annotated[
        bool,
        typer.Option(
            "--store",
            help="Keep the conversations, their guidance and incidents in the database and "
            "queue the line manager's notifications (run `calmline db upgrade` first). "
            "Replaying the same file again stores nothing twice.",
        ),
    ] = False,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Replay a transcript through the coach and show its guidance after every message.

    Customer rows are read as they arrive; agent rows count as sent replies: they move the
    boundary protocol on, are checked in context and timed against the customer's last
    message. With --store, everything is kept in the database, incidents included, and the
    line manager's notifications are queued for `calmline notify run`. Exit code 1 when any
    reply had a block finding (such as a premature end).
    """
    blocked = False
    with _input_errors():
        engine = _engine(playbook)
        reader = TranscriptReader(file, input_format=input_format, max_chars=engine.max_chars)
        json_out = (
            _JsonOut(lines=fmt is OutputFormat.JSONL) if fmt is not OutputFormat.TEXT else None
        )
        coaches: dict[str, Coach] = {}
        seen: set[str] = set()
        service = _service(engine, database_url) if store else None
        try:
            for item in replay_events(iter(reader), assume_interval=assume_interval):
                if isinstance(item, RowProblem):
                    sys.stderr.write(f"{item}\n")
                    continue
                row, event = item
                if row.conversation_id not in seen:
                    seen.add(row.conversation_id)
                    if json_out is None:
                        out.rule(
                            Text(f"Conversation {row.conversation_id}", style="bold"), align="left"
                        )
                try:
                    if service is not None:
                        guidance = service.ingest(
                            row.conversation_id,
                            event,
                            create=True,
                            customer_name=row.customer_name,
                        )
                    else:
                        guidance = _coach_for(coaches, engine, row).feed(event)
                except EventError as exc:
                    sys.stderr.write(f"{reader.name}:{row.line}: skipped: {exc.message}\n")
                    continue
                blocked = blocked or guidance.blocked
                if json_out is not None:
                    json_out.emit(guidance_record(row, guidance))
                    continue
                out.print(guidance_panel(engine, row, guidance))
                if guidance.incident is not None:
                    out.print(incident_panel(guidance))
        finally:
            if json_out is not None:
                json_out.close()
        if not seen:
            raise CalmlineError(f"{reader.name}: no usable messages")
    if blocked:
        err.print("A reply was sent that the playbook would have blocked.")
        raise typer.Exit(1)
