"""Cost of pacing advice and relent advice at run time, in microseconds per call, and how the
wall-of-text count grows on long input.

Pacing: a Pacer fed a conversation that alternates hostile customer messages (analysed once,
before timing) with the agent drafts of benchmarks/data/drafts.txt, each draft checked and then
sent; the figure is one Pacer call (customer message, draft or sent message). Relent: advise_relent
on every case of tests/cases/relent/*.yml, wording included. Growth: text_size (words and
sentences, what the wall-of-text check reads) on 10 and 100 KB of agent text.

Targets: each call well under the coach's 2 ms step budget; growth exponent near 1.

    .venv/bin/python benchmarks/pacing_relent.py             # about 15 seconds
    .venv/bin/python benchmarks/pacing_relent.py --rounds 5  # quicker, rougher tail
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import yaml

import harness
from calmline import default_engine
from calmline.coach.events import Event, EventKind
from calmline.coach.pacing import Pacer, text_size
from calmline.coach.relent import Figure, RelentRequest, advise_relent

DATA = harness.BENCH_DIR / "data"
CASES = harness.REPO / "tests" / "cases" / "relent"
TARGET_P99_US = 2000.0
HOSTILE = (
    "This is the third time I have called, it is a joke!",
    "You people are USELESS, sort it out!",
    "I am fed up with this, it is a shambles.",
    "WHERE IS MY MONEY?? This is ridiculous!",
)
GROWTH_UNIT = "I'm sorry about the wait. We're on it, and it'll be fixed by 3.30pm today! "
GROWTH_SIZES = (10_000, 100_000)


def drafts() -> list[str]:
    return [
        line.strip()
        for line in (DATA / "drafts.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]


def relent_requests() -> list[tuple[RelentRequest, str | None]]:
    engine = default_engine()
    out = []
    for path in sorted(CASES.glob("*.yml")):
        inputs = yaml.safe_load(path.read_text(encoding="utf-8"))["inputs"]
        common: dict[str, Any] = {
            "policy": Figure.parse(str(inputs["policy"])),
            "claim": inputs.get("claim"),
            "annual_spend": inputs.get("annual_spend", 0.0),
            "tenure_years": inputs.get("tenure_years", 0.0),
            "audience": inputs.get("audience", 0),
            "promised": inputs.get("promised", False),
            "reason": inputs.get("reason"),
        }
        if "message" in inputs:
            analysis = engine.analyze_message(inputs["message"])
            request = RelentRequest.from_message(analysis, **common)
        else:
            request = RelentRequest(
                demand=Figure.parse(str(inputs["demand"])),
                threats=frozenset(inputs.get("threats", ())),
                **common,
            )
        out.append((request, inputs.get("name")))
    return out


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    c0 = time.thread_time_ns()
    t0 = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - t0) / 1000, (time.thread_time_ns() - c0) / 1000


def summary(name: str, wall: Sequence[float], cpu: Sequence[float]) -> dict[str, Any]:
    w, c = sorted(wall), sorted(cpu)
    return {
        "what": name,
        "calls": len(w),
        "p50_us": harness.percentile(w, 50),
        "p90_us": harness.percentile(w, 90),
        "p99_us": harness.percentile(w, 99),
        "max_us": w[-1],
        "cpu_p99_us": harness.percentile(c, 99),
    }


def pacing_rows(texts: Sequence[str], rounds: int) -> list[dict[str, Any]]:
    engine = default_engine()
    analyses = [engine.analyze_message(t) for t in HOSTILE]
    kinds: dict[str, tuple[list[float], list[float]]] = {
        k: ([], []) for k in ("customer_message", "agent_draft", "agent_message")
    }
    start = datetime(2026, 1, 1, tzinfo=UTC)
    gc.collect()
    for _ in range(rounds):
        pacer = Pacer(engine.settings.pacing)  # type: ignore[attr-defined]
        at = start
        for n, text in enumerate(texts):
            at += timedelta(seconds=7)
            i = n % len(HOSTILE)
            customer = Event(f"c{n}", EventKind.CUSTOMER_MESSAGE, at, HOSTILE[i])
            w, c = timed(partial(pacer.customer_message, customer, analyses[i]))
            kinds["customer_message"][0].append(w)
            kinds["customer_message"][1].append(c)
            at += timedelta(seconds=1)
            draft = Event(f"d{n}", EventKind.AGENT_DRAFT, at, text)
            w, c = timed(partial(pacer.agent_draft, draft))
            kinds["agent_draft"][0].append(w)
            kinds["agent_draft"][1].append(c)
            sent = Event(f"a{n}", EventKind.AGENT_MESSAGE, at, text, duration_s=8.0)
            w, c = timed(partial(pacer.agent_message, sent))
            kinds["agent_message"][0].append(w)
            kinds["agent_message"][1].append(c)
    return [summary(f"Pacer.{kind}", *times) for kind, times in kinds.items()]


def relent_rows(rounds: int) -> list[dict[str, Any]]:
    requests = relent_requests()
    engine = default_engine()
    for request, name in requests:  # warm
        advise_relent(request, engine=engine, customer_name=name)
    wall: list[float] = []
    cpu: list[float] = []
    gc.collect()
    for _ in range(rounds * 20):
        for request, name in requests:
            w, c = timed(lambda r=request, n=name: advise_relent(r, engine=engine, customer_name=n))
            wall.append(w)
            cpu.append(c)
    return [summary(f"advise_relent, {len(requests)} cases, wording included", wall, cpu)]


def growth() -> dict[str, Any]:
    times = {}
    for size in GROWTH_SIZES:
        text = (GROWTH_UNIT * (size // len(GROWTH_UNIT) + 1))[:size]
        times[size] = min(timed(lambda text=text: text_size(text))[1] for _ in range(3))
    small, large = GROWTH_SIZES
    return {
        "ms_10kb": times[small] / 1000,
        "ms_100kb": times[large] / 1000,
        "exponent": math.log(times[large] / times[small]) / math.log(large / small),
    }


def main() -> None:
    p = harness.parser(__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=30, help="passes over the drafts")
    args = p.parse_args()
    facts = harness.machine(pin=not args.no_pin, cpu=args.cpu)
    texts = drafts()
    rows = pacing_rows(texts, args.rounds) + relent_rows(args.rounds)
    grown = growth()

    print("# Pacing and relent advice at run time\n")
    harness.print_machine(facts)
    print(f"{len(texts)} agent drafts, {args.rounds} rounds.\n")
    keys = ("what", "calls", "p50_us", "p90_us", "p99_us", "max_us", "cpu_p99_us")
    print(
        harness.table(
            ["what", "calls", "p50 µs", "p90 µs", "p99 µs", "max µs", "CPU p99 µs"],
            [[r[k] for k in keys] for r in rows],
        )
    )
    print(f"\nTarget: p99 ≤ {TARGET_P99_US:,.0f} µs each (the coach's whole step budget).\n")
    print(
        harness.table(
            ["long input", "10 KB ms (CPU)", "100 KB ms (CPU)", "growth exponent"],
            [["text_size", grown["ms_10kb"], grown["ms_100kb"], f"{grown['exponent']:.2f}"]],
        )
    )
    harness.save(
        "pacing_relent",
        args.out,
        {
            "machine": facts,
            "drafts": len(texts),
            "rounds": args.rounds,
            "latency": rows,
            "growth": grown,
            "target_p99_us": TARGET_P99_US,
        },
        args.no_save,
    )


if __name__ == "__main__":
    main()
