"""docs/notifications.md cannot drift: every setting, the retry table and the signature snippet."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from calmline.notify import sign
from calmline.notify.worker import JITTER
from calmline.settings import NotifySettings

DOC = (Path(__file__).parent.parent.parent / "docs" / "notifications.md").read_text("utf-8")


def section(heading: str) -> str:
    start = DOC.index(heading)
    level = heading.split(" ")[0]
    rest = DOC[start + len(heading) :]
    end = re.search(rf"^{level} ", rest, flags=re.M)
    return DOC[start : start + len(heading) + (end.start() if end else len(rest))]


def test_every_setting_is_documented_with_an_example() -> None:
    table = section("## Settings")
    for name in NotifySettings.model_fields:
        row = next((r for r in table.splitlines() if r.startswith(f"| `{name}` |")), None)
        assert row is not None, f"{name} is not in the settings table of docs/notifications.md"
        assert f"CALMLINE_NOTIFY__{name.upper()}=" in row, f"{name} has no example"


def test_the_defaults_shown_are_the_real_ones() -> None:
    table = section("## Settings")
    defaults = NotifySettings()
    for name in ("smtp_port", "backoff_seconds", "max_backoff_seconds", "timeout_seconds"):
        value = getattr(defaults, name)
        assert f"| `{name}` | `{value:g}` |" in table, name


def test_the_retry_table_follows_the_defaults() -> None:
    settings = NotifySettings()
    table = section("## Retries and order")
    row = next(r for r in table.splitlines() if r.startswith("| Next try in"))
    shown = [int(c.strip().removesuffix(" s")) for c in row.strip("|").split("|")[1:]]
    expected = [
        min(settings.backoff_seconds * 2**n, settings.max_backoff_seconds)
        for n in range(len(shown))
    ]
    assert shown == expected
    assert f"up to {JITTER:.0%}" in table.replace(" %", "%")


def test_the_signature_snippet_accepts_calmline_signatures_and_nothing_else() -> None:
    code = section("## Verifying the signature").split("```python", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(code, "docs/notifications.md", "exec"), namespace)
    check = namespace["signature_is_valid"]
    body = '{"incident_id":12,"kind":"incident","customer":"Zoë"}'.encode()
    header = sign(body, "s3cret")
    assert check(body, header, "s3cret")
    assert check(body, header + "\r\n", "s3cret")
    assert not check(body.replace(b"12", b"13"), header, "s3cret")
    assert not check(body, header, "another secret")


def test_the_headers_and_log_line_shown_are_the_ones_sent() -> None:
    webhook = section("### Webhook")
    for header in ("X-Calmline-Signature", "X-Calmline-Delivery", "X-Calmline-Kind"):
        assert f"| `{header}` |" in webhook
    log = section("### Log")
    assert re.search(
        r"calmline incident: notification \d+, incident \d+, conversation \S+, reason \w+", log
    )
