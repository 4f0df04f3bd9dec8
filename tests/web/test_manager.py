"""The manager's pages in a real browser: an incident, its acknowledgement, the scorecards."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import Page, expect

from calmline.coach.events import Event
from tests.web.helpers import LiveServer, sign_in

#: A shouting, swearing customer and an agent who follows D1-D5 to a proper end.
PROTOCOL = [
    ("customer_message", "WHERE IS MY PARCEL?? I HAVE WAITED NINE DAYS FOR THIS"),
    (
        "agent_message",
        "{name}, I really do want to sort this out for you. Are you aware that you are "
        "shouting at me?",
    ),
    ("customer_message", "I DON'T CARE, just f*cking fix it"),
    ("agent_message", "{name}, please stop swearing at me so that we can work through this."),
    ("customer_message", "this is f*cking ridiculous, you are all USELESS"),
    (
        "agent_message",
        "{name}, if the swearing carries on, I will have no option but to end this conversation.",
    ),
    ("customer_message", "GO ON THEN, f*ck off"),
    (
        "agent_message",
        "This is my second warning, {name}. If the swearing continues, I will close this "
        "conversation.",
    ),
    ("customer_message", "SHUT UP"),
    (
        "agent_message",
        "{name}, I am going to end the conversation now. Please get back in touch when you "
        "feel ready to talk it through calmly, and we will pick it up from here.",
    ),
]


def end_by_protocol(server: LiveServer, cid: str, name: str, agent: str = "Ana") -> None:
    """Store a conversation that ends through the protocol: it leaves an incident."""
    start = datetime.now(UTC) - timedelta(minutes=10)
    service = server.services.conversations
    service.open_conversation(cid, customer_name=name, agent=agent, team="north")
    for n, (kind, text) in enumerate(PROTOCOL):
        event = Event(
            id=f"{cid}-{n}",
            kind=kind,  # type: ignore[arg-type]
            at=start + timedelta(seconds=20 * n),
            text=text.format(name=name.split()[0]),
            author=agent if kind == "agent_message" else None,
        )
        service.ingest(cid, event)


def test_incident_acknowledged_and_scorecards(
    page: Page, live_server: LiveServer, shots: Path
) -> None:
    end_by_protocol(live_server, "mgr-dana", "Dana Whitfield")
    sign_in(page, live_server, "manager")
    expect(page).to_have_url(re.compile(r"/manager$"))
    row = page.locator("#incidents tbody tr", has_text="Dana Whitfield")
    expect(row).to_contain_text("new")
    page.screenshot(path=shots / "manager-incidents.png", full_page=True)

    row.get_by_role("link").click()
    page.wait_for_url(re.compile(r"/manager/incidents/\d+$"))
    expect(page.locator("#timeline li").first).to_contain_text("D1")
    expect(page.locator("#timeline")).to_contain_text("Are you aware")
    page.get_by_role("button", name="Acknowledge (D7)").click()
    expect(page.locator("#ack-status")).to_contain_text("Acknowledged by Maya")
    page.screenshot(path=shots / "manager-incident.png", full_page=True)

    page.reload()
    expect(page.locator("#ack-status")).to_contain_text("Acknowledged by Maya")
    page.get_by_role("link", name="Incidents", exact=True).click()
    expect(page.locator("#incidents tbody tr", has_text="Dana Whitfield")).to_contain_text(
        "acknowledged"
    )

    page.get_by_role("link", name="Scorecards").click()
    agent_row = page.locator('#scorecards tbody tr[data-agent="Ana"]')
    expect(agent_row).to_be_visible()
    expect(agent_row.locator(".bar-value")).to_have_text(re.compile(r"^\d+$"))
    page.screenshot(path=shots / "manager-scorecards.png", full_page=True)
    page.set_viewport_size({"width": 400, "height": 900})
    page.screenshot(path=shots / "manager-scorecards-400.png", full_page=True)


def test_agent_cannot_open_manager_pages(page: Page, live_server: LiveServer) -> None:
    sign_in(page, live_server, "agent")
    response = page.goto(live_server.url + "/manager")
    assert response is not None and response.status == 403
    expect(page.locator("h1")).to_have_text("Not for this key")
