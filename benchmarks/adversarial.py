"""Worst-case time of analyze_message and check_reply on hostile inputs up to 100 KB.

Every family of benchmarks/hostile_inputs.py (one huge word, 'f*' repeated, spaced letters,
quotes, brackets, combining marks, emoji, RTL marks, lone surrogates, repeated lexicon
phrases, digits, URLs ...) is timed at 10, 50 and 100 thousand characters, through an engine
whose size limit is raised to 200,000 characters by a playbook override. Linear code takes
about 10 times as long at 100 KB as at 10 KB; the growth exponent (1 = linear, 2 = quadratic)
flags anything worse.

A size is skipped when a quadratic projection from the size before it exceeds ``--budget``
seconds per call, so one pathological family cannot hold the run for an hour; the skip is
reported with its projection.

    .venv/bin/python benchmarks/adversarial.py                     # a few minutes
    .venv/bin/python benchmarks/adversarial.py --sizes 1000,10000  # quick look
    .venv/bin/python benchmarks/adversarial.py --only spaced_letters,urls_many
"""

from __future__ import annotations

import gc
import math
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import harness
from calmline import Engine, build_engine, load_playbook
from hostile_inputs import FAMILIES

SUPERLINEAR_EXPONENT = 1.3  # 10 KB -> 100 KB taking 20x or more
OVERRIDE = b"limits: {max_message_chars: 200000}"


def timed(
    call: Callable[[], object], min_total: float, max_calls: int
) -> tuple[float, float, object]:
    """Best wall and CPU seconds per call over a few calls (one when a call is slow)."""
    best = best_cpu = math.inf
    spent = 0.0
    calls = 0
    result: object = None
    while calls < max_calls and (calls == 0 or spent < min_total):
        gc.collect()
        cpu_start = time.process_time()
        start = time.perf_counter()
        result = call()
        took = time.perf_counter() - start
        best_cpu = min(best_cpu, time.process_time() - cpu_start)
        best = min(best, took)
        spent += took
        calls += 1
    return best, best_cpu, result


def outcome(result: object) -> str:
    """A short, sane-looking summary of what came back (or the error raised)."""
    if isinstance(result, BaseException):
        return f"ERROR {type(result).__name__}: {str(result)[:60]}"
    signals = getattr(result, "signals", None)
    if signals is not None:
        kinds = sorted({s.type for s in signals})
        abuse = getattr(result, "abuse", "")
        return f"{len(signals)} signals {','.join(kinds) or '-'}; abuse {abuse}"
    findings = getattr(result, "findings", None)
    if findings is not None:
        rules = sorted({f.rule for f in findings})
        return f"{len(findings)} findings {','.join(rules) or '-'}"
    return type(result).__name__


def run_family(
    engine: Engine,
    text_at: Callable[[int], str],
    fn_name: str,
    sizes: Sequence[int],
    budget: float,
    min_total: float,
    max_calls: int,
) -> dict[str, Any]:
    """Seconds per call of one engine method on one family at each size.

    The growth exponent is taken from CPU time, which another process sharing the core does
    not inflate; the table shows the wall clock.
    """
    fn = getattr(engine, fn_name)
    per_size: dict[int, float | None] = {}
    cpu_per_size: dict[int, float] = {}
    notes: list[str] = []
    last: tuple[int, float] | None = None
    summary = ""
    errored = False
    for size in sizes:
        if last is not None:
            projected = last[1] * (size / last[0]) ** 2
            if projected > budget:
                per_size[size] = None
                notes.append(f"{size:,} skipped (quadratic projection {projected:.0f} s)")
                continue
        text = text_at(size)

        def call(text: str = text) -> object:
            try:
                return fn(text)
            except Exception as exc:  # a crash is a finding, reported not raised
                return exc

        seconds, cpu_seconds, result = timed(call, min_total, max_calls)
        per_size[size] = seconds
        cpu_per_size[size] = cpu_seconds
        summary = outcome(result)
        if isinstance(result, BaseException):
            errored = True
            notes.append(f"{size:,}: {summary}")
        last = (size, seconds)
    measured = [(n, max(t, 1e-6)) for n, t in cpu_per_size.items()]
    exponent = None
    if len(measured) >= 2 and measured[0][1] > 0:
        (n0, t0), (n1, t1) = measured[0], measured[-1]
        exponent = math.log(t1 / t0) / math.log(n1 / n0)
    skipped = any(t is None for t in per_size.values())
    flag = ""
    if errored:
        flag = "ERROR"
    elif (exponent is not None and exponent >= SUPERLINEAR_EXPONENT) or skipped:
        flag = "SUPERLINEAR"
    return {
        "seconds": {str(n): t for n, t in per_size.items()},
        "cpu_seconds": {str(n): t for n, t in cpu_per_size.items()},
        "exponent": exponent,
        "flag": flag,
        "notes": notes,
        "result": summary,
    }


