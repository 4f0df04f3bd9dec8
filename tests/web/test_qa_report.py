"""The quality-review report opened from its file in Chromium: the charts draw, hostile text
shows as text, no script runs and the page asks nothing of any host."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from playwright.sync_api import Browser, expect

from calmline.qa.aggregate import Aggregator, scenarios_by_principle
from calmline.qa.report import RunInfo, write_report
from tests.qa.test_aggregate import load_scores
from tests.web.conftest import TIMEOUT_MS

HOSTILE = '<img src="https://tracker.example/x.png" onerror="alert(1)">Eve'


def test_the_report_draws_offline_and_escapes_text(
    browser: Browser, tmp_path: Path, shots: Path
) -> None:
    scores = load_scores()
    scores.append(replace(scores[0], conversation_id="hostile", agent=HOSTILE, team=HOSTILE))
    agg = Aggregator(scenarios=scenarios_by_principle()).add_all(scores)
    report = write_report(tmp_path / "review.html", agg, RunInfo(archives=["north.jsonl"]))

    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(TIMEOUT_MS)
    page = ctx.new_page()
    requests: list[str] = []
    errors: list[str] = []
    dialogs: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        charts = page.locator("#trends .chart svg")
        expect(charts.first).to_be_visible()
        assert charts.count() >= 3
        for svg in (*charts.all(), page.locator("#principles svg").first):
            box = svg.bounding_box()
            assert box is not None and box.get("width", 0) > 200 and box.get("height", 0) > 100
        # pygal's bars and lines are drawn, not just the frame
        assert page.locator("#principles svg rect.rect").count() > 0
        assert page.locator("#trends svg path.line").count() > 0
        expect(page.locator("#agents tbody")).to_contain_text(HOSTILE)
        expect(page.locator("#teams tbody")).to_contain_text(HOSTILE)
        assert page.locator("main img, main script").count() == 0
        page.screenshot(path=shots / "qa-report.png", full_page=True)
    finally:
        ctx.close()
    assert [url for url in requests if url != report.as_uri()] == []
    assert errors == []
    assert dialogs == []
