"""The web UI over plain HTTP: sign-in, redirects, headers, escaping and who sees which page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from calmline.api import create_app
from calmline.api.routes.pages import safe_next
from calmline.errors import StoreError
from tests.api.conftest import auth, make_keys, make_settings
from tests.api.scenes import play

CSP = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def sign_in(client: TestClient, token: str) -> None:
    answer = client.post("/ui/session", json={"key": token})
    assert answer.status_code == 204, answer.text


def assert_secure(answer: object) -> None:
    headers = answer.headers  # type: ignore[attr-defined]
    assert headers["content-security-policy"] == CSP
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize(
    "path",
    ["/", "/agent", "/agent/c1", "/trainer", "/trainer/abc", "/manager", "/manager/scorecards"],
)
def test_pages_need_a_sign_in(client: TestClient, path: str) -> None:
    answer = client.get(path, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=" + path.replace("?", "%3F")
    assert_secure(answer)


def test_the_query_is_kept_in_next(client: TestClient) -> None:
    answer = client.get("/manager/scorecards?since=2026-01-01", follow_redirects=False)
    assert answer.headers["location"] == "/login?next=/manager/scorecards%3Fsince%3D2026-01-01"


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("/agent", "/agent"),
        ("/agent/c1?x=1", "/agent/c1?x=1"),
        ("//evil.example/x", None),
        ("https://evil.example/", None),
        ("/\\evil.example", None),
        ("javascript:alert(1)", None),
        ("/agent\n/x", None),
        ("/login?next=/agent", None),
        ("", None),
        (None, None),
    ],
)
def test_next_is_a_local_path_only(given: str | None, kept: str | None) -> None:
    assert safe_next(given) == kept


def test_login_page_offers_only_local_next(client: TestClient) -> None:
    page = client.get("/login", params={"next": "//evil.example/"})
    assert page.status_code == 200
    assert_secure(page)
    assert 'data-next="/"' in page.text
    assert "evil.example" not in page.text
    page = client.get("/login", params={"next": "/trainer"})
    assert 'data-next="/trainer"' in page.text


def test_bad_key_is_401_problem(client: TestClient, keys: dict[str, str]) -> None:
    answer = client.post("/ui/session", json={"key": "cl_00000000_" + "x" * 43})
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "unauthorized"
    assert "calmline_key" not in answer.headers.get("set-cookie", "")
    assert client.post("/ui/session", json={}).status_code == 422
    assert client.post("/ui/session", json={"key": "k", "role": "admin"}).status_code == 422


def test_sign_in_sets_a_strict_http_only_cookie(client: TestClient, keys: dict[str, str]) -> None:
    answer = client.post("/ui/session", json={"key": keys["agent"]})
    assert answer.status_code == 204
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"calmline_key={keys['agent']};")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/" in cookie
    assert "Secure" not in cookie
    # The cookie works for the JSON API too.
    assert client.get("/v1/me").json()["name"] == "Ana"
    out = client.post("/ui/logout")
    assert out.status_code == 204
    assert (
        'calmline_key=""' in out.headers["set-cookie"] or "Max-Age=0" in out.headers["set-cookie"]
    )
    client.cookies.clear()
    assert client.get("/agent", follow_redirects=False).status_code == 303


def test_secure_cookies_setting(tmp_path: Path) -> None:
    app = create_app(make_settings(f"sqlite:///{tmp_path / 'c.db'}", tmp_path, secure_cookies=True))
    tokens = make_keys(app.state.services)
    with TestClient(app) as c:
        cookie = c.post("/ui/session", json={"key": tokens["agent"]}).headers["set-cookie"]
    app.state.services.close()
    assert "Secure" in cookie


@pytest.mark.parametrize(
    ("role", "home"),
    [("agent", "/agent"), ("trainer", "/trainer"), ("manager", "/manager"), ("admin", "/manager")],
)
def test_home_redirects_by_role(
    client: TestClient, keys: dict[str, str], role: str, home: str
) -> None:
    sign_in(client, keys[role])
    answer = client.get("/", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == home
    page = client.get(home)
    assert page.status_code == 200
    assert_secure(page)
    assert page.headers["cache-control"] == "no-store"
    assert re.search(rf'<a href="{home}" aria-current="page">', page.text)


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("agent", "/manager"),
        ("agent", "/manager/scorecards"),
        ("trainer", "/agent"),
        ("trainer", "/manager"),
        ("manager", "/agent"),
        ("manager", "/trainer"),
    ],
)
def test_a_page_of_another_role_is_403(
    client: TestClient, keys: dict[str, str], role: str, path: str
) -> None:
    sign_in(client, keys[role])
    page = client.get(path)
    assert page.status_code == 403
    assert_secure(page)
    assert "Not for this key" in page.text


def test_a_revoked_key_signs_out(client: TestClient, keys: dict[str, str]) -> None:
    sign_in(client, keys["agent"])
    services = client.app.state.services  # type: ignore[attr-defined]
    services.keys.revoke(keys["agent"])
    client.app.state.key_cache.forget()  # type: ignore[attr-defined]
    assert client.get("/agent", follow_redirects=False).status_code == 303


def test_server_rendered_text_is_escaped(client: TestClient, keys: dict[str, str]) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    services.conversations.open_conversation("x1", customer_name=PAYLOAD, agent="Ana", team="north")
    sign_in(client, keys["agent"])
    for path in ("/agent", "/agent/x1"):
        page = client.get(path)
        assert page.status_code == 200
        assert "<script>alert" not in page.text
        assert "<img src=x" not in page.text
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text


def test_pages_have_no_inline_script_or_style(client: TestClient, keys: dict[str, str]) -> None:
    sign_in(client, keys["admin"])
    for path in ("/login", "/agent", "/trainer", "/manager", "/manager/scorecards"):
        page = client.get(path)
        assert page.status_code == 200, path
        for tag in re.findall(r"<script\b[^>]*>", page.text):
            assert re.search(r'\bsrc="/static/js/[\w-]+\.js"', tag), (path, tag)
            assert 'type="module"' in tag
        assert re.search(r"<style\b|\sstyle=|\son\w+=", page.text) is None, path
        for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text):
            assert client.get(asset).status_code == 200, asset


def test_others_conversations_and_incidents_are_404(
    client: TestClient, keys: dict[str, str]
) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    services.conversations.open_conversation("ben-1", agent="Ben", team="south")
    sign_in(client, keys["agent"])
    assert client.get("/agent/ben-1").status_code == 404
    assert client.get("/agent/no-such").status_code == 404
    sign_in(client, keys["manager"])
    assert client.get("/manager/incidents/999").status_code == 404
    sign_in(client, keys["trainer"])
    assert client.get("/trainer/0123456789abcdef0123456789abcdef").status_code == 404


def test_an_agent_sees_only_their_practice(client: TestClient, keys: dict[str, str]) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    mine = services.practice.start("Ana", "insulter", 1, "Ana")
    theirs = services.practice.start("Ben", "insulter", 1, "Ben")
    sign_in(client, keys["agent"])
    assert client.get(f"/trainer/{mine.id}").status_code == 200
    assert client.get(f"/trainer/{theirs.id}").status_code == 404
    assert client.get(f"/trainer/{theirs.id}/debrief").status_code == 404
    listing = client.get("/trainer").text
    assert mine.id in listing
    assert theirs.id not in listing


def test_cookie_writes_need_this_sites_origin(client: TestClient, keys: dict[str, str]) -> None:
    """A page of another site (or another port of this one: SameSite lets the cookie through)
    posting a text/plain form to a route without a body must not act as the signed-in user."""
    play(client, keys["agent"], "protocol_end", "north-1")
    iid = client.get("/v1/incidents", headers=auth(keys["manager"])).json()["incidents"][0]["id"]
    sign_in(client, keys["manager"])
    form = {"content-type": "text/plain"}
    for origin in ("http://evil.example", "http://testserver:8080", "null"):
        answer = client.post(f"/v1/incidents/{iid}/ack", headers={**form, "Origin": origin})
        assert answer.status_code == 403, (origin, answer.text)
        assert answer.json()["code"] == "forbidden"
        assert "Origin" in answer.json()["detail"]
    cross_site = {**form, "Sec-Fetch-Site": "same-site"}
    assert client.post(f"/v1/incidents/{iid}/ack", headers=cross_site).status_code == 403
    assert client.post(f"/v1/incidents/{iid}/ack", headers=form).status_code == 403
    assert client.get(f"/v1/incidents/{iid}").json()["acknowledged_by"] is None
    # This site's own pages, a recent browser without Origin, and any client with a header.
    own = client.post(f"/v1/incidents/{iid}/ack", headers={"Origin": "http://testserver"})
    assert own.status_code == 200, own.text
    assert own.json()["acknowledged_by"] == "Maya"
    fetched = client.post(f"/v1/incidents/{iid}/ack", headers={"Sec-Fetch-Site": "same-origin"})
    assert fetched.status_code == 200
    client.cookies.clear()
    assert client.post(f"/v1/incidents/{iid}/ack", headers=auth(keys["manager"])).status_code == 200


def test_a_database_failure_on_a_practice_page_is_not_a_missing_session(
    client: TestClient, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    mine = services.practice.start("Ana", "insulter", 1, "Ana")
    sign_in(client, keys["agent"])

    def unreachable(_sid: str) -> None:
        raise StoreError("the database went away")

    monkeypatch.setattr(services.practice, "get", unreachable)
    page = client.get(f"/trainer/{mine.id}")
    assert page.status_code == 503
    assert page.json()["code"] == "store_error"
