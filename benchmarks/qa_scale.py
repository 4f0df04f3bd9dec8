"""Quality review at scale: score_archives over a generated archive with 1 and 2 workers.

Builds a calmline JSONL archive of about ``--messages`` messages (default 1,000,000) with a
seeded generator: support threads whose customer and agent turns are drawn from the TWCS
sample's customer tweets and brand replies (an order number added to half the customer
messages, so texts rarely repeat), and the scripted conversations of
``tests/qa/data/scripted.yaml`` (de-escalation, escalation, abuse handled through D1-D5 and
handled badly) mixed in, with agents, teams, customer names and times over six weeks. Then it
runs ``calmline.qa.engines.score_archives`` end to end (reading, scoring, results back in
order) with each worker count, and reports messages per second, per core, the scaling from 1
to 2 workers, and the peak memory (RSS) of the caller and of its workers, sampled with psutil
(or the caller's ``getrusage`` peak where psutil is missing). The process is not pinned: the
workers need their own cores.

    .venv/bin/python benchmarks/qa_scale.py --messages 100000            # about 2 minutes
    .venv/bin/python benchmarks/qa_scale.py                               # 1,000,000 messages
    .venv/bin/python benchmarks/qa_scale.py --messages 100000 --engine dask
"""

from __future__ import annotations

import csv
import json
import os
import random
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

import harness
from calmline.qa.engines import score_archives
from calmline.qa.types import IngestProblem

TARGET_PER_CORE = 15_000  # messages per second per core, end to end
TWCS = Path("twcs-random-sample") / "twcs_random_5k.csv"
SCRIPTED = harness.REPO / "tests" / "qa" / "data" / "scripted.yaml"
#: share of conversations taken from the scripted ones (the rest are TWCS threads)
SCRIPTED_SHARE = 0.1
AGENTS = [f"agent-{i:02d}" for i in range(40)]
TEAMS = ["billing", "delivery", "returns", "technical", "accounts"]
CUSTOMERS = ["Sam", "Jo", "Priya", "Alex", "Maria", "Chen", "Olu", "Dana", None, None]
START = datetime(2026, 10, 19, 8, 0, tzinfo=UTC)


def twcs_texts(path: Path) -> tuple[list[str], list[str]]:
    customers: list[str] = []
    agents: list[str] = []
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            text = (row.get("text") or "").strip()
            if text:
                (customers if row["inbound"] == "True" else agents).append(text)
    return customers, agents


def generate(
    out: Path, messages: int, seed: int, customers: list[str], agents: list[str]
) -> tuple[int, int]:
    """Write the archive; (conversations, messages) written."""
    rng = random.Random(seed)
    scripted = yaml.safe_load(SCRIPTED.read_text(encoding="utf-8"))
    written = conversations = 0
    with out.open("w", encoding="utf-8") as fh:
        while written < messages:
            cid = f"c{conversations:07d}"
            agent = rng.choice(AGENTS)
            name = rng.choice(CUSTOMERS)
            at = START + timedelta(seconds=rng.randrange(42 * 24 * 3600))
            rows: list[dict[str, Any]] = []
            if rng.random() < SCRIPTED_SHARE:
                case = rng.choice(scripted)
                for m in case["messages"]:
                    rows.append({"role": m["role"], "text": m["text"]})
            else:
                for i in range(rng.randint(2, 10)):
                    if i % 2 == 0:
                        text = rng.choice(customers)
                        if rng.random() < 0.5:
                            text += f" Order {rng.randrange(10**6, 10**7)}."
                        rows.append({"role": "customer", "text": text})
                    else:
                        rows.append({"role": "agent", "text": rng.choice(agents)})
            for i, row in enumerate(rows):
                at += timedelta(seconds=rng.randint(20, 400))
                row = {"conversation_id": cid, **row, "timestamp": at.isoformat()}
                if row["role"] == "agent":
                    row["author"] = agent
                elif i == 0 and name:
                    row["customer_name"] = name
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            written += len(rows)
            conversations += 1
    return conversations, written


class MemoryWatch:
    """The peak RSS of this process and the peak total RSS of its workers, sampled."""

    def __init__(self, every: float = 0.2) -> None:
        self.every = every
        self.parent = 0
        self.workers = 0
        self.worker_peak_each = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        try:
            import psutil
        except ImportError:
            self.psutil: Any = None
        else:
            self.psutil = psutil

    def __enter__(self) -> MemoryWatch:
        if self.psutil is not None:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        me = self.psutil.Process()
        while not self._stop.is_set():
            self._sample(me)
            self._stop.wait(self.every)

    def _sample(self, me: Any) -> None:
        try:
            self.parent = max(self.parent, me.memory_info().rss)
            sizes = []
            for child in me.children(recursive=True):
                try:
                    sizes.append(child.memory_info().rss)
                except self.psutil.Error:
                    continue
        except self.psutil.Error:
            return
        self.workers = max(self.workers, sum(sizes))
        self.worker_peak_each = max([self.worker_peak_each, *sizes])

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.psutil is None:
            # ru_maxrss is in KiB on Linux: the caller's peak over its whole life
            self.parent = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    @property
    def method(self) -> str:
        return "psutil, sampled every 0.2 s" if self.psutil else "getrusage (caller only)"


