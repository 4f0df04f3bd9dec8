"""The HTML report: one self-contained file (nothing fetched from anywhere), every section
there, hostile text escaped, quotes redacted, charts drawn as inline SVG."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from calmline.qa.aggregate import Aggregator, scenarios_by_principle
from calmline.qa.report import RunInfo, render_report, write_report
from calmline.qa.types import ConversationScore
from tests.qa.test_aggregate import load_scores

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def html() -> str:
    agg = Aggregator(scenarios=scenarios_by_principle(), quotes_per_principle=50)
    agg.add_all(load_scores())
    return render_report(
        agg,
        RunInfo(archives=["north.jsonl", "south.csv"], skipped=2, warnings=1),
        principle_titles={"B1": "Don't tell customers they are wrong"},
    )


def test_nothing_is_fetched_from_anywhere(html: str) -> None:
    assert "http://" not in html
    assert "https://" not in html
    assert "file://" not in html
    assert re.search(r"""(src|href)\s*=\s*["']?//""", html) is None
    # the only links are to the page's own sections
    for target in re.findall(r"""(?:src|href)\s*=\s*["']?([^"' >]+)""", html):
        assert target.startswith("#"), target
    assert "@import" not in html and "url(" not in html


def test_no_script_runs(html: str) -> None:
    assert "<script" not in html.lower()
    assert "onerror=" not in html and "onload=" not in html


def test_every_section_is_there(html: str) -> None:
    for section in (
        "overview",
        "teams",
        "agents",
        "trends",
        "principles",
        "protocol",
        "outcomes",
        "training",
        "quotes",
        "privacy",
    ):
        assert f'<section id="{section}">' in html
    assert html.count("<svg") >= 5  # score, anger, volume, protocol, principles, outcomes
    assert "Don&#39;t tell customers they are wrong" in html
    assert "insurance-claim" in html  # B1's scenario, recommended to Ben


def test_hostile_text_is_escaped_and_quotes_redacted(html: str) -> None:
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; You are wrong, [name]." in html
    assert "maria.lopez@example.com" not in html
    assert "[email]" in html and "[phone]" in html
    assert "Maria" not in html


def test_hostile_names_in_tables_and_charts_are_escaped() -> None:
    base = load_scores()[0]
    fields = {f: getattr(base, f) for f in ConversationScore.__dataclass_fields__}
    fields.update(agent=HOSTILE, team=HOSTILE, week=HOSTILE, conversation_id=HOSTILE)
    agg = Aggregator().add_all([ConversationScore(**fields)])
    html = render_report(agg, RunInfo(archives=[HOSTILE], title=HOSTILE))
    assert HOSTILE not in html
    assert "<img" not in html and "<script" not in html


def test_an_empty_run_still_renders() -> None:
    html = render_report(Aggregator(), RunInfo())
    assert "No conversation carries a time" in html
    assert "<svg" not in html


def test_write_report_replaces_the_file_only_when_complete(tmp_path: Path) -> None:
    target = tmp_path / "out" / "report.html"
    agg = Aggregator().add_all(load_scores())
    assert write_report(target, agg) == target
    assert target.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]
