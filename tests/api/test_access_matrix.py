"""Who may use which route: every route of the app, asked by every role and by no key.

``MATRIX`` mirrors the role table of docs/api.md. Each row is a request and the status each
caller gets, in the order of ``CALLERS`` (no key, agent Ana of team north, a trainer, manager
Maya of team north, an admin). A route of the app that is in no row fails the test, so a new
route cannot be added without deciding who may use it. "Own" rows use Ana's and team north's
things; "other" rows use Ben's and team south's, which Ana and Maya must not see (404, as if
they did not exist). API routes take the key in a header, web pages in the sign-in cookie.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount
from starlette.websockets import WebSocketDisconnect

from calmline.api import create_app
from calmline.api.deps import KEY_COOKIE
from calmline.api.services import Services
from calmline.coach.events import Event, EventKind
from tests.api.conftest import auth, make_keys, make_settings
from tests.api.scenes import CASES, T0

CALLERS = ("none", "agent", "trainer", "manager", "admin")
WEBSOCKET = "WS"


@dataclass(frozen=True)
class Row:
    method: str
    #: the route as the app declares it
    route: str
    #: the URL asked for, with {names} filled from the World
    url: str
    #: the status per caller, in CALLERS order
    expect: str
    body: Any = None

    @property
    def statuses(self) -> dict[str, int]:
        codes = [int(code) for code in self.expect.split()]
        assert len(codes) == len(CALLERS), self
        return dict(zip(CALLERS, codes, strict=True))


C = "/v1/conversations/{conversation_id}"
I = "/v1/incidents/{incident_id}"  # noqa: E741
S = "/v1/training/sessions/{practice_id}"
P = "/v1/training/progress/{trainee}"
ANY_KEY = "401 200 200 200 200"
NO_KEY_NEEDED = "200 200 200 200 200"
RELENT = {"policy": "50%", "demand": "100%", "claim": 100}

#: (method, route, url, expected statuses: none agent trainer manager admin, body)
MATRIX = [
    Row("GET", "/healthz", "/healthz", NO_KEY_NEEDED),
    Row("GET", "/metrics", "/metrics", NO_KEY_NEEDED),
    Row("GET", "/v1/openapi.json", "/v1/openapi.json", NO_KEY_NEEDED),
    Row("POST", "/v1/analyze", "/v1/analyze", ANY_KEY, {"text": "hello"}),
    Row("POST", "/v1/check", "/v1/check", ANY_KEY, {"draft": "Hello"}),
    Row("GET", "/v1/me", "/v1/me", ANY_KEY),
    Row("POST", "/v1/relent", "/v1/relent", ANY_KEY, RELENT),
    # conversations: agents their own, managers their team's, admins all
    Row(
        "POST",
        "/v1/conversations",
        "/v1/conversations",
        "401 201 403 403 201",
        "{new_conversation}",
    ),
    Row("GET", "/v1/conversations", "/v1/conversations", "401 200 403 200 200"),
    Row("GET", C, "/v1/conversations/{own_conversation}", "401 200 403 200 200"),
    Row("GET", C, "/v1/conversations/{other_conversation}", "401 404 403 404 200"),
    Row(
        "POST",
        C + "/events",
        "/v1/conversations/{own_conversation}/events",
        "401 200 403 403 200",
        "{new_event}",
    ),
    Row(
        "POST",
        C + "/events",
        "/v1/conversations/{other_conversation}/events",
        "401 404 403 403 200",
        "{new_event}",
    ),
    Row("GET", C + "/events", "/v1/conversations/{own_conversation}/events", "401 200 403 200 200"),
    Row(
        "GET", C + "/events", "/v1/conversations/{other_conversation}/events", "401 404 403 404 200"
    ),
    Row(
        WEBSOCKET,
        C + "/live",
        "/v1/conversations/{own_conversation}/live",
        "1008 101 1008 1008 101",
    ),
    Row(
        WEBSOCKET,
        C + "/live",
        "/v1/conversations/{other_conversation}/live",
        "1008 1008 1008 1008 101",
    ),
    # incidents: managers their team's, admins all
    Row("GET", "/v1/incidents", "/v1/incidents", "401 403 403 200 200"),
    Row("GET", I, "/v1/incidents/{own_incident}", "401 403 403 200 200"),
    Row("GET", I, "/v1/incidents/{other_incident}", "401 403 403 404 200"),
    Row("POST", I + "/ack", "/v1/incidents/{new_own_incident}/ack", "401 403 403 200 200"),
    Row("POST", I + "/ack", "/v1/incidents/{new_other_incident}/ack", "401 403 403 404 200"),
    Row("GET", "/v1/scorecards", "/v1/scorecards", "401 403 403 200 200"),
    Row("GET", "/v1/scorecards", "/v1/scorecards?team=south", "401 403 403 403 200"),
    # training: agents their own sessions and progress, trainers and admins anyone's
    Row("GET", "/v1/training/scenarios", "/v1/training/scenarios", "401 200 200 403 200"),
    Row(
        "POST",
        "/v1/training/sessions",
        "/v1/training/sessions",
        "401 201 201 403 201",
        {"scenario": "insulter"},
    ),
    Row("GET", S, "/v1/training/sessions/{own_practice}", "401 200 200 403 200"),
    Row("GET", S, "/v1/training/sessions/{other_practice}", "401 404 200 403 200"),
    Row(
        "POST",
        S + "/replies",
        "/v1/training/sessions/{new_own_practice}/replies",
        "401 200 200 403 200",
        {"text": "I'm sorry."},
    ),
    Row(
        "POST",
        S + "/replies",
        "/v1/training/sessions/{new_other_practice}/replies",
        "401 404 200 403 200",
        {"text": "I'm sorry."},
    ),
    Row("GET", S + "/debrief", "/v1/training/sessions/{own_done}/debrief", "401 200 200 403 200"),
    Row("GET", S + "/debrief", "/v1/training/sessions/{other_done}/debrief", "401 404 200 403 200"),
    Row("GET", P, "/v1/training/progress/Ana", "401 200 200 403 200"),
    Row("GET", P, "/v1/training/progress/Ben", "401 404 200 403 200"),
    # the playbook: everyone reads it, trainers check one, admins replace it
    Row("GET", "/v1/playbook", "/v1/playbook", ANY_KEY),
    Row(
        "POST",
        "/v1/playbook/validate",
        "/v1/playbook/validate",
        "401 403 200 403 200",
        {"yaml": "name: Matrix\n"},
    ),
    Row("PUT", "/v1/playbook", "/v1/playbook", "401 403 403 403 200", {"yaml": "name: Matrix\n"}),
    # the web UI: sign-in with the key in the body, pages with the cookie
    Row("POST", "/ui/session", "/ui/session", "401 204 204 204 204", "{sign_in}"),
    Row("POST", "/ui/logout", "/ui/logout", "204 204 204 204 204"),
    Row("GET", "/login", "/login", NO_KEY_NEEDED),
    Row("GET", "/", "/", "303 303 303 303 303"),
    Row("GET", "/agent", "/agent", "303 200 403 403 200"),
    Row("GET", "/agent/{cid}", "/agent/{own_conversation}", "303 200 403 403 200"),
    Row("GET", "/agent/{cid}", "/agent/{other_conversation}", "303 404 403 403 200"),
    Row("GET", "/trainer", "/trainer", "303 200 200 403 200"),
    Row("GET", "/trainer/{sid}", "/trainer/{own_practice}", "303 200 200 403 200"),
    Row("GET", "/trainer/{sid}", "/trainer/{other_practice}", "303 404 200 403 200"),
    Row("GET", "/trainer/{sid}/debrief", "/trainer/{own_done}/debrief", "303 200 200 403 200"),
    Row("GET", "/trainer/{sid}/debrief", "/trainer/{other_done}/debrief", "303 404 200 403 200"),
    Row("GET", "/manager", "/manager", "303 403 403 200 200"),
    Row(
        "GET",
        "/manager/incidents/{iid}",
        "/manager/incidents/{own_incident}",
        "303 403 403 200 200",
    ),
    Row(
        "GET",
        "/manager/incidents/{iid}",
        "/manager/incidents/{other_incident}",
        "303 403 403 404 200",
    ),
    Row("GET", "/manager/scorecards", "/manager/scorecards", "303 403 403 200 200"),
    Row("GET", "/static", "/static/css/calmline.css", NO_KEY_NEEDED),
]

#: Routes whose caller signs in with the cookie rather than a header.
COOKIE_ROUTES = frozenset(
    {
        "/",
        "/login",
        "/agent",
        "/agent/{cid}",
        "/trainer",
        "/trainer/{sid}",
        "/trainer/{sid}/debrief",
        "/manager",
        "/manager/incidents/{iid}",
        "/manager/scorecards",
    }
)


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves (HEAD aside), WebSockets as WS."""
    found: set[tuple[str, str]] = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, Mount):
            found.add(("GET", route.path))
            continue
        methods = getattr(route, "methods", None)
        if methods is None:
            found.add((WEBSOCKET, context.path))
        else:
            found.update((m, context.path) for m in methods if m != "HEAD")
    return found


