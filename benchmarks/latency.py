"""Latency of calmline.check_reply per draft: p50, p90, p99 and max in microseconds.

Every draft of benchmarks/data/drafts.txt (clean replies and replies with the problems the
playbook warns about) is checked one call at a time, three ways:

- no context: ``calmline.check_reply(draft)``;
- a prebuilt context: ``calmline.check_reply(draft, engine.context(turns))``, the way a live
  coaching session holds the conversation and checks each new draft against it;
- the raw 6-turn list: ``calmline.check_reply(draft, turns)``: the engine reads the customer
  turns a rule needs (the ones the draft answers) and remembers recent ones, so after the
  first call this costs about what a prebuilt context does.

Target: p99 at or under 1 ms in every mode.

    .venv/bin/python benchmarks/latency.py               # about 10 seconds
    .venv/bin/python benchmarks/latency.py --rounds 10   # quicker, rougher tail
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

import calmline
import harness
from calmline import Engine, ReplyCheck, ReplyContext, Role, Turn, build_engine, load_playbook

TARGET_P99_US = 1000.0
DATA = harness.BENCH_DIR / "data"


def read_lines(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def read_turns(path: Path) -> list[Turn]:
    turns = []
    for line in read_lines(path):
        role, _, text = line.partition(":")
        turns.append(Turn(Role(role.strip()), text.strip()))
    return turns


def measure(
    modes: dict[str, Callable[[str], ReplyCheck]],
    drafts: Sequence[str],
    rounds: int,
    seed: int,
) -> tuple[dict[str, list[float]], dict[str, list[float]], dict[str, dict[str, list[float]]]]:
    """Microseconds per call for every mode: wall clock, CPU time, and wall clock per draft.

    Rounds alternate the modes and shuffle the drafts, so a burst of noise on the machine
    does not land on one mode only. The CPU time of the calling thread is read beside the
    wall clock: on a shared core the two part, and the CPU time is the code's own cost.
    """
    rng = random.Random(seed)
    wall: dict[str, list[float]] = {m: [] for m in modes}
    cpu: dict[str, list[float]] = {m: [] for m in modes}
    per_draft: dict[str, dict[str, list[float]]] = {m: {d: [] for d in drafts} for m in modes}
    order = list(drafts)
    clock = time.perf_counter_ns
    cpu_clock = time.thread_time_ns
    for _ in range(rounds):
        rng.shuffle(order)
        for mode, fn in modes.items():
            gc.collect()
            samples = wall[mode]
            cpu_samples = cpu[mode]
            mine = per_draft[mode]
            for draft in order:
                cpu_start = cpu_clock()
                start = clock()
                fn(draft)
                took = (clock() - start) / 1000.0
                cpu_samples.append((cpu_clock() - cpu_start) / 1000.0)
                samples.append(took)
                mine[draft].append(took)
    return wall, cpu, per_draft


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "calls": len(ordered),
        "mean_us": statistics.fmean(ordered),
        "p50_us": harness.percentile(ordered, 50),
        "p90_us": harness.percentile(ordered, 90),
        "p99_us": harness.percentile(ordered, 99),
        "p999_us": harness.percentile(ordered, 99.9),
        "max_us": ordered[-1],
    }


def rule_breakdown(
    drafts: Sequence[str], turns: list[Turn], name: str, rounds: int, seed: int
) -> list[dict[str, Any]]:
    """check_reply with only one rule on (and with none), against the prebuilt context."""
    rule_ids = sorted(load_playbook().rules)
    rows: list[dict[str, Any]] = []
    for only in [None, *rule_ids]:
        off = {rule: {"enabled": False} for rule in rule_ids if rule != only}
        label = only or "(none)"
        try:
            engine = build_engine(load_playbook(text=yaml.safe_dump({"rules": off}).encode()))
        except calmline.CalmlineError as exc:
            rows.append({"rule": label, "error": str(exc)})
            continue
        ctx = engine.context(turns, customer_name=name)

        def check(d: str, engine: Engine = engine, ctx: ReplyContext = ctx) -> ReplyCheck:
            return engine.check_reply(d, ctx)

        for d in drafts:  # warm-up
            check(d)
        _, cpu, _ = measure({"one": check}, drafts, rounds, seed)
        s = summary(cpu["one"])
        rows.append({"rule": label, **s})
    base = next((r for r in rows if r["rule"] == "(none)" and "mean_us" in r), None)
    for row in rows:
        if base is not None and "mean_us" in row:
            row["mean_over_none_us"] = row["mean_us"] - base["mean_us"]
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    p = harness.parser(__doc__.splitlines()[0])
    p.add_argument("--drafts", type=Path, default=DATA / "drafts.txt", help="one draft a line")
    p.add_argument(
        "--context",
        type=Path,
        default=DATA / "context.txt",
        help="the conversation, one 'customer: ...' or 'agent: ...' turn a line",
    )
    p.add_argument("--rounds", type=int, default=100, help="times each draft is checked per mode")
    p.add_argument("--name", default="Dana", help="the customer's name given with the context")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument(
        "--rule-rounds",
        type=int,
        default=10,
        help="rounds per rule in the one-rule-at-a-time table (0 skips it)",
    )
    args = p.parse_args(argv)

    facts = harness.machine(("calmline", "pyahocorasick"), pin=not args.no_pin, cpu=args.cpu)
    drafts = read_lines(harness.require(args.drafts, "the drafts file"))
    turns = read_turns(harness.require(args.context, "the context file"))
    engine = calmline.default_engine()
    ctx = engine.context(turns, customer_name=args.name)
    name = args.name

    modes: dict[str, Callable[[str], ReplyCheck]] = {
        "no context": lambda d: calmline.check_reply(d),
        f"prebuilt context ({len(turns)} turns)": lambda d: calmline.check_reply(d, ctx),
        f"raw turns ({len(turns)} turns)": lambda d: calmline.check_reply(
            d, turns, customer_name=name
        ),
    }
    # What the drafts trigger, so a reader can see the rules were exercised (and warm up).
    fired: dict[str, Counter[str]] = {}
    flagged: dict[str, int] = {}
    for mode, fn in modes.items():
        counts: Counter[str] = Counter()
        n = 0
        for draft in drafts:
            check = fn(draft)
            counts.update(f.rule for f in check.findings)
            n += bool(check.findings)
        fired[mode] = counts
        flagged[mode] = n

    wall, cpu, per_draft = measure(modes, drafts, args.rounds, args.seed)
    stats = {mode: summary(samples) for mode, samples in wall.items()}
    cpu_stats = {mode: summary(samples) for mode, samples in cpu.items()}

    print("# calmline check_reply latency\n")
    harness.print_machine(facts)
    print(
        f"{len(drafts)} drafts from {args.drafts.name}, each checked {args.rounds} times per mode "
        f"(one call timed at a time, rounds shuffled and interleaved); context: "
        f"{len(turns)} turns from {args.context.name}.\n"
    )
    print("## Microseconds per check_reply call\n")
    rows = []
    for mode, s in stats.items():
        verdict = "meets" if s["p99_us"] <= TARGET_P99_US else "MISSES"
        rows.append(
            (
                mode,
                s["calls"],
                s["mean_us"],
                s["p50_us"],
                s["p90_us"],
                s["p99_us"],
                s["max_us"],
                f"{verdict} p99 <= {TARGET_P99_US:.0f} µs",
            )
        )
    print(
        harness.table(
            ["mode", "calls", "mean", "p50", "p90", "p99", "max", "target"], rows, "lrrrrrrl"
        )
    )
    print(
        "\nWall-clock time, the figure the target is set on. The max is one call out of "
        "thousands and mostly shows the machine (a scheduler tick, a garbage collection)."
    )
    print("\n## CPU microseconds per call (the thread's own time)\n")
    print(
        "Time the calling thread spent on the CPU; where it is well below the wall clock above, "
        "another process was sharing the core and these are the figures a quiet core would "
        "give (to within the clock's resolution).\n"
    )
    print(
        harness.table(
            ["mode", "mean", "p50", "p90", "p99", "max"],
            [
                (mode, s["mean_us"], s["p50_us"], s["p90_us"], s["p99_us"], s["max_us"])
                for mode, s in cpu_stats.items()
            ],
        )
    )

    print("\n## Slowest drafts (median µs over the rounds)\n")
    heavy = list(modes)[-1]
    medians = sorted(((statistics.median(v), d) for d, v in per_draft[heavy].items()), reverse=True)
    print(
        harness.table(
            ["draft", *[m.split(" (")[0] for m in modes]],
            [
                (
                    d if len(d) <= 70 else d[:67] + "...",
                    *[statistics.median(per_draft[m][d]) for m in modes],
                )
                for _, d in medians[:8]
            ],
        )
    )

    print("\n## What the drafts triggered\n")
    print(
        harness.table(
            ["mode", "drafts with findings", "findings by rule"],
            [
                (
                    mode,
                    f"{flagged[mode]} of {len(drafts)}",
                    ", ".join(f"{r} {n}" for r, n in sorted(fired[mode].items())) or "none",
                )
                for mode in modes
            ],
            "lrl",
        )
    )

    rules: list[dict[str, Any]] = []
    if args.rule_rounds:
        rules = rule_breakdown(drafts, turns, name, args.rule_rounds, args.seed)
        print("\n## One rule at a time (prebuilt context, CPU µs per call)\n")
        print(
            "Each row is an engine with only that rule on; `(none)` is reading the draft, the "
            "credits and the empty rule loop. The increment is that rule's own cost over these "
            "drafts, fixes and their re-check included.\n"
        )
        print(
            harness.table(
                ["rule", "mean", "p50", "p99", "max", "mean over (none)"],
                [
                    (
                        r["rule"],
                        r["mean_us"],
                        r["p50_us"],
                        r["p99_us"],
                        r["max_us"],
                        r.get("mean_over_none_us"),
                    )
                    if "error" not in r
                    else (r["rule"], "error", r["error"][:80], "", "", "")
                    for r in rules
                ],
            )
        )

    payload: dict[str, Any] = {
        "machine": facts,
        "drafts": {"file": str(args.drafts), "count": len(drafts), "rounds": args.rounds},
        "context_turns": len(turns),
        "target_p99_us": TARGET_P99_US,
        "modes": stats,
        "modes_cpu_time": cpu_stats,
        "slowest": [{"draft": d, "median_us": m} for m, d in medians[:8]],
        "findings_by_rule": {m: dict(c) for m, c in fired.items()},
        "drafts_with_findings": flagged,
        "rules": rules,
    }
    harness.save("latency", args.out, payload, args.no_save)


if __name__ == "__main__":
    main()
