"""Latency of one coach step (Coach.feed), without storage: p50, p90, p99 and max in microseconds.

Conversations are replayed event by event through a fresh ``calmline.coach.coach.Coach`` each:
the built-in demo conversation and the test transcripts (tests/cases/transcripts/*.jsonl),
with every agent reply fed twice, first as a draft (checked, nothing moves) and then as the
sent message (checked, the protocol and pacing move on). Each ``feed`` call is timed on its
own, by event kind, on the wall clock and in CPU time.

Target: p99 at or under 2 ms per step.

    .venv/bin/python benchmarks/coach_latency.py              # about 20 seconds
    .venv/bin/python benchmarks/coach_latency.py --rounds 20  # quicker, rougher tail
"""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import calmline
import harness
from calmline.coach.coach import Coach
from calmline.coach.events import Event, EventKind
from calmline.core.types import Role
from calmline.transcript import TranscriptReader, TranscriptRow

TARGET_P99_US = 2000.0
TRANSCRIPTS = harness.REPO / "tests" / "cases" / "transcripts"


def conversations(paths: Sequence[Path]) -> list[tuple[str | None, list[Event]]]:
    """(customer name, events) per conversation: agent rows become a draft and a sent message."""
    grouped: dict[tuple[str, str], list[TranscriptRow]] = {}
    for path in paths:
        for item in TranscriptReader(path):
            if isinstance(item, TranscriptRow):
                grouped.setdefault((path.name, item.conversation_id), []).append(item)
    out = []
    start = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    for rows in grouped.values():
        events: list[Event] = []
        name = next((r.customer_name for r in rows if r.customer_name), None)
        for n, row in enumerate(rows):
            at = start + timedelta(seconds=30 * n)
            if row.role is Role.CUSTOMER:
                events.append(Event(f"c{n}", EventKind.CUSTOMER_MESSAGE, at, row.text))
                continue
            draft_at = at - timedelta(seconds=5)
            events.append(Event(f"d{n}", EventKind.AGENT_DRAFT, draft_at, row.text))
            events.append(Event(f"a{n}", EventKind.AGENT_MESSAGE, at, row.text, author="Agent"))
        out.append((name, events))
    return out


def measure(
    convs: list[tuple[str | None, list[Event]]], rounds: int, seed: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Microseconds per feed() by event kind: wall clock and CPU time."""
    engine = calmline.default_engine()
    wall: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    rng = random.Random(seed)
    order = list(range(len(convs)))
    gc.disable()
    try:
        for r in range(rounds):
            rng.shuffle(order)
            for i in order:
                name, events = convs[i]
                coach = Coach(engine, conversation_id=f"bench-{r}-{i}", customer_name=name)
                for event in events:
                    if coach.closed and event.kind is not EventKind.AGENT_DRAFT:
                        break
                    c0, t0 = time.process_time_ns(), time.perf_counter_ns()
                    coach.feed(event)
                    t1, c1 = time.perf_counter_ns(), time.process_time_ns()
                    kind = event.kind.value
                    wall.setdefault(kind, []).append((t1 - t0) / 1000)
                    cpu.setdefault(kind, []).append((c1 - c0) / 1000)
            gc.collect()
    finally:
        gc.enable()
    for store in (wall, cpu):
        store["all events"] = [v for k, vs in list(store.items()) for v in vs]
    return wall, cpu


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "calls": len(ordered),
        "p50_us": harness.percentile(ordered, 50),
        "p90_us": harness.percentile(ordered, 90),
        "p99_us": harness.percentile(ordered, 99),
        "max_us": ordered[-1],
    }


def main(argv: Sequence[str] | None = None) -> None:
    p = harness.parser(__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=100, help="times every conversation is replayed")
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args(argv)

    facts = harness.machine(("calmline",), pin=not args.no_pin, cpu=args.cpu)
    demo = Path(str(resources.files("calmline").joinpath("demo/conversation.jsonl")))
    paths = [demo, *sorted(TRANSCRIPTS.glob("*.jsonl"))]
    paths = [p for p in paths if p.name not in ("bad_rows.jsonl",)]
    convs = conversations(paths)
    measure(convs, 2, args.seed)  # warm up: caches, first imports
    wall, cpu = measure(convs, args.rounds, args.seed)
    stats = {kind: summary(v) for kind, v in wall.items()}
    cpu_stats = {kind: summary(v) for kind, v in cpu.items()}

    print("# calmline coach step latency (no storage)\n")
    harness.print_machine(facts)
    events = sum(len(e) for _, e in convs)
    print(
        f"{len(convs)} conversations ({events} events: agent replies fed as a draft, then "
        f"sent) from {', '.join(p.name for p in paths)}, replayed {args.rounds} times, "
        "one feed() timed at a time.\n"
    )
    print("## Microseconds per Coach.feed call (wall clock)\n")
    rows = [
        [k, s["calls"], s["p50_us"], s["p90_us"], s["p99_us"], s["max_us"]]
        for k, s in stats.items()
    ]
    print(harness.table(["event", "calls", "p50", "p90", "p99", "max"], rows))
    print("\n## CPU microseconds per call\n")
    rows = [[k, s["p50_us"], s["p99_us"]] for k, s in cpu_stats.items()]
    print(harness.table(["event", "p50", "p99"], rows))
    overall = stats["all events"]["p99_us"]
    verdict = "meets" if overall <= TARGET_P99_US else "misses"
    print(f"\np99 over all events: {overall:.0f} µs: {verdict} the {TARGET_P99_US:.0f} µs target.")
    payload: dict[str, Any] = {
        "machine": facts,
        "files": [p.name for p in paths],
        "conversations": len(convs),
        "events": events,
        "rounds": args.rounds,
        "target_p99_us": TARGET_P99_US,
        "wall_us": stats,
        "cpu_us": cpu_stats,
    }
    harness.save("coach_latency", args.out, payload, args.no_save)


if __name__ == "__main__":
    main()
