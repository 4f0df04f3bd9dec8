"""The boundary protocol as data: the default is sound, a team can reshape it, and every way of
breaking it is refused with the file, the line and the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from calmline import PlaybookError, load_playbook
from calmline.errors import ProtocolError
from calmline.playbook.protocol import AGENT_ACTS, PROTOCOL_STEPS, ProtocolDefinition

CASES = Path(__file__).parents[1] / "cases" / "protocol"
BAD = sorted((CASES / "bad").glob("*.yaml"))
TEAM = CASES / "team_three_warnings.yaml"


def _expected(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name} must start with '# expect: '"
    return first.removeprefix("# expect: ")


def _default_data() -> dict[str, Any]:
    return load_playbook().protocol.model_dump(mode="json", by_alias=True)


def test_default_protocol_follows_the_playbook() -> None:
    protocol = load_playbook().protocol
    assert protocol.warnings == 2
    assert protocol.initial == "none" and protocol.final == "ended"
    steps = [s.step for s in protocol.states.values() if s.step]
    assert steps == list(PROTOCOL_STEPS)
    assert protocol.agent_acts == AGENT_ACTS
    # name-calling and threats alone do not start the protocol (B7)
    assert set(protocol.triggers) == {"shouting", "profanity"}
    assert protocol.problems() == []
    assert set(protocol.scripts) == set(PROTOCOL_STEPS)


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_protocol_is_refused_with_file_line_and_key(path: Path) -> None:
    with pytest.raises(ProtocolError) as info:
        load_playbook(path)
    error = info.value
    assert isinstance(error, PlaybookError)
    assert error.code == "protocol_invalid"
    assert _expected(path) in error.message
    assert path.name in error.message


def test_every_kind_of_mistake_has_a_case() -> None:
    # one case file per check, so a new check comes with its example
    assert len(BAD) >= 20


def test_a_protocol_mistake_among_others_is_a_playbook_error(tmp_path: Path) -> None:
    team = tmp_path / "team.yaml"
    team.write_text("limits: {max_message_chars: 5}\nprotocol: {warnings: 0}\n", encoding="utf-8")
    with pytest.raises(PlaybookError) as info:
        load_playbook(team)
    assert not isinstance(info.value, ProtocolError)
    assert "protocol.warnings" in info.value.message
    assert "limits.max_message_chars" in info.value.message


def test_several_protocol_mistakes_are_all_reported(tmp_path: Path) -> None:
    team = tmp_path / "team.yaml"
    team.write_text(
        "protocol:\n  initial: start\n  acts:\n    warn: {requires: [nothing]}\n",
        encoding="utf-8",
    )
    with pytest.raises(ProtocolError) as info:
        load_playbook(team)
    problems = info.value.problems
    assert len(problems) == 2
    assert any("team.yaml:2: protocol.initial" in p for p in problems)
    assert any("team.yaml:4: protocol.acts.warn.requires.0" in p for p in problems)


def test_a_definition_built_in_python_is_checked_too() -> None:
    data = _default_data()
    data["warnings"] = 1
    assert ProtocolDefinition.model_validate(data).warnings == 1
    data["states"]["limbo"] = {"label": "nowhere", "step": "D2"}
    with pytest.raises(ProtocolError, match=r"protocol\.states\.limbo: unreachable"):
        ProtocolDefinition.model_validate(data)


def test_a_team_changes_warnings_wording_and_states() -> None:
    default = load_playbook().protocol
    protocol = load_playbook(TEAM).protocol
    assert protocol.warnings == 3
    # renamed: the old state is gone, the new one carries its step
    assert "warned_again" not in protocol.states
    assert protocol.states["final_warning"].step == "D4"
    # added
    assert protocol.states["reminded"].step == "D2"
    # wording: a phrase added, a default one switched off, the others kept
    warn = protocol.acts["warn"].phrases
    assert warn["if this rudeness continues"] == 1
    assert warn["otherwise"] == 0
    assert set(default.acts["warn"].phrases) <= set(warn)
    assert protocol.behaviours["shouting"] == "raising your voice"


def test_states_can_only_be_removed_with_null(tmp_path: Path) -> None:
    team = tmp_path / "team.yaml"
    team.write_text("protocol:\n  states:\n    warned_again: ~\n", encoding="utf-8")
    # the default transitions still name the removed state
    with pytest.raises(ProtocolError, match=r"'warned_again' is not a state"):
        load_playbook(team)


def test_behaviour_words_follow_the_signals() -> None:
    protocol = load_playbook().protocol
    assert protocol.behaviour_for(["shouting"]) == "shouting"
    assert protocol.behaviour_for(["profanity", "insult"]) == "swearing"
    assert protocol.behaviour_for(["shouting", "profanity"]) == protocol.behaviours["default"]
    assert protocol.behaviour_for([]) == protocol.behaviours["default"]
