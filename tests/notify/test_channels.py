"""Which channels a configuration switches on; a half-configured one is an error at startup."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from calmline.errors import NotifyError
from calmline.notify import configure_channels
from calmline.settings import NotifySettings, load_settings

CASES = yaml.safe_load(
    (Path(__file__).parent.parent / "cases" / "notify" / "channels.yml").read_text("utf-8")
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("CALMLINE_"):
            monkeypatch.delenv(key)


def settings_of(case: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> NotifySettings:
    for key, value in (case.get("env") or {}).items():
        monkeypatch.setenv(key, str(value))
    if "env" in case:
        return load_settings().notify
    return NotifySettings(**case["settings"])


@pytest.mark.parametrize("case", CASES["switched_on"], ids=lambda c: c["name"])
def test_channels_that_are_switched_on(
    case: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    channels = configure_channels(settings_of(case, monkeypatch))
    assert list(channels.names) == case["channels"]
    for channel in channels:
        assert channel.default_target
        for secret in ("s3cret", "pw"):
            assert secret not in channel.describe()


@pytest.mark.parametrize("case", CASES["errors"], ids=lambda c: c["name"])
def test_misconfiguration_is_a_notify_error_naming_the_variable(
    case: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(NotifyError) as caught:
        configure_channels(settings_of(case, monkeypatch))
    assert caught.value.code == "notify_failed"
    for words in case["error"]:
        assert words in caught.value.message
    assert "s3cret" not in caught.value.message
