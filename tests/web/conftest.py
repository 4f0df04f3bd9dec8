"""Browser tests of the web UI: a real uvicorn server on 127.0.0.1 and Debian's headless Chromium.

The server runs in a thread on a free port over a temporary SQLite database, with one key per
role made through KeyStore. Each test gets a fresh browser context (no cookies) and fails when
a page script raises or the browser asks any host but 127.0.0.1; dialogs are recorded and
dismissed (the XSS test checks that none opened). Screenshots go to ``$CALMLINE_SCREENSHOTS``
when set, else the test's tmp_path. Without /usr/bin/chromium the tests are skipped, except
under CI, where that is a failure.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from calmline.api import create_app
from calmline.api.services import Services
from calmline.settings import AppSettings, ServeSettings
from calmline.store.keys import Role
from tests.web.helpers import LiveServer, Watch

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
#: How long a step may wait for the page (ms); the server is local, so this is generous.
TIMEOUT_MS = 10_000

KEY_HOLDERS = {
    "agent": ("Ana", Role.AGENT, "north"),
    "trainer": ("Tess", Role.TRAINER, None),
    "manager": ("Maya", Role.MANAGER, "north"),
}


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so the browser tests must run)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    import uvicorn

    folder = tmp_path_factory.mktemp("web-server")
    settings = AppSettings(
        database_url=f"sqlite:///{folder / 'calmline.db'}",
        data_dir=folder,
        serve=ServeSettings(log_format="text", ws_debounce_ms=50, key_cache_seconds=0),
    )
    app = create_app(settings)
    services: Services = app.state.services
    tokens = {}
    for label, (name, role, team) in KEY_HOLDERS.items():
        _key, token = services.keys.create(name, role, team)
        tokens[label] = token
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", ws="websockets-sansio"
        )
    )
    thread = threading.Thread(target=server.run, name="calmline-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the test server did not start on 127.0.0.1:{port}")
        time.sleep(0.02)
    yield LiveServer(f"http://127.0.0.1:{port}", services, tokens)
    server.should_exit = True
    thread.join(timeout=10)
    services.close()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        _skip_or_fail(f"{CHROMIUM} is missing: install Debian's chromium (make install-test)")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    where = os.environ.get("CALMLINE_SCREENSHOTS")
    folder = Path(where) if where else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def watch() -> Watch:
    return Watch()


def _new_page(browser: Browser, watch: Watch, **context: Any) -> Page:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, **context)
    ctx.set_default_timeout(TIMEOUT_MS)
    page = ctx.new_page()
    page.on("request", lambda request: watch.requests.append(request.url))
    page.on("websocket", lambda ws: watch.requests.append(ws.url))

    def on_dialog(dialog: Any) -> None:
        watch.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda exc: watch.errors.append(str(exc)))
    return page


@pytest.fixture
def page(browser: Browser, watch: Watch) -> Iterator[Page]:
    page = _new_page(browser, watch)
    yield page
    page.context.close()
    assert watch.foreign() == [], "the browser asked a host other than 127.0.0.1"
    assert watch.errors == [], "a page script failed"
