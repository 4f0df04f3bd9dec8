"""Signing in and out in a real browser."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.web.helpers import LiveServer


def test_bad_key_then_good_key_returns_to_the_page_asked_for(
    page: Page, live_server: LiveServer, shots: Path
) -> None:
    page.goto(live_server.url + "/manager/scorecards")
    expect(page).to_have_url(re.compile(r"/login\?next=/manager/scorecards$"))
    key = page.get_by_label("Your key")
    expect(key).to_be_focused()
    key.fill("cl_00000000_not-a-real-key-not-a-real-key-not-a-real")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text(re.compile("not valid"))
    expect(key).to_have_attribute("aria-invalid", "true")
    page.screenshot(path=shots / "login-error.png", full_page=True)

    key.fill(live_server.tokens["manager"])
    key.press("Enter")
    page.wait_for_url(re.compile(r"127\.0\.0\.1:\d+/manager/scorecards$"))
    cookies = page.context.cookies()
    cookie = next(c for c in cookies if c["name"] == "calmline_key")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login$"))
    page.goto(live_server.url + "/manager")
    expect(page).to_have_url(re.compile(r"/login\?next=/manager$"))


def test_an_outside_next_is_ignored(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/login?next=//example.com/steal")
    page.get_by_label("Your key").fill(live_server.tokens["agent"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"127\.0\.0\.1:\d+/agent$"))
