"""`calmline notify`: run the delivery worker, see what is waiting, send a test notification.

``run`` and ``status`` read the database and never create one: a missing SQLite file or an
unmigrated database is an error that says to run ``calmline db upgrade``. A misconfigured
channel (a webhook without its secret, email without recipients) stops every command before
anything is sent.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table
from rich.text import Text
from sqlalchemy.orm import Session, sessionmaker

from calmline.cli import (
    EXIT_BLOCKED,
    FormatOption,
    OutputFormat,
    _input_errors,
    _say_error,
    _write_json,
    out,
)
from calmline.cli.db import DatabaseUrlOption
from calmline.errors import NotifyError
from calmline.notify import (
    CHANNEL_NAMES,
    DeliveryReport,
    Notification,
    OutboxStatus,
    configure_channels,
    deliver_due,
    outbox_status,
    run_worker,
)
from calmline.notify.webhook import public_url
from calmline.settings import AppSettings, load_settings
from calmline.store.db import check_schema, make_engine, make_session_factory

notify_app = typer.Typer(
    help="Deliver incident notifications to line managers (D7) and check on them.",
    no_args_is_help=True,
)

SettingsOption = Annotated[
    Path | None,
    typer.Option(
        "--settings",
        metavar="FILE",
        help="A settings file of CALMLINE_*=value lines (environment variables win over it).",
        show_default=False,
    ),
]

#: The log lines ``notify run`` prints on stderr: when, how bad, which part, what.
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _settings(settings_file: Path | None) -> AppSettings:
    return load_settings(settings_file)


@contextmanager
def _outbox(database_url: str | None, settings: AppSettings) -> Iterator[sessionmaker[Session]]:
    """Sessions on an existing, migrated database (a StoreError otherwise)."""
    engine = make_engine(database_url or settings.resolved_database_url, must_exist=True)
    try:
        check_schema(engine)
        yield make_session_factory(engine)
    finally:
        engine.dispose()


@contextmanager
def _log_to_stderr() -> Iterator[None]:
    """calmline's log lines (deliveries, failures, the log channel) on stderr, for journald."""
    logger = logging.getLogger("calmline")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    before = logger.level
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(before)


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT (Ctrl-C) and SIGTERM (systemd stop) finish the current delivery, then stop."""

    def _stop(signum: int, frame: FrameType | None) -> None:
        logging.getLogger("calmline.notify.worker").info(
            "%s received: stopping after the current delivery", signal.Signals(signum).name
        )
        stop.set()

    previous = {s: signal.signal(s, _stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


# ----- calmline notify run ------------------------------------------------------------------------


@notify_app.command("run")
def run_command(
    once: Annotated[
        bool,
        typer.Option("--once", help="Deliver what is due now, then exit (for cron or a timer)."),
    ] = False,
    poll_seconds: Annotated[
        float,
        typer.Option(
            "--poll-seconds",
            metavar="SECONDS",
            min=0.1,
            help="How long the worker waits between rounds when nothing is left to deliver.",
        ),
    ] = 5.0,
    limit: Annotated[
        int,
        typer.Option("--limit", metavar="N", min=1, help="At most N deliveries in one round."),
    ] = 100,
    database_url: DatabaseUrlOption = None,
    settings_file: SettingsOption = None,
) -> None:
    """Deliver pending notifications, retrying failed ones, until stopped (Ctrl-C or SIGTERM).

    Every delivery and failure is one log line on stderr; no message text is ever logged.
    """
    with _input_errors():
        settings = _settings(settings_file)
        channels = configure_channels(settings.notify)
        with _outbox(database_url, settings) as sessions, _log_to_stderr():
            if once:
                report = deliver_due(sessions, settings.notify, limit=limit, channels=channels)
                _print_report(report)
                return
            stop = threading.Event()
            with _stop_on_signals(stop):
                run_worker(
                    sessions,
                    settings.notify,
                    stop,
                    poll_seconds=poll_seconds,
                    limit=limit,
                    channels=channels,
                )


def _print_report(report: DeliveryReport) -> None:
    if not report.attempts:
        out.print(Text("Nothing was due.", style="dim"))
        return
    text = Text.assemble(
        (f"{report.delivered} delivered", "green" if report.delivered else "dim"),
        ", ",
        (f"{report.failed} failed", "red" if report.failed else "dim"),
    )
    if report.more_due:
        text.append(" (more are due: run again)", style="yellow")
    out.print(text, soft_wrap=True)
    for attempt in report.attempts:
        if not attempt.delivered and attempt.next_attempt_at is not None:
            line = (
                f"  notification {attempt.notification_id} ({attempt.channel}): "
                f"{attempt.error}; next try {_when(attempt.next_attempt_at)}"
            )
            out.print(Text(line, style="red"), soft_wrap=True)


# ----- calmline notify status ---------------------------------------------------------------------


@notify_app.command("status")
def status_command(
    database_url: DatabaseUrlOption = None,
    settings_file: SettingsOption = None,
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """Show how many notifications are pending and delivered, and what each waiting one is stuck on.

    Exits 1 when a notification has failed and is still waiting (for monitoring), else 0.
    """
    with _input_errors():
        settings = _settings(settings_file)
        with _outbox(database_url, settings) as sessions:
            status = outbox_status(sessions)
    stuck = any(q.head_attempts > 0 for q in status.queues)
    if fmt is OutputFormat.TEXT:
        _print_status(status)
    else:
        _write_json(_status_record(status), pretty=fmt is OutputFormat.JSON)
    if stuck:
        raise typer.Exit(EXIT_BLOCKED)


def _shown_target(channel: str, target: str) -> str:
    """A target as it may be printed: a webhook URL without its path or query (tokens)."""
    return public_url(target) if channel == "webhook" else target


def _status_record(status: OutboxStatus) -> dict[str, Any]:
    oldest = status.oldest_pending
    return {
        "counts": status.counts,
        "oldest_pending_at": oldest.oldest_created_at.isoformat() if oldest else None,
        "last_delivered_at": (
            status.last_delivered_at.isoformat() if status.last_delivered_at else None
        ),
        "waiting": [
            {
                "channel": q.channel,
                "target": _shown_target(q.channel, q.target),
                "pending": q.pending,
                "oldest_created_at": q.oldest_created_at.isoformat(),
                "next_id": q.head_id,
                "attempts": q.head_attempts,
                "next_attempt_at": q.head_next_attempt_at.isoformat(),
                "last_error": q.head_last_error,
            }
            for q in status.queues
        ],
    }


def _print_status(status: OutboxStatus) -> None:
    counts = ", ".join(f"{n} {name}" for name, n in status.counts.items())
    out.print(Text.assemble(("Notifications: ", "bold"), counts))
    last = status.last_delivered_at
    out.print(Text(f"Last delivery: {_when(last) if last else 'none yet'}", style="dim"))
    if not status.queues:
        out.print(Text("Nothing is waiting.", style="green"))
        return
    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    for column in ("channel", "to", "pending", "oldest", "next", "attempts", "next try", "error"):
        table.add_column(column, overflow="fold")
    for q in status.queues:
        table.add_row(
            q.channel,
            _shown_target(q.channel, q.target),
            str(q.pending),
            _when(q.oldest_created_at),
            str(q.head_id),
            str(q.head_attempts),
            _when(q.head_next_attempt_at),
            Text(q.head_last_error or "", style="red"),
        )
    out.print(table)


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# ----- calmline notify test -----------------------------------------------------------------------


@notify_app.command("test")
def test_command(
    channel: Annotated[
        str | None,
        typer.Option(
            "--channel",
            metavar="NAME",
            help="Only this channel: webhook, email or log. Default: every configured channel.",
            show_default=False,
        ),
    ] = None,
    settings_file: SettingsOption = None,
) -> None:
    """Send a test notification through each configured channel and say whether it arrived.

    Needs no database. Exits 0 when every channel delivered, 1 when one failed.
    """
    with _input_errors():
        if channel is not None and channel not in CHANNEL_NAMES:
            raise NotifyError(f"--channel: {channel!r} is not one of {', '.join(CHANNEL_NAMES)}")
        settings = _settings(settings_file)
        channels = configure_channels(settings.notify)
        chosen = [c for c in channels if channel in (None, c.name)]
        if not chosen:
            which = f"the {channel} channel is" if channel else "no channel is"
            raise NotifyError(f"{which} configured; see docs/notifications.md")
    sent_at = datetime.now(UTC)
    failed = 0
    with _log_to_stderr():
        for each in chosen:
            notification = Notification(
                delivery_id=f"test-{sent_at:%Y%m%dT%H%M%SZ}",
                kind="test",
                channel=each.name,
                target=each.default_target,
                payload={
                    "kind": "test",
                    "sent_at": sent_at.isoformat(),
                    "message": "A test notification from calmline: this channel works.",
                },
                created_at=sent_at,
            )
            try:
                each.deliver(notification)
            except NotifyError as exc:
                failed += 1
                failure = Text.assemble(("failed ", "bold red"), f"{each.describe()}: {exc}")
                out.print(failure, soft_wrap=True)
                continue
            out.print(Text.assemble(("sent ", "bold green"), each.describe()), soft_wrap=True)
    if failed:
        _say_error(f"{failed} of {len(chosen)} channels could not deliver the test notification")
        raise typer.Exit(EXIT_BLOCKED)
