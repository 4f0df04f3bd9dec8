"""A `calmline serve` under test: a second process on 127.0.0.1, a fresh database and fresh keys.

The service benchmarks (``serve_load.py``, ``ws_sessions.py``) drive a real server over loopback
rather than timing calls in their own process: the figures then include the HTTP stack, the
key check, the rate limit, the access log and the metrics, as a client sees them. The server
runs the ``calmline serve`` command itself (uvicorn, one process) on a free port, with its
SQLite database in a temporary folder, and is stopped with Ctrl-C (SIGINT) at the end.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import harness
from calmline.api.services import Services, build_services
from calmline.settings import AppSettings

#: How long the server may take to answer /healthz after it starts.
START_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (the peak) of ``pid`` in KiB, from /proc."""
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                out[name] = int(value.split()[0])
    except OSError:
        pass
    return out


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds ``pid`` has used, from /proc/<pid>/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


@dataclass
class Server:
    base_url: str
    pid: int
    folder: Path
    tokens: list[str]
    log_path: Path
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def ws_url(self) -> str:
        return "ws" + self.base_url.removeprefix("http")

    def memory(self) -> dict[str, int]:
        return memory_kib(self.pid)

    def cpu(self) -> float | None:
        return cpu_seconds(self.pid)


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the server exited with {process.returncode}:\n{tail}")
        try:
            with opener.open(url + "/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer {url}/healthz within {START_SECONDS:.0f} s")


@contextmanager
def serving(
    keys: int,
    *,
    prepare: Callable[[Services, list[str]], dict[str, Any]] | None = None,
    env: dict[str, str] | None = None,
    profile: Path | None = None,
    cpus: Sequence[int] | None = None,
) -> Iterator[Server]:
    """Run ``calmline serve`` with ``keys`` fresh agent keys (``bench-agent-<i>``, team bench).

    ``prepare(services, tokens)`` runs on the migrated database before the server starts (to
    open conversations, say); what it returns is kept as ``server.extras``. ``profile`` runs the
    server under cProfile, written to that file when it stops. ``cpus`` pins the server to
    those cores.
    """
    with tempfile.TemporaryDirectory(prefix="calmline-bench-") as tmp:
        folder = Path(tmp)
        database = f"sqlite:///{folder / 'calmline.db'}"
        settings = AppSettings(database_url=database, data_dir=folder)
        services = build_services(settings)
        try:
            tokens = [
                services.keys.create(f"bench-agent-{i}", "agent", "bench")[1] for i in range(keys)
            ]
            extras = prepare(services, tokens) if prepare is not None else {}
        finally:
            services.close()

        port = free_port()
        command = [str(Path(sys.executable).parent / "calmline"), "serve"]
        if profile is not None:
            command = [sys.executable, "-m", "cProfile", "-o", str(profile), *command]
        command += ["--host", "127.0.0.1", "--port", str(port), "--no-first-key"]
        child_env = {
            **os.environ,
            "CALMLINE_DATABASE_URL": database,
            "CALMLINE_DATA_DIR": str(folder),
            **(env or {}),
        }
        pinned = set(cpus) if cpus else None

        def pin() -> None:
            if pinned:
                os.sched_setaffinity(0, pinned)

        log_path = folder / "server.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command,
                env=child_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=pin,  # only sched_setaffinity, before exec
            )
        base_url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(base_url, process, log_path)
            yield Server(base_url, process.pid, folder, tokens, log_path, extras)
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0-1) of already sorted values, nearest rank."""
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(q * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def memory_row(label: str, kib: dict[str, int]) -> list[Any]:
    return [label, kib.get("VmRSS", 0) / 1024, kib.get("VmHWM", 0) / 1024]


def print_errors_and_memory(result: dict[str, Any], stages: Sequence[tuple[str, str]]) -> None:
    """The error kinds (if any) and the server-memory table shared by the service benchmarks;
    ``stages`` pairs a row label with its key in ``result["memory_kib"]``."""
    if result["error_kinds"]:
        print(f"\nerrors: {result['error_kinds']}")
    print()
    memory = result["memory_kib"]
    rows = [memory_row(label, memory[key]) for label, key in stages]
    print(harness.table(["server memory", "RSS MiB", "peak MiB"], rows))
