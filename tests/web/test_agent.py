"""The agent console in a real browser: a conversation, live findings, rewrites, the protocol."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.web.helpers import LiveServer, Watch, sign_in

ABUSIVE = "WHERE IS MY PARCEL?? I HAVE WAITED NINE DAYS FOR THIS"
BAD_DRAFT = "Calm down. You are wrong, we will never do that."
MAKE_AWARE = (
    "Dana, I really do want to sort this out for you. Are you aware that you are shouting at me?"
)


def open_conversation(page: Page, server: LiveServer, customer: str) -> None:
    sign_in(page, server, "agent")
    expect(page).to_have_url(re.compile(r"/agent$"))
    page.get_by_label("Customer's name").fill(customer)
    page.get_by_role("button", name="Open conversation").click()
    page.wait_for_url(re.compile(r"/agent/[^/]+$"))


def add_customer_message(page: Page, text: str) -> None:
    page.get_by_label("What the customer wrote").fill(text)
    page.get_by_role("button", name="Add message").click()
    expect(page.locator("#transcript .msg.customer").last).to_contain_text(text)


def test_agent_console_main_flow(page: Page, live_server: LiveServer, shots: Path) -> None:
    open_conversation(page, live_server, "Dana")
    expect(page.locator("#live-status")).to_have_text("live")

    add_customer_message(page, ABUSIVE)
    expect(page.locator("#conversation-state")).to_have_text("abusive")
    expect(page.locator("#transcript .msg.customer .chip").first).to_contain_text("shouting")
    # The coach says what to do next (D1) and asks for a pause before answering (A3).
    expect(page.locator("#next-principle")).to_have_text("D1")
    expect(page.locator("#pause")).to_be_visible()

    draft = page.get_by_label("Your reply")
    draft.press_sequentially(BAD_DRAFT, delay=5)
    marks = page.locator("#draft-mirror mark")
    expect(marks.first).to_be_visible()
    expect(page.locator("#findings .principle", has_text="B3")).to_have_count(1)
    expect(page.locator("#findings-summary")).to_contain_text("B1")
    assert marks.count() >= 2
    page.screenshot(path=shots / "agent-console-findings.png", full_page=True)

    # One click replaces the condescending words with the rewrite.
    page.locator("#findings .finding", has_text="B3").get_by_role("button").click()
    expect(draft).not_to_have_value(re.compile("Calm down"))
    expect(draft).to_have_value(re.compile("^I can hear how frustrating this is"))
    expect(page.locator("#findings .principle", has_text="B3")).to_have_count(0)

    # The protocol's first step (D1): nothing blocks it, so it can be sent.
    draft.fill(MAKE_AWARE)
    expect(page.locator("#findings-summary")).not_to_contain_text("B1")
    expect(page.locator("#blocked-warning")).to_be_hidden()
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#transcript .msg.agent").last).to_contain_text("Are you aware")
    expect(draft).to_have_value("")
    step = page.locator('#stepper li[data-stage="made_aware"]')
    expect(step).to_have_attribute("aria-current", "step")
    expect(step).to_have_class(re.compile("current"))
    expect(page.locator("#protocol-stage")).to_contain_text("D1")

    add_customer_message(page, "I DON'T CARE, just f*cking fix it")
    expect(page.locator("#next-principle")).to_have_text("D2")
    page.get_by_role("button", name="Use these words").first.click()
    expect(draft).not_to_have_value("")
    page.get_by_role("button", name="Send").click()
    expect(page.locator('#stepper li[data-stage="asked_to_stop"]')).to_have_attribute(
        "aria-current", "step"
    )
    page.screenshot(path=shots / "agent-console-1280.png", full_page=True)
    page.set_viewport_size({"width": 400, "height": 900})
    page.screenshot(path=shots / "agent-console-400.png", full_page=True)


def test_conversation_list_links_to_console(
    page: Page, live_server: LiveServer, shots: Path
) -> None:
    open_conversation(page, live_server, "Lee Listed")
    add_customer_message(page, "Hello, my order is late.")
    page.get_by_role("link", name="Conversations").first.click()
    link = page.get_by_role("link", name=re.compile("Lee Listed"))
    expect(link.first).to_be_visible()
    page.screenshot(path=shots / "agent-list.png", full_page=True)
    link.first.click()
    expect(page.locator("#transcript .msg.customer")).to_contain_text("my order is late")


def test_without_websocket_drafts_are_checked_over_http(
    page: Page, live_server: LiveServer, watch: Watch
) -> None:
    page.add_init_script("delete window.WebSocket;")
    open_conversation(page, live_server, "Fallback")
    expect(page.locator("#live-status")).to_have_text("checking over HTTP")
    page.get_by_label("Your reply").fill(BAD_DRAFT)
    expect(page.locator("#draft-mirror mark").first).to_be_visible()
    expect(page.locator("#findings .principle", has_text="B1")).to_have_count(1)
    page.get_by_role("button", name="Use all fixes").click()
    expect(page.get_by_label("Your reply")).not_to_have_value(BAD_DRAFT)
    assert any(url.endswith("/v1/check") for url in watch.requests)


def test_relent_panel_weighs_a_demand(page: Page, live_server: LiveServer) -> None:
    open_conversation(page, live_server, "Rita")
    add_customer_message(page, "I want a FULL refund of the 240 pounds or I will post about it.")
    page.get_by_label("Policy allows").fill("50%")
    page.get_by_label("Amount at stake").fill("240")
    page.get_by_role("button", name="Weigh it").click()
    expect(page.locator("#relent-result")).to_be_visible()
    expect(page.locator("#relent-principle")).to_have_text(re.compile(r"^E\d$"))
    expect(page.locator("#relent-wording")).not_to_be_empty()
    page.locator("#use-relent").click()
    expect(page.get_by_label("Your reply")).not_to_have_value("")


def test_a_message_stored_elsewhere_appears_live(page: Page, live_server: LiveServer) -> None:
    import httpx2

    open_conversation(page, live_server, "Hal")
    expect(page.locator("#live-status")).to_have_text("live")
    cid = page.url.rsplit("/", 1)[1]
    answer = httpx2.post(
        f"{live_server.url}/v1/conversations/{cid}/events",
        json={"id": "helpdesk-1", "kind": "customer_message", "text": "THIS IS A JOKE, ANSWER ME"},
        headers={"Authorization": f"Bearer {live_server.tokens['agent']}"},
    )
    assert answer.status_code == 200, answer.text
    expect(page.locator("#transcript .msg.customer")).to_contain_text("THIS IS A JOKE")
    expect(page.locator("#conversation-state")).to_have_text("abusive")


def test_a_blocked_draft_cannot_be_sent(page: Page, live_server: LiveServer) -> None:
    open_conversation(page, live_server, "Bo")
    add_customer_message(page, "You are useless.")
    draft = page.get_by_label("Your reply")
    draft.fill("Shut up, you idiot.")
    expect(page.locator("#blocked-warning")).to_be_visible()
    expect(page.locator("#draft-mirror mark.sev-block")).to_have_count(1)
    expect(page.get_by_role("button", name="Send")).to_be_disabled()
    draft.fill("I'm sorry you've had this trouble; let me look into it for you now.")
    expect(page.locator("#blocked-warning")).to_be_hidden()
    expect(page.get_by_role("button", name="Send")).to_be_enabled()


def test_the_draft_shows_its_tone(page: Page, live_server: LiveServer) -> None:
    open_conversation(page, live_server, "Dana")
    draft = page.get_by_label("Your reply")
    tone = page.locator("#tone")
    expect(tone).to_be_hidden()
    draft.fill("Read the FAQ before contacting us again.")
    expect(tone).to_contain_text("impolite")
    expect(page.locator("#findings .principle", has_text="B3")).to_have_count(1)
    draft.fill("Could you please send me the order number? Thank you so much!")
    expect(tone).to_contain_text("reads as polite")
    draft.fill("")
    expect(tone).to_be_hidden()
