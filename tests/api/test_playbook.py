"""The playbook over HTTP: read it, validate YAML, and replace it while the service runs."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from calmline.api import create_app
from calmline.settings import AppSettings
from tests.api.conftest import auth

DRAFT = "Calm down, you are wrong."


def rules_fired(client: TestClient, token: str, draft: str = DRAFT) -> set[str]:
    r = client.post("/v1/check", json={"draft": draft}, headers=auth(token))
    assert r.status_code == 200, r.text
    return {f["rule"] for f in r.json()["findings"]}


def test_reading_the_playbook(client: TestClient, keys: dict[str, str]) -> None:
    r = client.get("/v1/playbook", headers=auth(keys["agent"]))
    assert r.status_code == 200
    body = r.json()
    assert (body["source"], body["version"]) == ("default", None)
    assert "B3" in {p["id"] for p in body["principles"]}
    b3 = next(rule for rule in body["rules"] if rule["id"] == "B3")
    assert b3["enabled"] is True and b3["summary"]
    assert "insult" in {s["detector"] for s in body["signals"]}


def test_validate_lists_each_problem_with_its_key(client: TestClient, keys: dict[str, str]) -> None:
    url, headers = "/v1/playbook/validate", auth(keys["trainer"])
    good = client.post(url, json={"yaml": "rules:\n  B3:\n    severity: block\n"}, headers=headers)
    assert good.json() == {"valid": True, "problems": []}
    bad = client.post(
        url,
        json={"yaml": "rules:\n  B3:\n    severity: loud\n  B99:\n    principle: B3\n"},
        headers=headers,
    )
    assert bad.status_code == 200
    assert bad.json()["valid"] is False
    assert any("rules.B3.severity" in p for p in bad.json()["problems"])
    broken = client.post(url, json={"yaml": "rules: [unclosed"}, headers=headers)
    assert broken.json()["valid"] is False
    assert client.post(url, json={"yaml": "x: 1"}, headers=auth(keys["agent"])).status_code == 403


def test_replacing_the_playbook_swaps_the_engine(
    client: TestClient, keys: dict[str, str], app_settings: AppSettings, tmp_path: Path
) -> None:
    agent = keys["agent"]
    assert "B3" in rules_fired(client, agent)
    assert "B3" not in rules_fired(client, agent, "Simmer down, I will look into it.")
    team = (
        "rules:\n"
        "  B1:\n"
        "    enabled: false\n"
        "  B3:\n"
        "    lexicons:\n"
        "      phrases:\n"
        "        simmer down: 1\n"
    )
    r = client.put(
        "/v1/playbook", json={"yaml": team, "note": "pilot"}, headers=auth(keys["admin"])
    )
    assert r.status_code == 200, r.text
    assert r.json()["source"] == "stored"
    version = r.json()["version"]
    assert "B1" not in rules_fired(client, agent)
    assert "B3" in rules_fired(client, agent, "Simmer down, I will look into it.")
    read = client.get("/v1/playbook", headers=auth(agent)).json()
    assert (read["source"], read["version"]) == ("stored", version)
    assert not next(rule for rule in read["rules"] if rule["id"] == "B1")["enabled"]

    # a restarted service starts with the stored playbook
    restarted = create_app(app_settings)
    with TestClient(restarted) as again:
        assert "B1" not in rules_fired(again, agent)
    restarted.state.services.close()


def test_an_invalid_playbook_is_422_with_its_problems_and_changes_nothing(
    client: TestClient, keys: dict[str, str]
) -> None:
    admin = auth(keys["admin"])
    bad = "rules:\n  B1:\n    enabled: false\n  B3:\n    severity: loud\n"
    r = client.put("/v1/playbook", json={"yaml": bad}, headers=admin)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "playbook_invalid"
    assert any("playbook.yaml" in p and "rules.B3.severity" in p for p in r.json()["problems"])
    assert "B1" in rules_fired(client, keys["agent"])
    assert client.get("/v1/playbook", headers=admin).json()["source"] == "default"
    unknown_rule = client.put(
        "/v1/playbook", json={"yaml": "rules:\n  Z9:\n    principle: B3\n"}, headers=admin
    )
    assert unknown_rule.status_code == 422
    extra = client.put("/v1/playbook", json={"yaml": "x: 1", "nte": "typo"}, headers=admin)
    assert extra.status_code == 422 and extra.json()["errors"][0]["loc"] == "body.nte"
    assert (
        client.put("/v1/playbook", json={"yaml": "x: 1"}, headers=auth(keys["trainer"])).status_code
        == 403
    )


def test_replacing_stores_a_version_on_each_backend(
    any_client: tuple[TestClient, dict[str, str]],
) -> None:
    client, keys = any_client
    admin = auth(keys["admin"])
    services = client.app.state.services  # type: ignore[attr-defined]
    bad = client.put(
        "/v1/playbook", json={"yaml": "rules:\n  B3:\n    severity: loud\n"}, headers=admin
    )
    assert bad.status_code == 422
    assert services.playbooks.latest() is None
    first = client.put("/v1/playbook", json={"yaml": "name: First\n"}, headers=admin).json()
    second = client.put(
        "/v1/playbook", json={"yaml": "name: Second\n", "note": "renamed"}, headers=admin
    ).json()
    assert second["version"] > first["version"]
    assert services.playbooks.latest() == (second["version"], "name: Second\n")
    read = client.get("/v1/playbook", headers=auth(keys["agent"])).json()
    assert (read["name"], read["version"]) == ("Second", second["version"])
