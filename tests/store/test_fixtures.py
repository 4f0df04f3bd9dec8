"""The database fixtures: PostgreSQL runs are skipped when the server is away, except under CI."""

from __future__ import annotations

import pytest

from tests import databases


def test_an_unreachable_server_skips_the_postgresql_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(databases, "postgres_unreachable", lambda: "connection refused")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="unreachable: connection refused"):
        databases.require_postgres()


def test_under_ci_an_unreachable_server_fails_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(databases, "postgres_unreachable", lambda: "connection refused")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set, so the PostgreSQL tests must run"):
        databases.require_postgres()


def test_a_reachable_server_lets_them_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(databases, "postgres_unreachable", lambda: None)
    monkeypatch.setenv("CI", "true")
    databases.require_postgres()  # neither skips nor fails
