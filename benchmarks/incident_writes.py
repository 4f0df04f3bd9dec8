"""Incidents written per second and ingest latency per event, on SQLite and PostgreSQL.

One incident is one conversation ended through the boundary protocol (D1 to D5), fed event by
event through ``ConversationService.ingest``: 10 events, each in its own transaction (lock the
conversation, coach the event, store it with its guidance, update the conversation). The last
event's transaction also writes the incident and three outbox rows (webhook, email, log).

Three ways, on each backend:

- **stored, coach kept**: the service as a live coaching process runs it (the conversation's
  coach stays in memory between events);
- **stored, coach replayed**: ``cached_coaches=0``, as when every event of a conversation
  reaches a different process: the coach is rebuilt from the stored events each time;
- **coach only**: the same events through a ``Coach`` with no storage, the floor.

SQLite is a file in a temporary folder (WAL, ``synchronous`` as SQLite sets it); PostgreSQL is a
fresh database on the local server (``--postgresql-url``, the maintenance database it is
created from), dropped afterwards. The process is pinned to one core; the PostgreSQL server
runs in its own processes, on any core.

    .venv/bin/python benchmarks/incident_writes.py                       # about 2 minutes
    .venv/bin/python benchmarks/incident_writes.py --seconds 2 --repeats 1 --no-postgresql
"""

from __future__ import annotations

import itertools
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

import calmline
import harness
from calmline.coach.coach import Coach
from calmline.coach.events import Event, EventKind
from calmline.settings import NotifySettings
from calmline.store import models
from calmline.store.db import database_url, make_engine, make_session_factory, migrate, shown
from calmline.store.service import ConversationService

DEFAULT_POSTGRESQL = "postgresql://postgres@127.0.0.1:5432/postgres"
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
CUSTOMER = {"customer_name": "Robin Hale", "customer_id": "C-7781", "agent": "Kim"}
#: Every channel configured: each incident queues three notifications (none is delivered here).
NOTIFY = NotifySettings(
    webhook_url="http://127.0.0.1:9/hook",
    smtp_host="127.0.0.1",
    email_to=["lead@example.com"],
    log=True,
)
#: (seconds, who, text): a customer who shouts and swears through D1 to D5.
SCRIPT = [
    (0, "customer", "MY BOILER HAS BEEN BROKEN FOR A WEEK AND NOBODY HAS COME OUT TO FIX IT"),
    (25, "agent", "Robin, I want to help with this. Are you aware that you are shouting at me?"),
    (50, "customer", "OF COURSE I'M SHOUTING, get a f*cking engineer out here"),
    (75, "agent", "Robin, please stop swearing at me so that we can sort out a visit."),
    (100, "customer", "you lot are f*cking hopeless, I WANT MY MONEY BACK"),
    (125, "agent", "Robin, if the swearing carries on I will have no option but to end this chat."),
    (150, "customer", "GO ON THEN, f*ck off"),
    (
        175,
        "agent",
        "This is my second warning, Robin. If the swearing continues I will close this chat.",
    ),
    (200, "customer", "I SAID GET IT FIXED, f*cking hell"),
    (
        225,
        "agent",
        "Robin, I am going to end the conversation now. Please get back in touch when you feel "
        "ready to talk it through calmly and we will book the visit.",
    ),
]


def script_events() -> list[Event]:
    events = []
    for n, (seconds, who, text) in enumerate(SCRIPT, 1):
        kind = EventKind.CUSTOMER_MESSAGE if who == "customer" else EventKind.AGENT_MESSAGE
        author = CUSTOMER["agent"] if who == "agent" else None
        events.append(Event(f"e{n}", kind, T0 + timedelta(seconds=seconds), text, author=author))
    return events


@contextmanager
def sqlite_database(folder: Path | None) -> Iterator[str]:
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        yield f"sqlite:///{Path(tmp) / 'calmline.db'}"


@contextmanager
def postgresql_database(maintenance_url: str) -> Iterator[str]:
    admin = sa.create_engine(database_url(maintenance_url), isolation_level="AUTOCOMMIT")
    name = f"calmline_bench_{secrets.token_hex(6)}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield database_url(maintenance_url).set(database=name).render_as_string(False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


