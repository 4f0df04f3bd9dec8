"""Scenario files: the built-ins load, a team folder adds or replaces, mistakes name file:key."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from calmline.errors import PlaybookError, ScenarioError
from calmline.playbook.loader import load_playbook
from calmline.trainer import Intent, load_scenario, load_scenarios
from calmline.trainer.scenario import MIN_LINES, Band, parse_scenario

CASES = Path(__file__).parents[1] / "cases" / "trainer"
PLAYBOOK = load_playbook()


def _reference() -> dict[str, Any]:
    raw = resources.files("calmline.trainer").joinpath("scenarios/shouter.yaml").read_text()
    data: dict[str, Any] = yaml.safe_load(raw)
    return data


def _apply(data: dict[str, Any], case: dict[str, Any]) -> dict[str, Any]:
    for dotted, value in (case.get("set") or {}).items():
        *parents, last = dotted.split(".")
        node = data
        for part in parents:
            node = node[part]
        node[last] = value
    if "drop" in case:
        *parents, last = case["drop"].split(".")
        node = data
        for part in parents:
            node = node[part]
        del node[last]
    return data


BAD = yaml.safe_load((CASES / "bad_scenarios.yml").read_text(encoding="utf-8"))["broken"]


def test_built_in_scenarios_load_and_are_named_after_their_files() -> None:
    scenarios = load_scenarios(playbook=PLAYBOOK)
    assert "shouter" in scenarios
    shouter = scenarios["shouter"]
    assert shouter.name == "shouter"
    assert shouter.persona.abusive
    for band in Band:
        bank = shouter.lines.bank(band)
        assert Intent.OTHER in bank
        assert all(len(lines) >= MIN_LINES for lines in bank.values())


@pytest.mark.parametrize("case", BAD, ids=[c["name"] for c in BAD])
def test_a_broken_scenario_names_the_file_line_and_key(case: dict[str, Any]) -> None:
    text = yaml.safe_dump(_apply(_reference(), case), sort_keys=False).encode()
    with pytest.raises(ScenarioError) as caught:
        parse_scenario("team-shouter", text, playbook=PLAYBOOK, source="team/team-shouter.yaml")
    error = caught.value
    assert isinstance(error, PlaybookError)
    assert error.code == "scenario_invalid"
    pattern = rf"team/team-shouter\.yaml(:\d+)?: {re.escape(case['key'])}: .*"
    matching = [p for p in error.problems if re.match(pattern, p)]
    assert matching, error.problems
    assert any(case["error"] in p for p in matching), error.problems


def test_the_line_of_the_mistake_is_given(tmp_path: Path) -> None:
    text = resources.files("calmline.trainer").joinpath("scenarios/shouter.yaml").read_text()
    lines = text.splitlines()
    at = next(n for n, line in enumerate(lines) if line.startswith("start:"))
    lines[at] = "start: {anger: 2, patience: 0.7, trust: 0.25}"
    path = tmp_path / "loud.yaml"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(ScenarioError, match=rf"loud\.yaml:{at + 1}: start\.anger: "):
        load_scenario(path, playbook=PLAYBOOK)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"title: [unclosed", r"bad\.yaml:\d+:\d+: not valid YAML"),
        (b"- a list\n", r"bad\.yaml: a scenario is a mapping"),
        (
            b"title: a\ntitle: b\n",
            r"bad\.yaml:\d+:\d+: not valid YAML: found the key 'title' twice",
        ),
        (b"\xff\xfe", r"bad\.yaml: not valid UTF-8"),
    ],
)
def test_files_that_are_not_scenarios(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    with pytest.raises(ScenarioError, match=expected):
        load_scenario(path, playbook=PLAYBOOK)


def test_a_file_name_must_be_a_usable_scenario_name(tmp_path: Path) -> None:
    path = tmp_path / "My Scenario.yaml"
    path.write_text(yaml.safe_dump(_reference()), encoding="utf-8")
    with pytest.raises(ScenarioError, match="lower-case letters, digits and hyphens"):
        load_scenario(path, playbook=PLAYBOOK)


def test_a_team_folder_adds_scenarios_and_replaces_built_ins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _reference()
    data["title"] = "Our own shouter"
    (tmp_path / "shouter.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    (tmp_path / "night-shift.yaml").write_text(yaml.safe_dump(_reference()), encoding="utf-8")
    scenarios = load_scenarios(tmp_path, playbook=PLAYBOOK)
    assert scenarios["shouter"].title == "Our own shouter"
    assert scenarios["shouter"].source == str(tmp_path / "shouter.yaml")
    assert "night-shift" in scenarios
    assert list(scenarios) == sorted(scenarios)

    monkeypatch.setenv("CALMLINE_SCENARIOS", str(tmp_path))
    assert "night-shift" in load_scenarios(playbook=PLAYBOOK)


def test_a_missing_team_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such folder of scenarios"):
        load_scenarios(tmp_path / "nowhere", playbook=PLAYBOOK)
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "nothing.yaml", playbook=PLAYBOOK)
