"""GET /v1/me: the key's holder, role, team and public prefix."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import auth


def test_me_names_the_key(client: TestClient, keys: dict[str, str]) -> None:
    r = client.get("/v1/me", headers=auth(keys["manager"]))
    assert r.status_code == 200
    assert r.json() == {
        "name": "Maya",
        "role": "manager",
        "team": "north",
        "prefix": keys["manager"].split("_")[1],
    }
    assert client.get("/v1/me").status_code == 401