def main(argv: Sequence[str] | None = None) -> None:
    p = harness.parser(__doc__.splitlines()[0])
    p.add_argument(
        "--sizes",
        default="10000,50000,100000",
        help="comma-separated sizes in characters (default: 10000,50000,100000)",
    )
    p.add_argument(
        "--budget",
        type=float,
        default=30.0,
        help="skip a size whose projected time per call is above this many seconds",
    )
    p.add_argument("--only", default="", help="comma-separated family names to run")
    p.add_argument("--max-calls", type=int, default=5, help="calls per timing (best is kept)")
    args = p.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(",") if s.strip())
    families = {
        name: spec
        for name, spec in FAMILIES.items()
        if not args.only or name in args.only.split(",")
    }
    if not families:
        sys.exit(f"no family matches --only {args.only!r}; families: {', '.join(FAMILIES)}")

    facts = harness.machine(("calmline", "pyahocorasick"), pin=not args.no_pin, cpu=args.cpu)
    engine = build_engine(load_playbook(text=OVERRIDE))
    big = sizes[-1]

    results: dict[str, dict[str, Any]] = {}
    for name, (_, build) in families.items():
        results[name] = {}
        for fn_name in ("analyze_message", "check_reply"):
            results[name][fn_name] = run_family(
                engine, build, fn_name, sizes, args.budget, 0.3, args.max_calls
            )
            row = results[name][fn_name]
            shown = ", ".join(
                "skipped" if t is None else f"{t * 1000:.1f} ms" for t in row["seconds"].values()
            )
            print(f"  {name} {fn_name}: {shown} {row['flag']}", file=sys.stderr, flush=True)

    print("# calmline on adversarial inputs\n")
    harness.print_machine(facts)
    print(
        f"Playbook override `{OVERRIDE.decode()}`; sizes {', '.join(f'{s:,}' for s in sizes)} "
        f"characters; best of up to {args.max_calls} calls per timing (one call when a call "
        f"takes over 0.3 s). Times are wall clock. Exponent: growth of CPU time with size "
        f"between the smallest and largest size measured (1 = linear, 2 = quadratic); flagged at "
        f"{SUPERLINEAR_EXPONENT} and above.\n"
    )
    for fn_name in ("analyze_message", "check_reply"):
        print(f"## {fn_name}\n")
        rows = []
        for name, (what, _) in families.items():
            row = results[name][fn_name]
            secs = [row["seconds"][str(n)] for n in sizes]
            ms = [None if t is None else t * 1000 for t in secs]
            first, last = secs[0], secs[-1]
            ratio = f"{last / first:.1f}x" if first and last else "n/a"
            per_ms = f"{big / (last * 1000):,.0f}" if last else "n/a"
            rows.append(
                (
                    name,
                    what,
                    *ms,
                    ratio,
                    per_ms,
                    "n/a" if row["exponent"] is None else f"{row['exponent']:.2f}",
                    row["flag"] or "ok",
                    row["result"],
                )
            )
        headers = [
            "family",
            "input",
            *[f"ms @{n // 1000}K" if n >= 1000 else f"ms @{n}" for n in sizes],
            f"{sizes[-1] // max(1, sizes[0])}x size: time",
            f"chars/ms @{big // 1000}K",
            "exponent",
            "flag",
            "result at the largest size measured",
        ]
        print(harness.table(headers, rows, "ll" + "r" * (len(sizes) + 3) + "ll"))
        worst = max(
            (
                (t, name)
                for name in families
                for t in [results[name][fn_name]["seconds"][str(big)]]
                if t is not None
            ),
            default=None,
        )
        if worst:
            print(f"\nWorst measured at {big:,} characters: {worst[1]}, {worst[0] * 1000:,.1f} ms.")
        flagged = [n for n in families if results[n][fn_name]["flag"]]
        if flagged:
            print(f"Flagged: {', '.join(flagged)}.")
            for n in flagged:
                for note in results[n][fn_name]["notes"]:
                    print(f"- {n}: {note}")
        print()

    harness.save(
        "adversarial",
        args.out,
        {
            "machine": facts,
            "override": OVERRIDE.decode(),
            "sizes": sizes,
            "budget_s": args.budget,
            "results": results,
        },
        args.no_save,
    )


if __name__ == "__main__":
    main()
