"""Load on `calmline serve`: POST /v1/check at a constant rate from a second process, over loopback.

The server is the real ``calmline serve`` (uvicorn, one process, SQLite in a temporary folder, the
access log on) started on a free 127.0.0.1 port with fresh agent keys. This process sends
drafts from benchmarks/data/drafts.txt, a quarter without context, the rest with two to six
turns of benchmarks/data/context.txt and the customer's name, at a constant rate for a fixed
time: an open-loop schedule, so request ``i`` leaves at ``start + i / rate`` whether or not
earlier answers have come back, over keep-alive connections (httpx AsyncClient). The requests
are spread over ``--keys`` keys, as many agents would send them, each well inside the default
rate limit.

Latency is measured from the moment a request was due to leave until its answer is read, so a
server (or client) that falls behind shows it in the tail rather than hiding it. Beside it: the
server's own count of /v1/check answers within 15 ms (from its /metrics histogram), its CPU
time, and its memory (VmRSS and the VmHWM peak from /proc/<pid>/status) before and after.

Target: p99 at or under 15 ms and no errors at 300 requests/s.

    .venv/bin/python benchmarks/serve_load.py                          # 300/s for 60 s
    .venv/bin/python benchmarks/serve_load.py --rate 600 --seconds 20  # find the knee
    .venv/bin/python benchmarks/serve_load.py --json                   # one JSON document
    .venv/bin/python benchmarks/serve_load.py --profile /tmp/serve.prof  # cProfile the server
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2

import harness
import served

TARGET_P99_MS = 15.0
DATA = harness.BENCH_DIR / "data"
CUSTOMER_NAME = "Dana Whitfield"


def read_lines(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def read_turns(path: Path) -> list[dict[str, str]]:
    turns = []
    for line in read_lines(path):
        role, _, text = line.partition(":")
        turns.append({"role": role.strip(), "text": text.strip()})
    return turns


def request_bodies(
    drafts: Sequence[str], turns: Sequence[dict[str, str]], seed: int
) -> list[bytes]:
    """Every draft once, encoded; a quarter without context, the rest with 2-6 turns."""
    rng = random.Random(seed)
    bodies = []
    for draft in drafts:
        body: dict[str, Any] = {"draft": draft}
        if rng.random() >= 0.25:
            body["context"] = list(turns[: rng.randint(2, len(turns))])
            body["customer_name"] = CUSTOMER_NAME
        bodies.append(json.dumps(body).encode())
    rng.shuffle(bodies)
    return bodies


@dataclass(frozen=True, slots=True)
class Sample:
    due: float
    #: seconds from when it was due to leave until the answer was read
    latency: float
    #: seconds from when it really left (the client may run late)
    service: float
    status: int
    error: str | None = None


class LoopbackPool:
    """Keep-alive HTTP/1.1 connections to one server, written straight on asyncio streams.

    A load generator must cost little CPU, or on a two-core machine it takes the server's
    share: httpx spends milliseconds of CPU per request, this a small fraction of one. It sends
    only what the benchmark needs (POST with a JSON body, answers with Content-Length).
    """

    def __init__(self, base_url: str, size: int) -> None:
        parts = httpx2.URL(base_url)
        self.host = parts.host
        self.port = parts.port or 80
        self.size = size
        self.opened = 0
        self.idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.idle.empty() and self.opened < self.size:
            self.opened += 1
            try:
                return await asyncio.open_connection(self.host, self.port)
            except OSError:
                self.opened -= 1
                raise
        return await self.idle.get()

    async def post(self, path: str, body: bytes, token: str) -> tuple[int, bytes]:
        head = (
            f"POST {path} HTTP/1.1\r\nhost: {self.host}:{self.port}\r\n"
            f"authorization: Bearer {token}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n\r\n"
        ).encode()
        reader, writer = await self._connection()
        try:
            writer.write(head + body)
            header = await reader.readuntil(b"\r\n\r\n")
            lines = header.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            answer = await reader.readexactly(length)
        except BaseException:
            self.opened -= 1
            writer.close()
            raise
        self.idle.put_nowait((reader, writer))
        return status, answer

    async def close(self) -> None:
        while not self.idle.empty():
            _reader, writer = self.idle.get_nowait()
            writer.close()


async def drive(
    base_url: str,
    tokens: Sequence[str],
    bodies: Sequence[bytes],
    rate: float,
    seconds: float,
    connections: int,
    client: str = "loopback",
) -> tuple[list[Sample], float]:
    """Send ``rate * seconds`` requests on the open-loop schedule; the samples and wall time."""
    loop = asyncio.get_running_loop()
    samples: list[Sample] = []
    if client == "httpx":
        limits = httpx2.Limits(max_connections=connections, max_keepalive_connections=connections)
        session = httpx2.AsyncClient(
            base_url=base_url, limits=limits, timeout=10.0, trust_env=False
        )

        async def send(body: bytes, token: str) -> int:
            headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
            r = await session.post("/v1/check", content=body, headers=headers)
            await r.aread()
            return r.status_code

        async def close() -> None:
            await session.aclose()
    else:
        pool = LoopbackPool(base_url, connections)

        async def send(body: bytes, token: str) -> int:
            status, _answer = await asyncio.wait_for(pool.post("/v1/check", body, token), 10.0)
            return status

        close = pool.close

    async def one(i: int, due: float) -> None:
        left = loop.time()
        try:
            status = await send(bodies[i % len(bodies)], tokens[i % len(tokens)])
            done = loop.time()
            error = None if status == 200 else f"HTTP {status}"
            samples.append(Sample(due, done - due, done - left, status, error))
        except (TimeoutError, httpx2.HTTPError, OSError, ValueError) as exc:
            done = loop.time()
            samples.append(Sample(due, done - due, done - left, 0, type(exc).__name__))

    total = int(rate * seconds)
    start = loop.time() + 0.05
    tasks = []
    try:
        for i in range(total):
            due = start + i / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, due)))
        await asyncio.gather(*tasks)
    finally:
        await close()
    wall = loop.time() - start
    return samples, wall


def check_histogram(metrics_text: str) -> dict[str, float]:
    """Cumulative /v1/check 200 answers per latency bucket (seconds -> count) from /metrics."""
    counts: dict[str, float] = {}
    pattern = re.compile(
        r"^calmline_http_request_duration_seconds_bucket\{(?P<labels>[^}]*)\} (?P<n>\S+)$"
    )
    for line in metrics_text.splitlines():
        m = pattern.match(line)
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m["labels"]))
        if labels.get("route") == "/v1/check" and labels.get("status") == "200":
            counts[labels["le"]] = counts.get(labels["le"], 0.0) + float(m["n"])
    return counts


def server_share_within(before: dict[str, float], after: dict[str, float], le: str) -> float | None:
    total = after.get("+Inf", 0.0) - before.get("+Inf", 0.0)
    if total <= 0:
        return None
    return (after.get(le, 0.0) - before.get(le, 0.0)) / total


def summarise(samples: Sequence[Sample], wall: float, rate: float) -> dict[str, Any]:
    latencies = sorted(s.latency * 1000 for s in samples)
    service = sorted(s.service * 1000 for s in samples)
    errors = Counter(s.error for s in samples if s.error)
    q = served.percentile
    return {
        "requests": len(samples),
        "target_rate": rate,
        "achieved_rate": round(len(samples) / wall, 1) if wall > 0 else None,
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "latency_ms": {
            "p50": q(latencies, 0.50),
            "p90": q(latencies, 0.90),
            "p99": q(latencies, 0.99),
            "max": latencies[-1] if latencies else None,
        },
        "from_send_ms": {
            "p50": q(service, 0.50),
            "p99": q(service, 0.99),
            "max": service[-1] if service else None,
        },
    }


def main(argv: Sequence[str] | None = None) -> None:
    p = harness.parser(__doc__.splitlines()[0])
    p.add_argument("--rate", type=float, default=300.0, help="requests per second (default 300)")
    p.add_argument("--seconds", type=float, default=60.0, help="how long to send (default 60)")
    p.add_argument("--warmup", type=float, default=3.0, help="seconds at the rate, not counted")
    p.add_argument("--keys", type=int, default=50, help="agent keys the requests are spread over")
    p.add_argument("--connections", type=int, default=64, help="most keep-alive connections")
    p.add_argument(
        "--client",
        choices=("loopback", "httpx"),
        default="loopback",
        help="the HTTP client: a lean asyncio one (default) or httpx2.AsyncClient",
    )
    p.add_argument("--drafts", type=Path, default=DATA / "drafts.txt")
    p.add_argument("--context", type=Path, default=DATA / "context.txt")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--json", action="store_true", help="print one JSON document, no tables")
    p.add_argument("--profile", type=Path, default=None, help="run the server under cProfile")
    p.add_argument(
        "--pin",
        action="store_true",
        help="pin the server to CPU 0 and this client to CPU 1 (default: no pinning)",
    )
    args = p.parse_args(argv)

    facts = harness.machine(("calmline", "uvicorn", "fastapi", "httpx2"), pin=False)
    if args.pin:
        os.sched_setaffinity(0, {1})
        facts["pinning"] = "server on CPU 0, client on CPU 1"
    drafts = read_lines(harness.require(args.drafts, "the drafts file"))
    turns = read_turns(harness.require(args.context, "the context file"))
    bodies = request_bodies(drafts, turns, args.seed)

    with served.serving(args.keys, profile=args.profile, cpus=[0] if args.pin else None) as server:
        opener = httpx2.Client(base_url=server.base_url, trust_env=False)
        memory_start = server.memory()
        asyncio.run(
            drive(
                server.base_url,
                server.tokens,
                bodies,
                args.rate,
                args.warmup,
                args.connections,
                args.client,
            )
        )
        memory_warm = server.memory()
        histogram_before = check_histogram(opener.get("/metrics").text)
        cpu_before = server.cpu()
        samples, wall = asyncio.run(
            drive(
                server.base_url,
                server.tokens,
                bodies,
                args.rate,
                args.seconds,
                args.connections,
                args.client,
            )
        )
        cpu_after = server.cpu()
        histogram_after = check_histogram(opener.get("/metrics").text)
        memory_end = server.memory()
        opener.close()

    result = summarise(samples, wall, args.rate)
    result["server_share_within_15ms"] = server_share_within(
        histogram_before, histogram_after, "0.015"
    )
    result["server_cpu_share"] = (
        round((cpu_after - cpu_before) / wall, 3)
        if cpu_before is not None and cpu_after is not None
        else None
    )
    result["memory_kib"] = {"start": memory_start, "warm": memory_warm, "end": memory_end}
    result["drafts"] = len(bodies)
    result["keys"] = args.keys
    payload = {"machine": facts, "target_p99_ms": TARGET_P99_MS, "result": result}
    payload["machine"]["load_average_at_end"] = harness.load_average()

    if args.json:
        json.dump(payload, sys.stdout, indent=2, default=str)
        print()
    else:
        report(payload, args)
    harness.save("serve_load", args.out, payload, no_save=args.no_save or args.json)


def report(payload: dict[str, Any], args: Any) -> None:
    facts, r = payload["machine"], payload["result"]
    print("# `calmline serve` under load: POST /v1/check\n")
    harness.print_machine(facts)
    print(f"- load average at end: {facts['load_average_at_end']}")
    print(
        f"- {r['requests']:,} requests at {args.rate:g}/s for {args.seconds:g} s "
        f"(after {args.warmup:g} s warm-up), {r['drafts']} drafts, {r['keys']} keys\n"
    )
    lat, sent = r["latency_ms"], r["from_send_ms"]
    print(
        harness.table(
            ["", "p50 ms", "p90 ms", "p99 ms", "max ms"],
            [
                ["from when due", lat["p50"], lat["p90"], lat["p99"], lat["max"]],
                ["from when sent", sent["p50"], None, sent["p99"], sent["max"]],
            ],
        )
    )
    print()
    share = r["server_share_within_15ms"]
    print(
        harness.table(
            ["achieved /s", "errors", "server answers <= 15 ms", "server CPU (cores)"],
            [
                [
                    r["achieved_rate"],
                    r["errors"],
                    f"{share:.2%}" if share is not None else None,
                    r["server_cpu_share"],
                ]
            ],
        )
    )
    served.print_errors_and_memory(
        r, [("after start", "start"), ("after warm-up", "warm"), ("after the run", "end")]
    )
    verdict = "meets" if (lat["p99"] or 0) <= TARGET_P99_MS and not r["errors"] else "misses"
    print(f"\np99 {lat['p99']:.2f} ms with {r['errors']} errors: {verdict} the target")
    print(f"(p99 <= {TARGET_P99_MS:g} ms, no errors at 300/s)")


if __name__ == "__main__":
    main()