def run_one(
    archive: Path, *, engine: str, workers: int, models: bool, batch_size: int
) -> dict[str, Any]:
    problems: list[IngestProblem] = []
    scored = messages = 0
    outcomes: dict[str, int] = {}
    cpu_start = _cpu_seconds()
    own_start = _own_cpu_seconds()
    with MemoryWatch() as memory:
        start = time.perf_counter()
        stream: Iterator[Any] = score_archives(
            [archive],
            models=models,
            engine=engine,  # type: ignore[arg-type]
            workers=workers,
            batch_size=batch_size,
            on_problem=problems.append,
        )
        for score in stream:
            scored += 1
            messages += score.customer_messages + score.agent_messages
            outcomes[score.outcome] = outcomes.get(score.outcome, 0) + 1
        elapsed = time.perf_counter() - start
    cpu = _cpu_seconds() - cpu_start
    own = _own_cpu_seconds() - own_start
    rate = messages / elapsed
    return {
        "engine": engine,
        "workers": workers,
        "models": models,
        "conversations": scored,
        "messages": messages,
        "problems": len(problems),
        "seconds": round(elapsed, 2),
        "messages_per_second": round(rate),
        "per_core": round(rate / workers),
        "cpu_seconds": round(cpu, 1),
        "messages_per_cpu_second": round(messages / cpu) if cpu > 0 else None,
        # the caller reads the archive, sends batches and takes scores back (with 1 worker it
        # also scores); the rest is the workers' (start-up included)
        "caller_cpu_seconds": round(own, 1),
        "worker_cpu_seconds": round(cpu - own, 1),
        "peak_rss_parent_mb": round(memory.parent / 2**20),
        "peak_rss_workers_mb": round(memory.workers / 2**20),
        "peak_rss_per_worker_mb": round(memory.worker_peak_each / 2**20),
        "memory_method": memory.method,
        "outcomes": outcomes,
    }


def _own_cpu_seconds() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    return me.ru_utime + me.ru_stime


def _cpu_seconds() -> float:
    """CPU time of this process and of the children it has waited for (the pool's workers,
    after the pool closed)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main(argv: Sequence[str] | None = None) -> None:
    p = harness.parser(__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=1_000_000, help="archive size (messages)")
    p.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    p.add_argument("--engine", choices=("local", "dask"), default="local")
    p.add_argument("--workers", default="1,2", help="worker counts to run (default 1,2)")
    p.add_argument("--batch-size", type=int, default=200)
    p.add_argument(
        "--models",
        choices=("on", "off", "both"),
        default="both",
        help="score with the shipped model, on the rules alone, or both (default)",
    )
    p.add_argument("--archive", type=Path, help="keep the generated archive here")
    p.add_argument("--twcs", type=Path, help="the TWCS sample CSV (default: under --data)")
    args = p.parse_args(argv)
    counts = [int(n) for n in args.workers.split(",") if n.strip()]
    facts = harness.machine(("calmline", "pandas", "dask", "distributed", "psutil"), pin=False)
    facts["pinning"] = "not pinned (the workers need their own cores)"
    twcs = harness.require(args.twcs or args.data / TWCS, "the TWCS sample")
    harness.print_machine(facts)

    customers, agents = twcs_texts(twcs)
    with tempfile.TemporaryDirectory(prefix="calmline-qa-") as tmp:
        archive = args.archive or Path(tmp) / "archive.jsonl"
        start = time.perf_counter()
        conversations, written = generate(archive, args.messages, args.seed, customers, agents)
        print(
            f"Archive: {written:,} messages in {conversations:,} conversations "
            f"({archive.stat().st_size / 2**20:.0f} MB, seed {args.seed}, "
            f"generated in {time.perf_counter() - start:.1f} s)\n"
        )
        models = {"on": [True], "off": [False], "both": [True, False]}[args.models]
        runs = []
        for with_models in models:
            for workers in counts:
                result = run_one(
                    archive,
                    engine=args.engine,
                    workers=workers,
                    models=with_models,
                    batch_size=args.batch_size,
                )
                runs.append(result)
                print(
                    f"  {args.engine}, {workers} worker(s), model {'on' if with_models else 'off'}:"
                    f" {result['messages_per_second']:,} messages/s",
                    file=sys.stderr,
                )
    rows = []
    for r in runs:
        base = next((x for x in runs if x["workers"] == 1 and x["models"] == r["models"]), None)
        scaling = r["messages_per_second"] / base["messages_per_second"] if base else None
        r["scaling_from_1"] = round(scaling, 2) if scaling else None
        rows.append(
            [
                r["engine"],
                r["workers"],
                "on" if r["models"] else "off",
                r["messages"],
                r["seconds"],
                float(r["messages_per_second"]),
                float(r["per_core"]),
                float(r["messages_per_cpu_second"] or 0),
                r["scaling_from_1"],
                r["peak_rss_parent_mb"],
                r["peak_rss_workers_mb"],
                "yes" if r["per_core"] >= TARGET_PER_CORE else "no",
            ]
        )
    print(
        harness.table(
            [
                "engine",
                "workers",
                "model",
                "messages",
                "seconds",
                "messages/s",
                "per core",
                "per CPU-second",
                "scaling 1->2",
                "peak RSS caller (MB)",
                "peak RSS workers (MB)",
                f">= {TARGET_PER_CORE:,}/core",
            ],
            rows,
            align="llllrrrrrrrl",
        )
    )
    print(
        f"\nEnd to end: reading the JSONL archive in the caller, scoring in the workers, "
        f"scores back in archive order. Per CPU-second: messages over the CPU time of the "
        f"caller and its workers (what a core of its own would do; a busy machine lowers "
        f"messages/s, not this). Memory: {runs[0]['memory_method'] if runs else ''}. "
        f"{os.cpu_count()} cores online."
    )
    harness.save(
        "qa_scale",
        args.out,
        {
            "machine": facts,
            "archive": {
                "messages": written,
                "conversations": conversations,
                "seed": args.seed,
                "scripted_share": SCRIPTED_SHARE,
            },
            "target_per_core": TARGET_PER_CORE,
            "runs": runs,
        },
        args.no_save,
    )


if __name__ == "__main__":
    main()
