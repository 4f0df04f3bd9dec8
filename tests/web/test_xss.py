"""Script in customers' words, names and trainee names shows as text and never runs."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.web.helpers import LiveServer, Watch, sign_in
from tests.web.test_manager import end_by_protocol

NAME = '<img src=x onerror="alert(1)">Eve'
MESSAGE = '<script>alert("boom")</script><img src=x onerror=alert(2)> REFUND ME NOW'
TRAINEE = "<svg onload=alert(3)>"


def test_payloads_render_as_text(
    page: Page, live_server: LiveServer, watch: Watch, shots: Path
) -> None:
    sign_in(page, live_server, "agent")
    page.get_by_label("Customer's name").fill(NAME)
    page.get_by_role("button", name="Open conversation").click()
    page.wait_for_url("**/agent/*")
    expect(page.locator("#customer-title")).to_have_text(NAME)
    page.get_by_label("What the customer wrote").fill(MESSAGE)
    page.get_by_role("button", name="Add message").click()
    message = page.locator("#transcript .msg.customer .msg-text").last
    expect(message).to_have_text(MESSAGE)
    expect(page.locator("#transcript .msg-who").first).to_have_text(NAME)
    # A draft with markup is highlighted in the mirror as text, too.
    page.get_by_label("Your reply").fill("<b>Calm down</b> <img src=y onerror=alert(4)>")
    expect(page.locator("#draft-mirror mark").first).to_be_visible()
    assert page.locator("#main img, #main script:not([type]), #main svg").count() == 0

    page.goto(live_server.url + "/agent")
    expect(page.locator("#conversation-list")).to_contain_text(NAME)
    page.screenshot(path=shots / "xss-agent-list.png", full_page=True)

    # Server-rendered pages: a manager's incident and a trainer's session list.
    end_by_protocol(live_server, "xss-incident", NAME)
    page.context.clear_cookies()
    sign_in(page, live_server, "manager")
    expect(page.locator("#incidents")).to_contain_text(NAME)
    page.locator("#incidents tbody tr", has_text="Eve").get_by_role("link").click()
    expect(page.locator("h1")).to_have_text(NAME)

    live_server.services.practice.start(TRAINEE, "insulter", 7, "Tess")
    page.context.clear_cookies()
    sign_in(page, live_server, "trainer")
    expect(page.locator("table")).to_contain_text(TRAINEE)
    assert page.locator("#main img, #main svg").count() == 0
    assert watch.dialogs == []
