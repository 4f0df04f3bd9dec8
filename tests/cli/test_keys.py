"""`calmline keys create|list|revoke` on a migrated database, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from calmline.cli import app
from calmline.store.db import make_engine, make_session_factory, migrate
from calmline.store.keys import KeyStore, Role

runner = CliRunner()

TOKEN = re.compile(r"cl_([0-9a-f]{8})_[A-Za-z0-9_-]{43}")


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


@pytest.fixture
def url(database_url: str) -> str:
    engine = make_engine(database_url)
    migrate(engine)
    engine.dispose()
    return database_url


def store(url: str) -> KeyStore:
    return KeyStore(make_session_factory(make_engine(url)))


def test_create_prints_the_token_alone_on_stdout_with_a_warning(url: str) -> None:
    result = ok(run("keys", "create", "Sam Okafor", "--role", "agent", "--database-url", url))
    token = result.stdout.strip()
    match = TOKEN.fullmatch(token)
    assert match, result.stdout
    assert f"API key {match.group(1)} for Sam Okafor (agent)" in result.stderr
    assert "cannot be shown again" in result.stderr
    key = store(url).verify(token)
    assert key is not None and (key.name, key.role, key.team) == ("Sam Okafor", Role.AGENT, None)


def test_create_as_json(url: str) -> None:
    found = as_json(
        run(
            "keys", "create", "Morgan Lee", "--role", "MANAGER", "--team", "north",
            "--database-url", url, "--format", "json",
        )
    )  # fmt: skip
    assert set(found) == {"id", "prefix", "name", "role", "team", "token"}
    assert (found["name"], found["role"], found["team"]) == ("Morgan Lee", "manager", "north")
    assert found["token"].startswith(f"cl_{found['prefix']}_")
    key = store(url).verify(found["token"])
    assert key is not None and key.id == found["id"]


def test_a_manager_without_a_team_is_refused(url: str) -> None:
    result = run("keys", "create", "Morgan", "--role", "manager", "--database-url", url)
    assert result.exit_code == 2
    assert "calmline: error: team: a manager's key needs the team" in result.stderr
    assert result.stdout == ""
    assert store(url).list(include_revoked=True) == ()


def test_an_unknown_role_is_a_usage_error_listing_the_roles(url: str) -> None:
    result = run("keys", "create", "Sam", "--role", "boss", "--database-url", url)
    assert result.exit_code == 2
    for role in ("agent", "trainer", "manager", "admin"):
        assert role in result.output
    assert "Traceback" not in result.output


def test_list_hides_revoked_keys_unless_all(url: str) -> None:
    keys = store(url)
    sam, _ = keys.create("Sam Okafor", "agent", team="north")
    morgan, _ = keys.create("Morgan Lee", "manager", team="north")
    keys.revoke(sam.prefix)
    text = ok(run("keys", "list", "--database-url", url)).stdout
    assert morgan.prefix in text and "Morgan Lee" in text and "manager" in text
    assert sam.prefix not in text
    text = ok(run("keys", "list", "--all", "--database-url", url)).stdout
    assert sam.prefix in text and "revoked" in text
    found = as_json(run("keys", "list", "--all", "--database-url", url, "--format", "json"))
    assert [k["prefix"] for k in found] == [sam.prefix, morgan.prefix]
    assert found[0]["revoked_at"] is not None and found[1]["revoked_at"] is None
    assert "token" not in found[0] and "secret_hash" not in found[0]
    lines = ok(run("keys", "list", "--database-url", url, "-f", "jsonl")).stdout.splitlines()
    assert [json.loads(line)["prefix"] for line in lines] == [morgan.prefix]


def test_an_empty_list_says_how_to_create_one(url: str) -> None:
    text = ok(run("keys", "list", "--database-url", url)).stdout
    assert "No API keys" in text and "calmline keys create" in text
    assert as_json(run("keys", "list", "--database-url", url, "--format", "json")) == []


def test_revoke_stops_the_key(url: str) -> None:
    keys = store(url)
    key, token = keys.create("Sam Okafor", "agent")
    result = ok(run("keys", "revoke", key.prefix, "--database-url", url))
    assert f"revoked API key {key.prefix} of Sam Okafor (agent)" in result.stdout
    assert keys.verify(token) is None
    # again: no change, no error; the JSON says when
    found = as_json(run("keys", "revoke", f"cl_{key.prefix}", "--database-url", url, "-f", "json"))
    assert found["prefix"] == key.prefix and found["revoked_at"]


def test_revoking_an_unknown_prefix_exits_2(url: str) -> None:
    result = run("keys", "revoke", "deadbeef", "--database-url", url)
    assert result.exit_code == 2
    assert "calmline: error: no API key 'deadbeef'" in result.stderr


def test_the_database_url_comes_from_the_environment_too(url: str) -> None:
    ok(run("keys", "create", "Ada", "--role", "admin", env={"CALMLINE_DATABASE_URL": url}))
    assert [k.name for k in store(url).list()] == ["Ada"]


def test_keys_never_create_a_database(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "calmline.db"
    for args in (
        ("create", "Sam", "--role", "agent"),
        ("list",),
        ("revoke", "deadbeef"),
    ):
        result = run("keys", *args, "--database-url", f"sqlite:///{missing}")
        assert result.exit_code == 2, result.output
        assert "calmline db upgrade" in result.stderr
    assert not missing.exists()


def test_an_unmigrated_database_says_to_upgrade(database_url: str) -> None:
    # PostgreSQL: an empty database; SQLite: no file yet
    result = run("keys", "list", "--database-url", database_url)
    assert result.exit_code == 2, result.output
    assert "calmline db upgrade" in result.stderr
