"""Cost of the boundary protocol at run time: reading an agent's message for acts, moving the
state machine, and the premature-end check, in microseconds per call; and how reading acts
grows on long hostile input.

Messages: every draft of benchmarks/data/drafts.txt, every D1-D5 script line of the default
playbook, and the agent sentences of tests/cases/protocol/*.yml. Growth: agent-like texts of
10 and 100 KB packed with the protocol's own words (conditionals, endings, negations), where a
reader that compares phrases with each other would go quadratic.

Targets: classify_acts p99 well under the coach's 2 ms step budget; growth exponent near 1.

    .venv/bin/python benchmarks/protocol_acts.py             # about 10 seconds
    .venv/bin/python benchmarks/protocol_acts.py --rounds 5  # quicker, rougher tail
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml

import harness
from calmline import load_playbook
from calmline.coach.protocol import (
    ProtocolMachine,
    classify_acts,
    premature_end_finding,
    protocol_line,
)

DATA = harness.BENCH_DIR / "data"
CASES = harness.REPO / "tests" / "cases" / "protocol"
TARGET_P99_US = 2000.0
#: Units repeated to build the long inputs: each one full of the words the acts look for.
GROWTH_UNITS = {
    "warnings": "If you keep shouting, I will have no option but to end this call. ",
    "negated_ends": "I'm not going to end this conversation, I want to help. ",
    "conditionals_then_end": "if unless otherwise should this or else one more ",
    "requests": "please stop please stop please stop shouting at me ",
}
GROWTH_SIZES = (10_000, 100_000)


def messages() -> list[str]:
    protocol = load_playbook().protocol
    found = [
        line.strip()
        for line in (DATA / "drafts.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for step, lines in protocol.scripts.items():
        for n in range(len(lines)):
            line = protocol_line(protocol, step, customer_name="Sam", variant=n)
            if line:
                found.append(line)
    for path in sorted(CASES.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for key in ("fires", "silent", "nothing"):
            found += data.get(key) or []
    return found


def micros(fn: Callable[[], object], rounds: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU microseconds of ``rounds`` calls of ``fn``."""
    wall: list[float] = []
    cpu: list[float] = []
    gc.collect()
    for _ in range(rounds):
        c0 = time.thread_time_ns()
        t0 = time.perf_counter_ns()
        fn()
        wall.append((time.perf_counter_ns() - t0) / 1000)
        cpu.append((time.thread_time_ns() - c0) / 1000)
    return wall, cpu


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


def main() -> None:
    p = harness.parser(__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=30, help="passes over the messages")
    args = p.parse_args()
    facts = harness.machine(pin=not args.no_pin, cpu=args.cpu)
    protocol = load_playbook().protocol
    texts = messages()
    for text in texts:  # warm: the phrase matcher is built on the first call
        classify_acts(text, protocol)

    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(args.rounds):
        for text in texts:
            w, c = micros(lambda text=text: classify_acts(text, protocol), 1)
            wall += w
            cpu += c
    rows = [summary("classify_acts, one agent message", wall, cpu)]

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    acts = ("make_aware", "ask_to_stop", "warn", "warn", "invite_back", "end")

    def whole_protocol() -> None:
        machine = ProtocolMachine(protocol)
        for i, act in enumerate(acts):
            machine.apply(act, at=t0 + timedelta(seconds=i), event_id=f"e{i}", quote="...")

    w, c = micros(whole_protocol, args.rounds * 100)
    per_step = [x / len(acts) for x in w], [x / len(acts) for x in c]
    rows.append(summary("ProtocolMachine.apply, per step (new machine, D1-D5 and end)", *per_step))

    warned = ProtocolMachine(protocol)
    for i, act in enumerate(("make_aware", "ask_to_stop", "warn")):
        warned.apply(act, at=t0 + timedelta(seconds=i), event_id=f"e{i}", quote="...")
    draft = "I understand you're upset, but I'm ending this call now."
    w, c = micros(
        lambda: premature_end_finding(draft, warned, protocol, customer_name="Sam"),
        args.rounds * 100,
    )
    rows.append(summary("premature_end_finding, a premature end after one warning", w, c))

    growth = []
    for family, unit in GROWTH_UNITS.items():
        times = {}
        for size in GROWTH_SIZES:
            text = (unit * (size // len(unit) + 1))[:size]
            _, c = micros(lambda text=text: classify_acts(text, protocol), 3)
            times[size] = min(c)
        small, large = GROWTH_SIZES
        exponent = math.log(times[large] / times[small]) / math.log(large / small)
        growth.append(
            {
                "family": family,
                "ms_10kb": times[small] / 1000,
                "ms_100kb": times[large] / 1000,
                "exponent": exponent,
            }
        )

    print("# Boundary protocol at run time\n")
    harness.print_machine(facts)
    print(f"{len(texts)} agent messages, {args.rounds} rounds.\n")
    print(
        harness.table(
            ["what", "calls", "p50 µs", "p90 µs", "p99 µs", "max µs", "CPU p99 µs"],
            [
                [
                    r[k]
                    for k in ("what", "calls", "p50_us", "p90_us", "p99_us", "max_us", "cpu_p99_us")
                ]
                for r in rows
            ],
        )
    )
    print(
        f"\nTarget: classify_acts p99 ≤ {TARGET_P99_US:,.0f} µs (the coach's whole step budget).\n"
    )
    print(
        harness.table(
            ["long input", "10 KB ms (CPU)", "100 KB ms (CPU)", "growth exponent"],
            [[g["family"], g["ms_10kb"], g["ms_100kb"], f"{g['exponent']:.2f}"] for g in growth],
        )
    )
    harness.save(
        "protocol_acts",
        args.out,
        {
            "machine": facts,
            "messages": len(texts),
            "rounds": args.rounds,
            "latency": rows,
            "growth": growth,
            "target_p99_us": TARGET_P99_US,
        },
        args.no_save,
    )


if __name__ == "__main__":
    main()