# ----- the world the rows are asked in ----------------------------------------------------------


class World:
    """Ana's (north) and Ben's (south) conversations, incidents and practice sessions."""

    def __init__(self, app: FastAPI, client: TestClient, keys: dict[str, str]) -> None:
        self.services: Services = app.state.services
        self.client = client
        self.keys = keys
        self.counter = itertools.count(1)
        conversations = self.services.conversations
        conversations.open_conversation("ana-1", agent="Ana", team="north")
        conversations.open_conversation("ben-1", agent="Ben", team="south")
        self.values: dict[str, Callable[[], Any]] = {
            "own_conversation": lambda: "ana-1",
            "other_conversation": lambda: "ben-1",
            "own_incident": self.once(lambda: self.incident("Ana", "north")),
            "other_incident": self.once(lambda: self.incident("Ben", "south")),
            "new_own_incident": lambda: self.incident("Ana", "north"),
            "new_other_incident": lambda: self.incident("Ben", "south"),
            "own_practice": self.once(lambda: self.practice("Ana")),
            "other_practice": self.once(lambda: self.practice("Ben")),
            "new_own_practice": lambda: self.practice("Ana"),
            "new_other_practice": lambda: self.practice("Ben"),
            "own_done": self.once(lambda: self.finished("Ana")),
            "other_done": self.once(lambda: self.finished("Ben")),
        }
        # each trainee has a recorded session, so their progress exists
        for finished in ("{own_done}", "{other_done}"):
            url = f"/v1/training/sessions/{self.fill(finished)}/debrief"
            r = client.get(url, headers=auth(keys["admin"]))
            assert r.status_code == 200, r.text

    @staticmethod
    def once(make: Callable[[], Any]) -> Callable[[], Any]:
        made: list[Any] = []

        def get() -> Any:
            if not made:
                made.append(make())
            return made[0]

        return get

    def fill(self, template: str) -> str:
        for name, value in self.values.items():
            if "{" + name + "}" in template:
                template = template.replace("{" + name + "}", str(value()))
        return template

    def incident(self, agent: str, team: str) -> int:
        """A conversation of ``agent`` ended through the protocol; its incident's id."""
        cid = f"incident-{next(self.counter)}"
        service = self.services.conversations
        service.open_conversation(cid, agent=agent, team=team, customer_name="Priya Raman")
        guidance = None
        for number, item in enumerate(CASES["protocol_end"]["events"], 1):
            kind = EventKind.CUSTOMER_MESSAGE if "customer" in item else EventKind.AGENT_MESSAGE
            text = item.get("customer") or item.get("agent")
            moment = T0 + timedelta(seconds=item["at"])
            guidance = service.ingest(cid, Event(f"e{number}", kind, moment, text))
        assert guidance is not None and guidance.incident is not None
        (found,) = [i for i in service.incidents(team=team) if i.conversation_id == cid]
        return found.id

    def practice(self, trainee: str) -> str:
        r = self.client.post(
            "/v1/training/sessions",
            json={"scenario": "insulter", "trainee": trainee, "seed": 1},
            headers=auth(self.keys["admin"]),
        )
        assert r.status_code == 201, r.text
        practice_id: str = r.json()["id"]
        return practice_id

    def finished(self, trainee: str) -> str:
        practice_id = self.practice(trainee)
        for _ in range(30):
            r = self.client.post(
                f"/v1/training/sessions/{practice_id}/replies",
                json={
                    "text": "I'm sorry, I will send a replacement phone by next-day delivery today."
                },
                headers=auth(self.keys["admin"]),
            )
            assert r.status_code == 200, r.text
            if r.json()["done"]:
                return practice_id
        raise AssertionError("the practice session never ended")

    def body(self, row: Row, caller: str) -> Any:
        if row.body == "{new_conversation}":
            return {"id": f"new-{next(self.counter)}"}
        if row.body == "{new_event}":
            return {
                "id": f"ev-{next(self.counter)}",
                "kind": "customer_message",
                "text": "Where is my parcel?",
            }
        if row.body == "{sign_in}":
            return {"key": self.keys[caller] if caller != "none" else "cl_00000000_" + "x" * 43}
        return row.body


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp: Path = tmp_path_factory.mktemp("matrix")
    app = create_app(make_settings(f"sqlite:///{tmp / 'calmline.db'}", tmp, key_cache_seconds=0))
    keys = make_keys(app.state.services)
    with TestClient(app) as client:
        yield World(app, client, keys)
    app.state.services.close()


