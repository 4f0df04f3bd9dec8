"""What every benchmark script shares: one pinned core, machine facts, data paths, tables, results.

Benchmarks measure and print; they never assert. Each script is run directly
(``.venv/bin/python benchmarks/<name>.py``), reads the shared data set from ``../shared/data``
relative to the repository (or ``--data DIR``), never touches the network, prints Markdown
tables, and saves what it measured to ``benchmarks/results/<name>.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
DEFAULT_DATA = REPO.parent / "shared" / "data"
RESULTS = BENCH_DIR / "results"


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the options every benchmark takes."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help=f"folder of the shared data sets (default: {DEFAULT_DATA})",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="where to write the JSON results (default: benchmarks/results/<name>.json)",
    )
    p.add_argument("--no-save", action="store_true", help="print only, write no JSON")
    p.add_argument("--no-pin", action="store_true", help="do not pin the process to one CPU core")
    p.add_argument("--cpu", type=int, default=0, help="the CPU core to pin to (default: 0)")
    return p


def pin_one_core(enabled: bool = True, cpu: int = 0) -> str:
    """Run on one CPU core only, so every contender gets the same single core."""
    if not enabled:
        return "not pinned (--no-pin)"
    if hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, {cpu})
            return f"pinned to CPU {cpu}"
        except OSError as exc:
            return f"not pinned ({exc.strerror})"
    return "not pinned (no sched_setaffinity on this platform)"


def load_average() -> float | None:
    """The 1-minute load average of the machine (None where the platform has none)."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def git_commit() -> str:
    """The calmline commit measured, with ``+dirty`` when the tree has local changes."""
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine(
    packages: Iterable[str] = ("calmline",), *, pin: bool = True, cpu: int = 0
) -> dict[str, Any]:
    """Pin to one core (unless ``pin`` is False) and return the facts a reader needs."""
    return {
        "cpu": cpu_model(),
        "cores_online": os.cpu_count(),
        "pinning": pin_one_core(pin, cpu),
        "load_average_at_start": load_average(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "calmline_commit": git_commit(),
        "packages": {name: package_version(name) for name in packages},
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "argv": " ".join([Path(sys.executable).name, *sys.argv]),
    }


def print_machine(facts: dict[str, Any]) -> None:
    print(f"- CPU: {facts['cpu']} ({facts['cores_online']} cores online; {facts['pinning']})")
    print(f"- Python: {facts['python']} on {facts['platform']}")
    print(f"- calmline commit: {facts['calmline_commit']}")
    versions = ", ".join(f"{k} {v}" for k, v in facts["packages"].items())
    print(f"- packages: {versions}")
    print(f"- run: `{facts['argv']}` at {facts['when']}")
    load = facts.get("load_average_at_start")
    if load is not None:
        busy = " (other work was running: expect slower, noisier figures)" if load > 1.5 else ""
        print(f"- load average at start: {load}{busy}")
    print()


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], align: str = "") -> str:
    """A Markdown table; ``align`` is one letter per column (l or r), default left then right."""
    body = [[_cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in body:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    align = align or ("l" + "r" * (len(headers) - 1))

    def line(cells: Sequence[str]) -> str:
        padded = [
            c.rjust(widths[i]) if align[i] == "r" else c.ljust(widths[i])
            for i, c in enumerate(cells)
        ]
        return "| " + " | ".join(padded) + " |"

    rule = [("-" * (w - 1) + ":") if align[i] == "r" else "-" * w for i, w in enumerate(widths)]
    return "\n".join([line(list(headers)), line(rule), *(line(r) for r in body)])


def _cell(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        if value >= 1000:
            return f"{value:,.0f}"
        if value >= 100:
            return f"{value:.0f}"
        if value >= 10:
            return f"{value:.1f}"
        return f"{value:.3g}" if value < 1 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def save(name: str, out: Path | None, payload: dict[str, Any], no_save: bool = False) -> None:
    if no_save:
        return
    path = out or RESULTS / f"{name}.json"
    payload.setdefault("machine", {})["load_average_at_end"] = load_average()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n")
    tmp.replace(path)
    try:
        shown: Path | str = path.relative_to(Path.cwd())
    except ValueError:
        shown = path
    print(f"\nResults written to {shown}")


class Cycle:
    """Feeds a corpus to a per-message function in small steps, from the start each time.

    Stepping in chunks lets a slow tool stop after ``min_seconds`` without finishing the
    corpus; starting over each measurement makes every repeat see the same messages.
    """

    def __init__(self, fn: Callable[[str], object], texts: Sequence[str], chunk: int = 64):
        self.fn = fn
        self.texts = texts
        self.chunk = chunk
        self.at = 0

    def restart(self) -> None:
        self.at = 0

    def __call__(self) -> int:
        texts, fn, at = self.texts, self.fn, self.at
        part = texts[at : at + self.chunk]
        for t in part:
            fn(t)
        self.at = (at + len(part)) % len(texts)
        return len(part)


@dataclass
class Rate:
    """Items per second of one tool: the best measurement and how much CPU it really got."""

    best: float
    rates: list[float]
    fewest: int
    #: CPU time the process got / wall time, in the best measurement (1.0 = a core of its own)
    cpu_share: float
    #: items per CPU-second in the best measurement: the rate had the core not been shared
    per_cpu_second: float


def rate(run_once: Callable[[], int], min_seconds: float, repeats: int) -> Rate:
    """Best-of-``repeats`` items per second of ``run_once`` (which returns how many it did).

    Each measurement repeats ``run_once`` until ``min_seconds`` have passed. The garbage
    collector stays on (as in real use) but starts each measurement empty. The CPU time the
    process was given is recorded beside the wall time, so a busy machine shows up as a
    CPU share below 1 instead of silently lowering the figures.
    """
    rates: list[float] = []
    fewest = 0
    best = (0.0, 1.0, 0.0)
    for _ in range(repeats):
        restart = getattr(run_once, "restart", None)
        if restart is not None:
            restart()
        gc.collect()
        done = 0
        cpu_start = time.process_time()
        start = time.perf_counter()
        elapsed = 0.0
        while elapsed < min_seconds:
            done += run_once()
            elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
        rates.append(done / elapsed)
        fewest = done if not fewest else min(fewest, done)
        if rates[-1] > best[0]:
            best = (rates[-1], cpu / elapsed, done / cpu if cpu > 0 else 0.0)
    return Rate(best[0], rates, fewest, min(1.0, best[1]), best[2])


def warm_up(run_once: Callable[[], int], total: int, max_seconds: float = 1.0) -> None:
    """Call ``run_once`` until ``total`` items are done or ``max_seconds`` have passed."""
    done = 0
    start = time.perf_counter()
    while done < total and time.perf_counter() - start < max_seconds:
        done += run_once()


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) of already sorted values, nearest-rank."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def require(path: Path, what: str) -> Path:
    if not path.is_file():
        sys.exit(f"{what} not found at {path} (use --data DIR or the file option to point at it)")
    return path
