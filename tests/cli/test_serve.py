"""`calmline serve` as a user runs it: a real process on 127.0.0.1 with the default SQLite file."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CALMLINE = [str(Path(sys.executable).parent / "calmline")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serving(data_dir: Path, *args: str) -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALMLINE_")}
    env["CALMLINE_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(
        [*CALMLINE, "serve", "--port", str(port), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                out, err = process.communicate()
                pytest.fail(f"calmline serve did not start:\n{out}\n{err}")
            time.sleep(0.1)
        yield process, port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _post(port: int, path: str, body: dict[str, object], token: str) -> dict[str, object]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=5) as r:
        result: dict[str, object] = json.loads(r.read())
        return result


def _banner_token(process: subprocess.Popen[str]) -> tuple[str, str]:
    """The startup banner up to the key line (printed before the server starts) and the key."""
    assert process.stdout is not None
    lines: list[str] = []
    for _ in range(20):
        lines.append(process.stdout.readline())
        match = re.search(r"\b(cl_[A-Za-z0-9]+_[A-Za-z0-9_-]+)", lines[-1])
        if match:
            return "".join(lines), match.group(1)
    pytest.fail("no key in the banner:\n" + "".join(lines))


def test_first_start_creates_the_database_and_shows_an_admin_key_once(tmp_path: Path) -> None:
    with serving(tmp_path) as (process, port):
        banner, token = _banner_token(process)
        assert f"serving on http://127.0.0.1:{port}" in banner
        result = _post(port, "/v1/check", {"draft": "Calm down."}, token)
        assert any(f["rule"] == "B3" for f in result["findings"])  # type: ignore[attr-defined]
    assert (tmp_path / "calmline.db").is_file()
    # a second start finds the key and makes no new one
    with serving(tmp_path) as (process, port):
        _post(port, "/v1/analyze", {"text": "hello"}, token)
    out, _err = process.communicate()
    assert "cl_" not in out and "first start" not in out
    assert "serving on" in out


def test_a_bad_setting_stops_serve_with_a_clear_message(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALMLINE_")}
    env["CALMLINE_DATA_DIR"] = str(tmp_path)
    env["CALMLINE_SERVE__RATE_LIMIT"] = "plenty"
    result = subprocess.run(
        [*CALMLINE, "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "CALMLINE_SERVE__RATE_LIMIT" in result.stderr
    assert "Traceback" not in result.stderr