class Player:
    """Plays the script as new conversations, one per call, timing each event."""

    def __init__(self, feed: Callable[[str, Event, bool], object], prefix: str) -> None:
        self.feed = feed
        #: conversation ids are new for every call, and differ between players
        self.prefix = prefix
        self.events = script_events()
        self.ids = itertools.count()
        self.latency_ms: list[float] = []
        self.closing_ms: list[float] = []
        #: CPU time of this thread per event: the code's own cost, without waits for the
        #: disk, the server or a shared core
        self.cpu_ms: list[float] = []
        self.conversations = 0

    def __call__(self) -> int:
        conversation_id = f"{self.prefix}-{next(self.ids)}"
        clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
        last = len(self.events) - 1
        for n, event in enumerate(self.events):
            cpu_start = cpu_clock()
            start = clock()
            self.feed(conversation_id, event, n == 0)
            elapsed = (clock() - start) / 1e6
            self.cpu_ms.append((cpu_clock() - cpu_start) / 1e6)
            self.latency_ms.append(elapsed)
            if n == last:
                self.closing_ms.append(elapsed)
        self.conversations += 1
        return 1


def stored_player(service: ConversationService, prefix: str) -> Player:
    def feed(conversation_id: str, event: Event, first: bool) -> object:
        return service.ingest(conversation_id, event, create=first, **CUSTOMER)

    return Player(feed, prefix)


def coach_player(engine: calmline.Engine) -> Player:
    coaches: dict[str, Coach] = {}

    def feed(conversation_id: str, event: Event, first: bool) -> object:
        if first:
            coaches.clear()
            coaches[conversation_id] = Coach(engine, conversation_id=conversation_id, **CUSTOMER)
        return coaches[conversation_id].feed(event)

    return Player(feed, "coach")


def latency(samples: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50": harness.percentile(ordered, 50),
        "p90": harness.percentile(ordered, 90),
        "p99": harness.percentile(ordered, 99),
        "max": ordered[-1] if ordered else float("nan"),
    }


def measure(player: Player, seconds: float, repeats: int) -> dict[str, Any]:
    harness.warm_up(player, total=3, max_seconds=seconds)
    player.latency_ms.clear()
    player.closing_ms.clear()
    player.cpu_ms.clear()
    rate = harness.rate(player, seconds, repeats)
    return {
        "incidents_per_s": rate.best,
        "events_per_s": rate.best * len(SCRIPT),
        "ms_per_conversation": 1000 / rate.best if rate.best else float("nan"),
        "cpu_share": rate.cpu_share,
        "all_rates": rate.rates,
        "fewest_conversations_per_measurement": rate.fewest,
        "latency_ms": latency(player.latency_ms),
        "closing_event_ms": latency(player.closing_ms),
        "cpu_ms": latency(player.cpu_ms),
        "events_timed": len(player.latency_ms),
    }


def check_written(url: str, conversations: int) -> dict[str, Any]:
    """What the stored runs wrote: one incident and three outbox rows per conversation."""
    engine = make_engine(url)
    with engine.connect() as connection:
        found = {
            table.__tablename__: connection.scalar(sa.select(sa.func.count()).select_from(table))
            for table in (models.Conversation, models.Event, models.Incident, models.Notification)
        }
        if engine.dialect.name == "sqlite":
            found["sqlite_journal_mode"] = connection.exec_driver_sql(
                "PRAGMA journal_mode"
            ).scalar()
            found["sqlite_synchronous"] = connection.exec_driver_sql("PRAGMA synchronous").scalar()
        else:
            found["server_version"] = connection.exec_driver_sql("SHOW server_version").scalar()
            found["synchronous_commit"] = connection.exec_driver_sql(
                "SHOW synchronous_commit"
            ).scalar()
    engine.dispose()
    found["expected_conversations"] = conversations
    return found


def run_backend(
    backend: str, url: str, engine: calmline.Engine, seconds: float, repeats: int
) -> dict[str, Any]:
    db = make_engine(url)
    migrate(db)
    sessions = make_session_factory(db)
    modes = {
        "stored, coach kept": stored_player(ConversationService(sessions, engine, NOTIFY), "kept"),
        "stored, coach replayed": stored_player(
            ConversationService(sessions, engine, NOTIFY, cached_coaches=0), "replayed"
        ),
    }
    results: dict[str, Any] = {"url": shown(url), "modes": {}}
    for mode, player in modes.items():
        print(f"  {backend}: {mode} ...", flush=True)
        results["modes"][mode] = measure(player, seconds, repeats)
    played = sum(p.conversations for p in modes.values())
    db.dispose()
    results["written"] = check_written(url, played)
    return results


