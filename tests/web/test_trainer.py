"""Practice in a real browser: pick a scenario, answer the simulated customer, read the debrief."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.web.helpers import LiveServer, sign_in

REPLY = (
    "I'm sorry this has been so frustrating. I will personally look into it now and "
    "keep you updated."
)


def test_practice_session_to_debrief(page: Page, live_server: LiveServer, shots: Path) -> None:
    sign_in(page, live_server, "trainer")
    expect(page).to_have_url(re.compile(r"/trainer$"))
    cards = page.locator("#scenarios .card")
    expect(cards.first).to_be_visible()
    assert cards.count() >= 6
    page.screenshot(path=shots / "trainer-scenarios.png", full_page=True)
    page.locator('#scenarios .card[data-scenario="insulter"]').get_by_role("button").click()
    page.wait_for_url(re.compile(r"/trainer/[0-9a-f]+$"))
    expect(page.locator("#transcript .msg.customer").first).to_be_visible()
    expect(page.locator("#briefing-panel")).to_be_visible()

    draft = page.get_by_label("Your reply")
    draft.fill("Calm down, you are wrong about that.")
    expect(page.locator("#findings .principle", has_text="B3")).to_have_count(1)
    expect(page.locator("#draft-mirror mark").first).to_be_visible()
    page.screenshot(path=shots / "trainer-chat.png", full_page=True)

    done = page.locator("#done")
    for reply in range(1, 15):
        draft.fill(REPLY)
        page.get_by_role("button", name="Reply").click()
        expect(page.locator("#transcript .msg.agent")).to_have_count(reply)
        if done.is_visible():
            break
    expect(done).to_be_visible()
    page.get_by_role("link", name="See your debrief").click()
    page.wait_for_url(re.compile(r"/debrief$"))
    expect(page.locator("#verdict")).to_have_text(
        re.compile(r"(Passed|Not passed yet) · \d+ of 100")
    )
    expect(page.locator("#scores dt").first).to_be_visible()
    expect(page.locator("#transcript .msg").first).to_be_visible()
    page.screenshot(path=shots / "trainer-debrief.png", full_page=True)