def ask(world: World, row: Row, caller: str) -> int:
    """The status ``caller`` gets for ``row`` (for a WebSocket: 101 when it is served, else the
    close code)."""
    client = world.client
    client.cookies.clear()
    token = world.keys.get(caller)
    url = world.fill(row.url)
    if row.method == WEBSOCKET:
        headers = auth(token) if token else {}
        try:
            with client.websocket_connect(url, headers=headers) as ws:
                hello = ws.receive_json()
                return 101 if hello.get("type") == "hello" else 0
        except WebSocketDisconnect as closed:
            return closed.code
    headers: dict[str, str] = {}
    if token is not None:
        if row.route in COOKIE_ROUTES:
            client.cookies.set(KEY_COOKIE, token)
        else:
            headers = auth(token)
    try:
        response = client.request(
            row.method,
            url,
            json=world.body(row, caller),
            headers=headers,
            follow_redirects=False,
        )
    finally:
        client.cookies.clear()
    return response.status_code


@pytest.mark.parametrize("row", MATRIX, ids=lambda row: f"{row.method} {row.url}")
def test_who_may_use_the_route(world: World, row: Row) -> None:
    got = {caller: ask(world, row, caller) for caller in CALLERS}
    assert got == row.statuses, f"{row.method} {row.url}: expected {row.statuses}, got {got}"


def test_every_route_of_the_app_is_in_the_matrix(world: World) -> None:
    app: FastAPI = world.client.app  # type: ignore[assignment]
    served = app_routes(app)
    listed = {(row.method, row.route) for row in MATRIX}
    assert served - listed == set(), "routes nobody decided the roles of"
    assert listed - served == set(), "rows for routes the app does not serve"


def test_a_page_without_a_sign_in_goes_to_the_login_page(world: World) -> None:
    r = world.client.get("/manager/scorecards", follow_redirects=False)
    assert r.headers["location"] == "/login?next=/manager/scorecards"
