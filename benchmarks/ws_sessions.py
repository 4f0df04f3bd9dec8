"""Live sessions on `calmline serve`: many agents typing drafts over the WebSocket at once.

The server is the real ``calmline serve`` started on a free 127.0.0.1 port (see ``served.py``),
with one agent key and one conversation (two customer messages already stored) per session.
Each session connects to ``/v1/conversations/{cid}/live`` with the ``websockets`` client and
types drafts from benchmarks/data/drafts.txt one keystroke at a time, the way the agent console
sends them: a draft frame per keystroke, at a human pace (short gaps inside words, longer ones
after spaces and sentences; ``--cps`` characters per second on average). When a draft is
finished it is sent as an agent message (an event frame), the agent reads for a few seconds,
and the next draft begins.

The server checks a draft once typing pauses for ``serve.ws_debounce_ms`` (150 ms), so not
every keystroke gets a check. A check's latency runs from when the keystroke that made its
draft was sent until the answer arrives; the debounce is part of it by design, and the table
also shows the latency without it. Errors are error frames, unexpected closes and failed
connections.

    .venv/bin/python benchmarks/ws_sessions.py                    # 200 sessions for 60 s
    .venv/bin/python benchmarks/ws_sessions.py --sessions 50 --seconds 20
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

import harness
import served
from calmline.api.services import Services
from calmline.coach.events import Event, EventKind

DATA = harness.BENCH_DIR / "data"
DEBOUNCE_S = 0.150
TARGET_P99_MS = 15.0


def read_lines(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def open_conversations(services: Services, tokens: list[str]) -> dict[str, Any]:
    """One conversation per key, with two customer messages stored as context."""
    start = datetime.now(UTC) - timedelta(minutes=5)
    lines = [
        "I ordered a washing machine three weeks ago and it STILL hasn't arrived.",
        "This is the third time I'm contacting you!! Why does nobody read the notes?",
    ]
    for i in range(len(tokens)):
        cid = f"bench-{i}"
        services.conversations.open_conversation(
            cid, agent=f"bench-agent-{i}", team="bench", customer_name="Dana Whitfield"
        )
        for n, text in enumerate(lines):
            at = start + timedelta(seconds=n)
            services.conversations.ingest(cid, Event(f"c{n}", EventKind.CUSTOMER_MESSAGE, at, text))
    return {}


def keystroke_gap(char: str, rng: random.Random, cps: float) -> float:
    """Seconds before the next keystroke: quick inside a word, slower after a word or sentence."""
    scale = 5.0 / cps
    if char in ".!?":
        return rng.uniform(0.4, 1.2) * scale
    if char in " ,;:":
        return rng.uniform(0.15, 0.5) * scale
    return rng.uniform(0.08, 0.2) * scale


class Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.frames = 0
        self.drafts_done = 0
        self.guidance = 0
        self.errors: Counter[str] = Counter()
        self.connected = 0


async def session(
    i: int,
    url: str,
    token: str,
    drafts: Sequence[str],
    deadline: float,
    tally: Tally,
    cps: float,
    compression: str | None,
) -> None:
    rng = random.Random(i)
    sent_at: dict[int, float] = {}
    await asyncio.sleep(rng.uniform(0, 2.0))  # agents do not all start on the same instant
    try:
        async with connect(
            f"{url}/v1/conversations/bench-{i}/live",
            additional_headers={"Authorization": f"Bearer {token}"},
            proxy=None,
            open_timeout=30,
            compression=compression,
        ) as ws:
            hello = json.loads(await ws.recv())
            if hello.get("type") != "hello":
                tally.errors["no hello"] += 1
                return
            tally.connected += 1

            async def read() -> None:
                async for raw in ws:
                    message = json.loads(raw)
                    kind = message.get("type")
                    if kind == "check":
                        left = sent_at.pop(message["seq"], None)
                        if left is not None:
                            tally.latencies.append(time.perf_counter() - left)
                    elif kind == "guidance":
                        tally.guidance += 1
                    elif kind == "error":
                        tally.errors[f"error frame {message.get('code')}"] += 1

            reader = asyncio.create_task(read())
            seq = 0
            sent = 0
            while time.perf_counter() < deadline:
                draft = drafts[rng.randrange(len(drafts))]
                for end in range(1, len(draft) + 1):
                    if time.perf_counter() >= deadline:
                        break
                    seq += 1
                    sent_at[seq] = time.perf_counter()
                    # Only the newest draft gets an answer: forget the older keystrokes.
                    for old in [s for s in sent_at if s < seq - 50]:
                        del sent_at[old]
                    await ws.send(json.dumps({"type": "draft", "text": draft[:end], "seq": seq}))
                    tally.frames += 1
                    await asyncio.sleep(keystroke_gap(draft[end - 1], rng, cps))
                else:
                    await asyncio.sleep(rng.uniform(0.3, 0.8))
                    sent += 1
                    event = {"id": f"a{sent}", "kind": "agent_message", "text": draft}
                    await ws.send(json.dumps({"type": "event", "event": event}))
                    tally.frames += 1
                    tally.drafts_done += 1
                    await asyncio.sleep(rng.uniform(2.0, 5.0))  # the agent reads the answer
            await asyncio.sleep(0.5)  # the last check
            reader.cancel()
    except (OSError, InvalidHandshake, TimeoutError) as exc:
        tally.errors[type(exc).__name__] += 1
    except ConnectionClosed as exc:
        tally.errors[f"closed {exc.rcvd.code if exc.rcvd else 'without a code'}"] += 1


async def run(
    server: served.Server,
    drafts: Sequence[str],
    seconds: float,
    cps: float,
    compression: str | None,
) -> tuple[Tally, float]:
    tally = Tally()
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(
        *(
            session(i, server.ws_url, token, drafts, deadline, tally, cps, compression)
            for i, token in enumerate(server.tokens)
        )
    )
    return tally, time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> None:
    p = harness.parser(__doc__.splitlines()[0])
    p.add_argument("--sessions", type=int, default=200, help="concurrent sessions (default 200)")
    p.add_argument("--seconds", type=float, default=60.0, help="how long they type (default 60)")
    p.add_argument("--cps", type=float, default=5.0, help="characters per second on average")
    p.add_argument("--drafts", type=Path, default=DATA / "drafts.txt")
    p.add_argument("--no-compression", action="store_true", help="no permessage-deflate")
    p.add_argument("--json", action="store_true", help="print one JSON document, no tables")
    args = p.parse_args(argv)

    facts = harness.machine(("calmline", "uvicorn", "websockets"), pin=False)
    drafts = read_lines(harness.require(args.drafts, "the drafts file"))
    drafts = [d for d in drafts if len(d) < 400]
    compression = None if args.no_compression else "deflate"
    with served.serving(args.sessions, prepare=open_conversations) as server:
        memory_start = server.memory()
        cpu_before = server.cpu()
        client_before = time.process_time()
        tally, wall = asyncio.run(run(server, drafts, args.seconds, args.cps, compression))
        client_cpu = time.process_time() - client_before
        cpu_after = server.cpu()
        memory_end = server.memory()

    latencies = sorted(x * 1000 for x in tally.latencies)
    net = [max(0.0, x - DEBOUNCE_S * 1000) for x in latencies]
    q = served.percentile
    result = {
        "sessions": args.sessions,
        "connected": tally.connected,
        "seconds": round(wall, 1),
        "frames_sent": tally.frames,
        "frames_per_second": round(tally.frames / wall, 1),
        "checks": len(latencies),
        "checks_per_second": round(len(latencies) / wall, 1),
        "drafts_sent": tally.drafts_done,
        "guidance_frames": tally.guidance,
        "errors": sum(tally.errors.values()),
        "error_kinds": dict(tally.errors),
        "check_latency_ms": {
            "p50": q(latencies, 0.5),
            "p99": q(latencies, 0.99),
            "max": latencies[-1] if latencies else None,
        },
        "check_latency_after_debounce_ms": {
            "p50": q(net, 0.5),
            "p99": q(net, 0.99),
            "max": net[-1] if net else None,
        },
        "server_cpu_share": (
            round((cpu_after - cpu_before) / wall, 3)
            if cpu_before is not None and cpu_after is not None
            else None
        ),
        "client_cpu_share": round(client_cpu / wall, 3),
        "memory_kib": {"start": memory_start, "end": memory_end},
        "compression": compression,
    }
    facts["load_average_at_end"] = harness.load_average()
    payload = {"machine": facts, "result": result}
    if args.json:
        json.dump(payload, sys.stdout, indent=2, default=str)
        print()
    else:
        report(payload)
    harness.save("ws_sessions", args.out, payload, no_save=args.no_save or args.json)


def report(payload: dict[str, Any]) -> None:
    facts, r = payload["machine"], payload["result"]
    print("# `calmline serve`: live WebSocket sessions\n")
    harness.print_machine(facts)
    print(f"- load average at end: {facts['load_average_at_end']}")
    print(
        f"- {r['connected']} of {r['sessions']} sessions connected, {r['seconds']} s, "
        f"{r['frames_sent']:,} frames sent ({r['frames_per_second']}/s), "
        f"{r['drafts_sent']:,} drafts sent as messages, compression {r['compression']}\n"
    )
    lat, net = r["check_latency_ms"], r["check_latency_after_debounce_ms"]
    print(
        harness.table(
            ["draft check", "p50 ms", "p99 ms", "max ms"],
            [
                ["keystroke to answer", lat["p50"], lat["p99"], lat["max"]],
                ["less the 150 ms debounce", net["p50"], net["p99"], net["max"]],
            ],
        )
    )
    print()
    print(
        harness.table(
            ["checks", "checks/s", "guidance frames", "errors", "server CPU", "client CPU"],
            [
                [
                    r["checks"],
                    r["checks_per_second"],
                    r["guidance_frames"],
                    r["errors"],
                    r["server_cpu_share"],
                    r["client_cpu_share"],
                ]
            ],
        )
    )
    served.print_errors_and_memory(r, [("after start", "start"), ("after the run", "end")])


if __name__ == "__main__":
    main()
