"""Service settings come from the environment or a file, and bad values say which variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from calmline.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("CALMLINE_"):
            monkeypatch.delenv(key)


def test_default_database_is_sqlite_in_the_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALMLINE_DATA_DIR", "/srv/calmline")
    settings = load_settings()
    assert settings.resolved_database_url == "sqlite:////srv/calmline/calmline.db"
    assert settings.notify.webhook_url is None and settings.notify.email_to == []


def test_nested_and_list_values_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALMLINE_NOTIFY__EMAIL_TO", "lead@example.test, qa@example.test")
    monkeypatch.setenv("CALMLINE_NOTIFY__SMTP_PORT", "2525")
    monkeypatch.setenv("CALMLINE_NOTIFY__WEBHOOK_SECRET", "s3cret")
    notify = load_settings().notify
    assert notify.email_to == ["lead@example.test", "qa@example.test"]
    assert notify.smtp_port == 2525
    assert notify.webhook_secret is not None and "s3cret" not in repr(notify)


def test_a_file_sets_the_database(tmp_path: Path) -> None:
    env = tmp_path / "calmline.env"
    env.write_text("CALMLINE_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/calmline\n")
    assert load_settings(env).resolved_database_url.startswith("postgresql+psycopg://")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("CALMLINE_NOTIFY__SMTP_PORT=abc", "CALMLINE_NOTIFY__SMTP_PORT"),
        ("CALMLINE_NOTIFY__SMTP_PORT=70000", "CALMLINE_NOTIFY__SMTP_PORT"),
        ("CALMLINE_DATABSE_URL=sqlite://", "CALMLINE_DATABSE_URL"),
    ],
)
def test_bad_values_name_the_variable_and_the_file(
    tmp_path: Path, line: str, expected: str
) -> None:
    env = tmp_path / "bad.env"
    env.write_text(line + "\n")
    with pytest.raises(SettingsError) as info:
        load_settings(env)
    assert str(env) in str(info.value) and expected in str(info.value)
    assert info.value.code == "settings_invalid"


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not found"):
        load_settings(tmp_path / "nope.env")


def test_a_folder_or_a_file_that_is_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="is a folder"):
        load_settings(tmp_path)
    broken = tmp_path / "broken.env"
    broken.write_bytes(b"CALMLINE_DATA_DIR=/srv/\xff\xfe\n")
    with pytest.raises(SettingsError, match="not UTF-8"):
        load_settings(broken)
