"""`calmline notify run|status|test` against a real database and real receivers on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner, Result

from calmline.cli import app
from calmline.notify import verify
from calmline.store.db import make_engine, make_session_factory, migrate
from tests.notify.helpers import add_notifications
from tests.notify.receivers import WebhookReceiver, smtp_server, webhook_receiver

runner = CliRunner()
SECRET = "cli-s3cret"
#: Notifications made an hour ago: due now, whatever the clock says.
AN_HOUR_AGO = datetime.now(UTC) - timedelta(hours=1)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("CALMLINE_"):
            monkeypatch.delenv(key)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as server:
        yield server


@pytest.fixture
def outbox(database_url: str) -> Iterator[tuple[str, sessionmaker[Session]]]:
    """A migrated database: its URL and sessions on it."""
    engine = make_engine(database_url)
    migrate(engine)
    try:
        yield database_url, make_session_factory(engine)
    finally:
        engine.dispose()


def webhook_env(receiver: WebhookReceiver, **more: str) -> dict[str, str]:
    return {
        "CALMLINE_NOTIFY__WEBHOOK_URL": receiver.url,
        "CALMLINE_NOTIFY__WEBHOOK_SECRET": SECRET,
        "CALMLINE_NOTIFY__LOG": "false",
        "COLUMNS": "200",
        **more,
    }


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    result = runner.invoke(app, list(args), env=env or {})
    assert "Traceback" not in result.output
    return result


# ----- run ----------------------------------------------------------------------------------------


def test_run_once_delivers_what_is_due(
    outbox: tuple[str, sessionmaker[Session]], receiver: WebhookReceiver
) -> None:
    url, sessions = outbox
    ids = add_notifications(sessions, "webhook", receiver.url, 2, created=AN_HOUR_AGO)
    result = run("notify", "run", "--once", "--database-url", url, env=webhook_env(receiver))
    assert result.exit_code == 0, result.output
    assert "2 delivered, 0 failed" in result.stdout
    assert [int(r.headers["X-Calmline-Delivery"]) for r in receiver.accepted] == ids
    again = run("notify", "run", "--once", "--database-url", url, env=webhook_env(receiver))
    assert "Nothing was due." in again.stdout and len(receiver.requests) == 2


def test_a_failed_round_is_reported_and_status_says_what_waits(
    outbox: tuple[str, sessionmaker[Session]],
) -> None:
    url, sessions = outbox
    with webhook_receiver(down=True) as receiver:
        ids = add_notifications(sessions, "webhook", receiver.url, 3, created=AN_HOUR_AGO)
        env = webhook_env(receiver)
        result = run("notify", "run", "--once", "--database-url", url, env=env)
    assert result.exit_code == 0, result.output
    assert "0 delivered, 1 failed" in result.stdout
    assert f"notification {ids[0]} (webhook): HTTP 503" in result.stdout

    status = run("notify", "status", "--database-url", url, env=env)
    assert status.exit_code == 1, status.output
    for needle in ("3 pending", "0 delivered", "HTTP 503 Service Unavailable", "127.0.0.1"):
        assert needle in status.stdout, needle
    assert "t0k3n" not in status.stdout  # the webhook's token stays out of the output

    data = json.loads(run("notify", "status", "--database-url", url, "-f", "json").stdout)
    assert data["counts"] == {"pending": 3, "delivered": 0}
    (waiting,) = data["waiting"]
    assert waiting["next_id"] == ids[0] and waiting["attempts"] == 1
    assert waiting["last_error"] == "HTTP 503 Service Unavailable"
    assert "t0k3n" not in json.dumps(data)
    assert datetime.fromisoformat(data["oldest_pending_at"]) == AN_HOUR_AGO


def test_status_of_an_empty_outbox(outbox: tuple[str, sessionmaker[Session]]) -> None:
    result = run("notify", "status", "--database-url", outbox[0])
    assert result.exit_code == 0, result.output
    assert "Nothing is waiting." in result.stdout
    line = run("notify", "status", "--database-url", outbox[0], "--format", "jsonl").stdout
    assert json.loads(line)["waiting"] == []


@pytest.mark.parametrize("command", ["run", "status"])
def test_a_missing_database_is_not_created(tmp_path: Path, command: str) -> None:
    path = tmp_path / "nowhere" / "calmline.db"
    args = ["notify", command, "--database-url", f"sqlite:///{path}"]
    result = run(*args, *(["--once"] if command == "run" else []))
    assert result.exit_code == 2
    assert "calmline db upgrade" in result.stderr
    assert not path.exists()


def test_an_unmigrated_database_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    make_engine(url).connect().close()
    result = run("notify", "run", "--once", "--database-url", url)
    assert result.exit_code == 2 and "calmline db upgrade" in result.stderr


def test_a_misconfigured_channel_stops_run_before_anything_is_sent(tmp_path: Path) -> None:
    env = {"CALMLINE_NOTIFY__WEBHOOK_URL": "https://hooks.example.test/x"}
    result = run("notify", "run", "--once", "--database-url", "sqlite:///x.db", env=env)
    assert result.exit_code == 2
    assert "CALMLINE_NOTIFY__WEBHOOK_SECRET" in result.stderr


def test_the_worker_runs_until_sigterm(
    outbox: tuple[str, sessionmaker[Session]], receiver: WebhookReceiver
) -> None:
    url, sessions = outbox
    ids = add_notifications(sessions, "webhook", receiver.url, 2, created=AN_HOUR_AGO)
    env = {**os.environ, **webhook_env(receiver, CALMLINE_NOTIFY__LOG="true")}
    worker = subprocess.Popen(
        [sys.executable, "-c", "from calmline.cli import main; main()",
         "notify", "run", "--database-url", url, "--poll-seconds", "0.1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while len(receiver.accepted) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        more = add_notifications(
            sessions, "webhook", receiver.url, 1, created=datetime.now(UTC) - timedelta(seconds=1)
        )
        while len(receiver.accepted) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=30)
    assert worker.returncode == 0, stderr
    assert [int(r.headers["X-Calmline-Delivery"]) for r in receiver.accepted] == ids + more
    assert "notification worker started: webhook, log" in stderr
    assert f"notification {ids[0]} delivered by webhook" in stderr
    assert "SIGTERM received" in stderr and "notification worker stopped" in stderr


# ----- test ---------------------------------------------------------------------------------------


def test_a_test_notification_goes_through_every_channel(receiver: WebhookReceiver) -> None:
    with smtp_server() as inbox:
        env = webhook_env(
            receiver,
            CALMLINE_NOTIFY__LOG="true",
            CALMLINE_NOTIFY__SMTP_HOST="127.0.0.1",
            CALMLINE_NOTIFY__SMTP_PORT=str(inbox.port),
            CALMLINE_NOTIFY__EMAIL_TO="lead@example.test",
        )
        result = run("notify", "test", env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.count("sent ") == 3
    (request,) = receiver.requests
    assert verify(request.body, SECRET, request.headers["X-Calmline-Signature"])
    assert json.loads(request.body)["kind"] == "test"
    assert request.headers["X-Calmline-Delivery"].startswith("test-")
    (mail,) = inbox.mails
    assert mail.recipients == ["lead@example.test"]
    assert mail.message["Subject"] == "[calmline] test notification"
    assert "calmline test notification test-" in result.stderr


def test_a_failing_channel_fails_the_test(tmp_path: Path) -> None:
    with webhook_receiver(down=True) as receiver:
        settings = tmp_path / "calmline.env"
        settings.write_text(
            f"CALMLINE_NOTIFY__WEBHOOK_URL={receiver.url}\n"
            f"CALMLINE_NOTIFY__WEBHOOK_SECRET={SECRET}\n"
        )
        result = run("notify", "test", "--channel", "webhook", "--settings", str(settings))
        assert len(receiver.requests) == 1
    assert result.exit_code == 1
    assert "failed" in result.stdout and "HTTP 503" in result.stdout
    assert "1 of 1 channels" in result.stderr
    assert SECRET not in result.output and "t0k3n" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--channel", "email"], "the email channel is configured"),
        (["--channel", "pager"], "'pager' is not one of webhook, email, log"),
        (["--settings", "missing.env"], "missing.env: settings file not found"),
    ],
)
def test_test_refuses_what_it_cannot_send(args: list[str], message: str) -> None:
    result = run("notify", "test", *args)
    assert result.exit_code == 2
    assert message.replace(" is configured", "") in result.stderr
