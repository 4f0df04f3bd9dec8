"""Incidents over HTTP: a manager sees and acknowledges their own team's; an admin all."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import auth
from tests.api.scenes import play


def incidents(client: TestClient, token: str, **params: object) -> list[dict[str, object]]:
    r = client.get("/v1/incidents", params=params, headers=auth(token))
    assert r.status_code == 200, r.text
    found: list[dict[str, object]] = r.json()["incidents"]
    return found


def test_a_manager_sees_only_their_teams_incidents(
    any_client: tuple[TestClient, dict[str, str]],
) -> None:
    client, keys = any_client
    play(client, keys["agent"], "protocol_end", "north-1")  # Ana, team north
    play(client, keys["agent2"], "safety_threat", "south-1")  # Ben, team south
    north = incidents(client, keys["manager"])
    assert [(i["conversation_id"], i["team"], i["agent"]) for i in north] == [
        ("north-1", "north", "Ana")
    ]
    assert [i["conversation_id"] for i in incidents(client, keys["manager_south"])] == ["south-1"]
    assert {i["conversation_id"] for i in incidents(client, keys["admin"])} == {
        "north-1",
        "south-1",
    }
    south_id = incidents(client, keys["manager_south"])[0]["id"]
    hidden = client.get(f"/v1/incidents/{south_id}", headers=auth(keys["manager"]))
    unknown = client.get("/v1/incidents/999999", headers=auth(keys["manager"]))
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json()["code"] == unknown.json()["code"] == "incident_unknown"
    ack = client.post(f"/v1/incidents/{south_id}/ack", headers=auth(keys["manager"]))
    assert ack.status_code == 404
    assert client.get("/v1/incidents", headers=auth(keys["agent"])).status_code == 403


def test_acknowledging_records_who_and_when(any_client: tuple[TestClient, dict[str, str]]) -> None:
    client, keys = any_client
    play(client, keys["agent"], "protocol_end", "north-1")
    (incident,) = incidents(client, keys["manager"], unacknowledged=True)
    assert incident["acknowledged_at"] is None
    url = f"/v1/incidents/{incident['id']}/ack"
    r = client.post(url, headers=auth(keys["manager"]))
    assert r.status_code == 200, r.text
    assert r.json()["acknowledged_by"] == "Maya"
    assert r.json()["acknowledged_at"] is not None
    again = client.post(url, headers=auth(keys["manager"]))
    assert again.status_code == 200
    assert again.json()["acknowledged_at"] == r.json()["acknowledged_at"]
    other = client.post(url, headers=auth(keys["admin"]))
    assert other.status_code == 409
    assert "Maya" in other.json()["detail"]
    assert incidents(client, keys["manager"], unacknowledged=True) == []
    read = client.get(f"/v1/incidents/{incident['id']}", headers=auth(keys["admin"])).json()
    assert read["acknowledged_by"] == "Maya"
    assert read["timeline"][0]["step"] == "D1"


def test_filters_and_redaction(client: TestClient, keys: dict[str, str]) -> None:
    play(client, keys["agent"], "protocol_end", "north-1")
    token = keys["manager"]
    assert len(incidents(client, token, customer="priya raman")) == 1
    assert incidents(client, token, customer="Someone Else") == []
    assert len(incidents(client, token, since="2026-11-30T09:00:00Z")) == 1
    assert incidents(client, token, since="2026-12-30T09:00:00+00:00") == []
    naive = client.get("/v1/incidents?since=2026-11-30T09:00:00", headers=auth(token))
    assert (naive.status_code, naive.json()["code"]) == (422, "input_invalid")
    (redacted,) = incidents(client, token, redact_names=True)
    assert redacted["customer_name"] is None and redacted["agent"] is None
    assert "Priya" not in str(redacted)
    one = client.get(f"/v1/incidents/{redacted['id']}?redact_names=true", headers=auth(token))
    assert "Priya" not in one.text
    assert client.get("/v1/incidents?limit=0", headers=auth(token)).status_code == 422


def test_an_id_too_large_for_the_database_is_404(
    any_client: tuple[TestClient, dict[str, str]],
) -> None:
    client, keys = any_client
    for incident_id in (2**31, 2**63, 10**30):
        for answer in (
            client.get(f"/v1/incidents/{incident_id}", headers=auth(keys["admin"])),
            client.post(f"/v1/incidents/{incident_id}/ack", headers=auth(keys["admin"])),
        ):
            assert answer.status_code == 404, answer.text
            assert answer.json()["code"] == "incident_unknown"
    client.post("/ui/session", json={"key": keys["manager"]})
    assert client.get(f"/manager/incidents/{10**30}").status_code == 404