def main(argv: Sequence[str] | None = None) -> None:
    p = harness.parser(__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=5.0, help="minimum seconds per measurement")
    p.add_argument("--repeats", type=int, default=3, help="measurements per mode (best is kept)")
    p.add_argument("--sqlite-dir", type=Path, default=None, help="where the SQLite file goes")
    p.add_argument(
        "--postgresql-url",
        default=DEFAULT_POSTGRESQL,
        help=f"the database a bench database is created from (default {DEFAULT_POSTGRESQL})",
    )
    p.add_argument("--no-postgresql", action="store_true", help="measure SQLite only")
    args = p.parse_args(argv)

    facts = harness.machine(
        ("calmline", "sqlalchemy", "alembic", "psycopg"), pin=not args.no_pin, cpu=args.cpu
    )
    engine = calmline.default_engine()
    print("Measuring (progress):", flush=True)
    coach = coach_player(engine)
    print("  coach only ...", flush=True)
    results: dict[str, Any] = {"coach only": measure(coach, args.seconds, args.repeats)}
    backends: dict[str, Any] = {}
    with sqlite_database(args.sqlite_dir) as url:
        backends["sqlite"] = run_backend("sqlite", url, engine, args.seconds, args.repeats)
    if not args.no_postgresql:
        try:
            with postgresql_database(args.postgresql_url) as url:
                backends["postgresql"] = run_backend(
                    "postgresql", url, engine, args.seconds, args.repeats
                )
        except sa.exc.OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0]
            backends["postgresql"] = {"skipped": f"{shown(args.postgresql_url)}: {reason}"}
    results["backends"] = backends

    print("\n# Incident writes and ingest latency\n")
    harness.print_machine(facts)
    print(
        f"One incident = one conversation of {len(SCRIPT)} events ended through D1-D5, each event "
        "its own transaction; the last also writes the incident and 3 outbox rows. Best of "
        f"{args.repeats} measurements of at least {args.seconds:g} s each.\n"
    )
    print("## Incidents per second\n")
    rows = []
    coach_only = results["coach only"]
    rows.append(
        [
            "(no storage)",
            "coach only",
            coach_only["incidents_per_s"],
            coach_only["events_per_s"],
            coach_only["ms_per_conversation"],
            f"{coach_only['cpu_share']:.2f}",
        ]
    )
    for backend, found in backends.items():
        if "skipped" in found:
            rows.append([backend, f"skipped: {found['skipped']}", None, None, None, None])
            continue
        for mode, m in found["modes"].items():
            rows.append(
                [
                    backend,
                    mode,
                    m["incidents_per_s"],
                    m["events_per_s"],
                    m["ms_per_conversation"],
                    f"{m['cpu_share']:.2f}",
                ]
            )
    print(
        harness.table(
            ["backend", "mode", "incidents/s", "events/s", "ms per conversation", "CPU share"],
            rows,
            "llrrrr",
        )
    )
    print("\n## Milliseconds per ingest call\n")
    rows = []
    for backend, found in [
        ("(no storage)", {"modes": {"coach only": coach_only}}),
        *backends.items(),
    ]:
        for mode, m in found.get("modes", {}).items():
            every, closing, cpu = m["latency_ms"], m["closing_event_ms"], m["cpu_ms"]
            rows.append(
                [
                    backend,
                    mode,
                    every["p50"],
                    every["p90"],
                    every["p99"],
                    every["max"],
                    closing["p50"],
                    closing["p99"],
                    cpu["p50"],
                    cpu["p99"],
                ]
            )
    print(
        harness.table(
            [
                "backend",
                "mode",
                "p50",
                "p90",
                "p99",
                "max",
                "closing p50",
                "closing p99",
                "CPU p50",
                "CPU p99",
            ],
            rows,
            "llrrrrrrrr",
        )
    )
    print(
        "\n(closing: the event that ends the conversation and writes the incident and the "
        "outbox; CPU: this thread's CPU time per call, without waits for the disk, the server "
        "or a shared core)\n"
    )
    print("## What was written\n")
    for backend, found in backends.items():
        if "written" in found:
            w = found["written"]
            settings = ", ".join(
                f"{k} {w[k]}"
                for k in (
                    "sqlite_journal_mode",
                    "sqlite_synchronous",
                    "server_version",
                    "synchronous_commit",
                )
                if k in w
            )
            print(
                f"- {backend}: {w['conversations']:,} conversations, {w['events']:,} events, "
                f"{w['incidents']:,} incidents, {w['notifications']:,} outbox rows "
                f"(expected {w['expected_conversations']:,} conversations); {settings}"
            )
    harness.save(
        "incident_writes",
        args.out,
        {"machine": facts, "script_events": len(SCRIPT), **results},
        args.no_save,
    )


if __name__ == "__main__":
    main()
