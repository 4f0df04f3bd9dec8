"""`calmline incidents list|show|ack` on a stored database, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from calmline.cli import app
from calmline.store.db import make_engine, make_session_factory, migrate
from tests.store.helpers import T0, sample_incident, store_incident

runner = CliRunner()

NAMES = ("Dana", "Whitfield", "Sam", "Okafor", "Lee Park", "Morgan")


def run(*args: str, env: dict[str, str | None] | None = None) -> Result:
    base: dict[str, str | None] = {"CALMLINE_DATABASE_URL": None, "COLUMNS": "160"}
    base.update(env or {})
    return runner.invoke(app, list(args), env=base)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result


def as_json(result: Result) -> Any:
    return json.loads(ok(result).stdout)


def lines(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in ok(result).stdout.splitlines() if line.strip()]


@pytest.fixture
def stored(database_url: str) -> dict[str, Any]:
    """Three incidents: two of Dana's (the older acknowledged), one of Lee's."""
    engine = make_engine(database_url)
    migrate(engine)
    sessions = make_session_factory(engine)
    ids = {
        "dana_old": store_incident(
            sessions,
            sample_incident("chat-1", closed_at=T0 + timedelta(minutes=7)),
            acknowledged_by="Morgan",
        ),
        "lee": store_incident(
            sessions,
            sample_incident(
                "call-2",
                customer_name="Lee Park",
                customer_id="C-2001",
                agent="Sam Okafor",
                reason="safety_threat",
                closed_at=T0 + timedelta(days=1),
            ),
        ),
        "dana_new": store_incident(
            sessions, sample_incident("chat-3", closed_at=T0 + timedelta(days=2))
        ),
    }
    engine.dispose()
    return {"url": database_url, **ids}


def test_list_shows_every_incident_newest_first(stored: dict[str, Any]) -> None:
    found = as_json(run("incidents", "list", "--database-url", stored["url"], "--format", "json"))
    assert [i["id"] for i in found] == [stored["dana_new"], stored["lee"], stored["dana_old"]]
    lee = found[1]
    assert lee["customer_name"] == "Lee Park"
    assert lee["reason"] == "safety_threat"
    assert lee["conversation_id"] == "call-2"
    assert lee["timeline"][0]["step"] == "D1"
    assert lee["acknowledged_at"] is None


def test_list_as_text_names_each_incident(stored: dict[str, Any]) -> None:
    text = ok(run("incidents", "list", "--database-url", stored["url"])).stdout
    assert "Lee Park (C-2001)" in text
    assert "safety_threat" in text
    assert "3 incidents, 2 not acknowledged" in text


def test_jsonl_gives_one_object_a_line(stored: dict[str, Any]) -> None:
    found = lines(run("incidents", "list", "--database-url", stored["url"], "-f", "jsonl"))
    assert len(found) == 3


@pytest.mark.parametrize("customer", ["C-1042", "Dana Whitfield", "dana whitfield"])
def test_list_for_one_customer_by_id_or_name(stored: dict[str, Any], customer: str) -> None:
    found = as_json(
        run(
            "incidents",
            "list",
            "--customer",
            customer,
            "--database-url",
            stored["url"],
            "-f",
            "json",
        )
    )
    assert [i["id"] for i in found] == [stored["dana_new"], stored["dana_old"]]


def test_list_since_a_date_or_a_time(stored: dict[str, Any]) -> None:
    url = stored["url"]
    found = as_json(
        run("incidents", "list", "--since", "2026-12-01", "--database-url", url, "-f", "json")
    )
    assert [i["id"] for i in found] == [stored["dana_new"], stored["lee"]]
    found = as_json(
        run(
            "incidents",
            "list",
            "--since",
            "2026-12-01T10:00:01Z",
            "--database-url",
            url,
            "-f",
            "json",
        )
    )
    assert [i["id"] for i in found] == [stored["dana_new"]]


def test_list_since_an_age(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    sessions = make_session_factory(engine)
    now = datetime.now(UTC)
    recent = store_incident(sessions, sample_incident("a", closed_at=now - timedelta(days=2)))
    store_incident(sessions, sample_incident("b", closed_at=now - timedelta(days=10)))
    engine.dispose()
    found = as_json(
        run("incidents", "list", "--since", "7d", "--database-url", database_url, "-f", "json")
    )
    assert [i["id"] for i in found] == [recent]


def test_list_unacknowledged_and_limit(stored: dict[str, Any]) -> None:
    url = stored["url"]
    found = as_json(
        run("incidents", "list", "--unacknowledged", "--database-url", url, "-f", "json")
    )
    assert [i["id"] for i in found] == [stored["dana_new"], stored["lee"]]
    found = as_json(run("incidents", "list", "--limit", "1", "--database-url", url, "-f", "json"))
    assert [i["id"] for i in found] == [stored["dana_new"]]


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_redact_names_leaves_no_name_anywhere(stored: dict[str, Any], fmt: str) -> None:
    args = ["incidents", "list", "--redact-names", "--database-url", stored["url"], "-f", fmt]
    output = ok(run(*args, env={"COLUMNS": "1000"})).stdout  # wide: no name split over lines
    for name in NAMES:
        assert name not in output, name
    assert "C-1042" in output  # the customer id stays: it is how a manager finds the record
    if fmt == "json":
        found = json.loads(output)
        assert all(i["customer_name"] is None and i["agent"] is None for i in found)
        assert found[0]["key_points"][0]["quote"] == "This is [name] and I want a full refund"
        assert found[0]["timeline"][0]["quote"].startswith("[name], I want to help")


def test_redact_names_in_show(stored: dict[str, Any]) -> None:
    args = ["incidents", "show", str(stored["dana_old"]), "--redact-names"]
    output = ok(run(*args, "--database-url", stored["url"], "-f", "json")).stdout
    for name in NAMES:
        assert name not in output, name
    record = json.loads(output)
    assert record["acknowledged_by"] is None and record["acknowledged_at"] is not None


def test_show_gives_the_whole_record(stored: dict[str, Any]) -> None:
    url = stored["url"]
    record = as_json(
        run("incidents", "show", str(stored["lee"]), "--database-url", url, "-f", "json")
    )
    assert record["id"] == stored["lee"]
    assert record["demands"] == ["a full refund"]
    assert record["steps_done"]["D4"] is True
    assert record["summary"].startswith("Lee Park's last conversation")
    text = ok(run("incidents", "show", str(stored["lee"]), "--database-url", url)).stdout
    for expected in ("Incident", "Lee Park (C-2001)", "Protocol timeline", "a full refund"):
        assert expected in text


def test_show_an_unknown_incident_is_exit_2(stored: dict[str, Any]) -> None:
    result = run("incidents", "show", "999", "--database-url", stored["url"])
    assert result.exit_code == 2
    assert "no incident 999" in result.stderr


def test_ack_records_who_and_when_once(stored: dict[str, Any]) -> None:
    url, lee = stored["url"], str(stored["lee"])
    record = as_json(
        run("incidents", "ack", lee, "--by", "Morgan", "--database-url", url, "-f", "json")
    )
    assert record["acknowledged_by"] == "Morgan"
    first = record["acknowledged_at"]
    assert first is not None
    # the same manager again: nothing changes
    again = as_json(
        run("incidents", "ack", lee, "--by", "Morgan", "--database-url", url, "-f", "json")
    )
    assert again["acknowledged_at"] == first
    # someone else: refused, the first acknowledgement stays
    result = run("incidents", "ack", lee, "--by", "Jo", "--database-url", url)
    assert result.exit_code == 2
    assert "already acknowledged by Morgan" in result.stderr
    record = as_json(run("incidents", "show", lee, "--database-url", url, "-f", "json"))
    assert (record["acknowledged_by"], record["acknowledged_at"]) == ("Morgan", first)
    waiting = as_json(
        run("incidents", "list", "--unacknowledged", "--database-url", url, "-f", "json")
    )
    assert [i["id"] for i in waiting] == [stored["dana_new"]]


def test_ack_text_output(stored: dict[str, Any]) -> None:
    result = ok(
        run(
            "incidents",
            "ack",
            str(stored["lee"]),
            "--by",
            "Morgan",
            "--database-url",
            stored["url"],
        )
    )
    assert f"incident {stored['lee']} by Morgan" in result.stdout


@pytest.mark.parametrize("by", ["", "   "])
def test_ack_needs_a_name(stored: dict[str, Any], by: str) -> None:
    result = run(
        "incidents", "ack", str(stored["lee"]), "--by", by, "--database-url", stored["url"]
    )
    assert result.exit_code == 2
    assert "give the name" in result.stderr


def test_ack_an_unknown_incident_is_exit_2(stored: dict[str, Any]) -> None:
    result = run("incidents", "ack", "999", "--by", "Morgan", "--database-url", stored["url"])
    assert result.exit_code == 2
    assert "no incident 999" in result.stderr


def test_bad_since_is_exit_2(stored: dict[str, Any]) -> None:
    result = run("incidents", "list", "--since", "last week", "--database-url", stored["url"])
    assert result.exit_code == 2
    assert "--since: 'last week' is not a date" in result.stderr


def test_reading_a_missing_database_creates_nothing(tmp_path: Path) -> None:
    result = run("incidents", "list", env={"CALMLINE_DATA_DIR": str(tmp_path / "data")})
    assert result.exit_code == 2
    assert "calmline db upgrade" in result.stderr
    assert not (tmp_path / "data").exists()


def test_an_unmigrated_database_says_to_upgrade(database_url: str) -> None:
    make_engine(database_url).dispose()
    result = run("incidents", "list", "--database-url", database_url)
    assert result.exit_code == 2
    assert "calmline db upgrade" in result.stderr


def test_markup_in_names_is_printed_as_it_is(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    incident_id = store_incident(
        make_session_factory(engine), sample_incident(customer_name="[bold]Eve[/bold]")
    )
    engine.dispose()
    text = ok(run("incidents", "show", str(incident_id), "--database-url", database_url)).stdout
    assert "[bold]Eve[/bold]" in text


@pytest.mark.parametrize(
    "args",
    [["list", "--customer", "C-1\x00"], ["ack", "1", "--by", "Mor\x00gan"]],
    ids=["customer", "by"],
)
def test_a_nul_character_is_bad_input_on_every_backend(
    stored: dict[str, Any], args: list[str]
) -> None:
    result = run("incidents", *args, "--database-url", stored["url"])
    assert result.exit_code == 2
    assert "NUL character" in result.stderr
