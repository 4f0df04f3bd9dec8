"""`calmline coach FILE`: guidance per event as JSON lines, the premature end, missing times."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from calmline.cli import app

runner = CliRunner()
TRANSCRIPTS = Path(__file__).parent.parent / "cases" / "transcripts"


def run(*args: str) -> Result:
    env = {"CALMLINE_PLAYBOOK": None, "COLUMNS": "120"}
    return runner.invoke(app, ["coach", *args], env=env)  # type: ignore[arg-type]


def records(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_jsonl_gives_one_object_per_event_with_the_guidance() -> None:
    result = run(str(TRANSCRIPTS / "example.jsonl"), "--format", "jsonl")
    assert result.exit_code == 0, result.output
    rows = records(result)
    assert len(rows) == sum(1 for _ in (TRANSCRIPTS / "example.jsonl").open())
    for row in rows:
        for key in ("state", "protocol_stage", "next_step", "pacing", "findings", "line"):
            assert key in row
    first_reply = rows[1]
    assert first_reply["role"] == "agent"
    assert "B3" in {f["rule"] for f in first_reply["findings"]}  # "Calm down"


def test_a_premature_end_is_blocked_recorded_and_exits_1() -> None:
    result = run(str(TRANSCRIPTS / "protocol_chat.jsonl"), "--format", "jsonl")
    assert result.exit_code == 1
    rows = records(result)
    stages = [r["protocol_stage"] for r in rows if r["role"] == "agent"]
    assert stages == ["made_aware", "asked_to_stop", "warned", "ended"]
    last = rows[-1]
    assert "D5" in {f["rule"] for f in last["findings"]} and last["blocked"]
    assert last["incident"]["reason"] == "premature_end"
    assert last["notify_manager"] is True


def test_text_output_shows_the_next_step_and_the_incident() -> None:
    result = run(str(TRANSCRIPTS / "protocol_chat.jsonl"))
    assert result.exit_code == 1
    assert "make_aware (D1)" in result.stdout
    assert "Incident" in result.stdout and "before the warnings" in result.stdout


def test_rows_without_timestamps_need_an_interval(tmp_path: Path) -> None:
    chat = tmp_path / "chat.csv"
    chat.write_text(
        "conversation_id,role,text\nc1,customer,Hello there\nc1,agent,Hi! How can I help?\n"
    )
    refused = run(str(chat))
    assert refused.exit_code == 2
    assert "line 2" in refused.output and "--assume-interval" in refused.output
    spaced = run(str(chat), "--assume-interval", "10", "--format", "json")
    assert spaced.exit_code == 0, spaced.output
    assert [r["event_kind"] for r in json.loads(spaced.stdout)] == [
        "customer_message",
        "agent_message",
    ]


def test_rows_out_of_order_are_reported_and_skipped(tmp_path: Path) -> None:
    chat = tmp_path / "chat.jsonl"
    lines = [
        {"conversation_id": "c", "role": "customer", "text": "Hi", "timestamp": 100},
        {"conversation_id": "c", "role": "agent", "text": "Hello!", "timestamp": 50},
        {"conversation_id": "c", "role": "agent", "text": "How can I help?", "timestamp": 120},
    ]
    chat.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    result = run(str(chat), "--format", "jsonl")
    assert result.exit_code == 0
    assert [r["line"] for r in records(result)] == [1, 3]
    assert "2: skipped" in result.stderr and "older than" in result.stderr


def test_store_keeps_guidance_and_incidents_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'calmline.db'}"
    chat = str(TRANSCRIPTS / "protocol_chat.jsonl")
    missing = run(chat, "--store", "--database-url", url)
    assert missing.exit_code == 2 and "calmline db upgrade" in missing.output
    assert runner.invoke(app, ["db", "upgrade", "--database-url", url]).exit_code == 0
    first = run(chat, "--store", "--database-url", url, "--format", "jsonl")
    again = run(chat, "--store", "--database-url", url, "--format", "jsonl")
    assert first.exit_code == again.exit_code == 1
    assert records(first) == records(again)  # the stored guidance, not a second coaching
    listed = runner.invoke(app, ["incidents", "list", "--database-url", url, "--format", "json"])
    incidents = json.loads(listed.stdout)
    assert len(incidents) == 1 and incidents[0]["reason"] == "premature_end"
