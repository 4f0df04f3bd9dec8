"""What the browser tests share: the live server's address and keys, what a page did, sign-in."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from playwright.sync_api import Page

from calmline.api.services import Services


@dataclass
class LiveServer:
    url: str
    services: Services
    tokens: dict[str, str]


@dataclass
class Watch:
    """What a page did that a test may check afterwards."""

    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def foreign(self) -> list[str]:
        out = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in {"data", "blob", "about"}:
                continue
            if parts.hostname != "127.0.0.1":
                out.append(url)
        return out


def sign_in(page: Page, server: LiveServer, role: str, *, next_path: str | None = None) -> None:
    target = "/login" + (f"?next={next_path}" if next_path else "")
    page.goto(server.url + target)
    page.get_by_label("Your key").fill(server.tokens[role])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: urlsplit(url).path != "/login")
