"""`calmline db upgrade` and `calmline db current`."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner, Result

from calmline.cli import app
from calmline.store.db import head_revision, make_engine

runner = CliRunner()


def run(*args: str, env: dict[str, str | None] | None = None) -> Result:
    base: dict[str, str | None] = {"CALMLINE_DATABASE_URL": None, "COLUMNS": "200"}
    base.update(env or {})
    return runner.invoke(app, list(args), env=base)


def test_upgrade_creates_the_tables_then_changes_nothing(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.connect():  # the database exists, empty
        pass
    engine.dispose()
    before = run("db", "current", "--database-url", database_url)
    assert before.exit_code == 1
    assert "needs upgrade" in before.stdout and "no tables yet" in before.stdout
    first = run("db", "upgrade", "--database-url", database_url)
    assert first.exit_code == 0, first.output
    assert f"(empty) -> {head_revision()}" in first.stdout
    second = run("db", "upgrade", "--database-url", database_url)
    assert second.exit_code == 0
    assert "up to date" in second.stdout
    current = run("db", "current", "--database-url", database_url)
    assert current.exit_code == 0
    assert f"revision {head_revision()}" in current.stdout


def test_the_default_database_is_in_the_data_directory(tmp_path: Path) -> None:
    env = {"CALMLINE_DATA_DIR": str(tmp_path / "data")}
    assert run("db", "upgrade", env=env).exit_code == 0
    assert (tmp_path / "data" / "calmline.db").is_file()
    assert run("db", "current", env=env).exit_code == 0


def test_the_url_can_come_from_the_environment(sqlite_url: str) -> None:
    result = run("db", "upgrade", env={"CALMLINE_DATABASE_URL": sqlite_url})
    assert result.exit_code == 0
    assert sqlite_url.removeprefix("sqlite:///") in result.stdout


def test_an_unreachable_database_is_exit_2_without_the_password() -> None:
    url = "postgresql://calm:s3cret@127.0.0.1:9/calm"
    for command in ("upgrade", "current"):
        result = run("db", command, "--database-url", url)
        assert result.exit_code == 2
        assert "calm:***@127.0.0.1:9/calm" in result.stderr
        assert "s3cret" not in result.output


def test_current_on_a_database_from_a_newer_calmline_is_exit_2(database_url: str) -> None:
    assert run("db", "upgrade", "--database-url", database_url).exit_code == 0
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    engine.dispose()
    for command in ("current", "upgrade"):
        result = run("db", command, "--database-url", database_url)
        assert result.exit_code == 2
        assert "9999" in result.stderr and "calmline" in result.stderr
