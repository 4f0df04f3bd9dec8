"""`calmline protocol show`: the protocol a playbook defines, as text, Mermaid and JSON."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner, Result

from calmline import load_playbook
from calmline.cli import app
from calmline.coach.protocol import ProtocolMachine

runner = CliRunner()
CASES = Path(__file__).parents[1] / "cases" / "protocol"
TEAM = CASES / "team_three_warnings.yaml"


def run(*args: str, env: dict[str, str | None] | None = None) -> Result:
    base: dict[str, str | None] = {"CALMLINE_PLAYBOOK": None, "COLUMNS": "120"}
    base.update(env or {})
    return runner.invoke(app, ["protocol", "show", *args], env=base)


def test_text_shows_states_steps_transitions_and_warnings() -> None:
    result = run()
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "2 warnings before the conversation may end" in text
    protocol = load_playbook().protocol
    for name, state in protocol.states.items():
        assert name in text and state.label in text
        if state.step:
            assert state.step in text
    for act in protocol.known_acts:
        assert act in text
    assert "enough_warnings: the agent has given at least 2 warnings" in text


def test_mermaid_is_the_machine_s_diagram_and_nothing_else() -> None:
    result = run("--format", "mermaid")
    assert result.exit_code == 0
    assert result.stdout == ProtocolMachine(load_playbook().protocol).to_mermaid()
    assert result.stdout.startswith("stateDiagram-v2\n")


def test_json_is_the_definition_as_data() -> None:
    result = run("-f", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["warnings"] == 2
    assert data["initial"] == "none" and data["final"] == "ended"
    assert {"from", "act", "to", "when"} == set(data["transitions"][0])
    assert set(data["acts"]) == {"make_aware", "ask_to_stop", "warn", "invite_back", "end"}


def test_a_team_playbook_from_the_option_or_the_environment() -> None:
    for result in (
        run("--playbook", str(TEAM), "-f", "json"),
        run("-f", "json", env={"CALMLINE_PLAYBOOK": str(TEAM)}),
    ):
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        assert data["warnings"] == 3
        assert "final_warning" in data["states"] and "warned_again" not in data["states"]


def test_an_unsound_protocol_is_one_clear_error() -> None:
    bad = CASES / "bad" / "dead_end.yaml"
    result = run("--playbook", str(bad))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("calmline: error: ")
    assert "dead_end.yaml:5: protocol.states.on_hold: a dead end" in result.stderr
    assert "Traceback" not in result.output


def test_an_unknown_format_is_refused() -> None:
    result = run("--format", "svg")
    assert result.exit_code == 2
    assert "svg" in result.output
