"""Loading playbooks: the default, a team file over it, and clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from calmline import PlaybookError, build_engine, load_engine, load_playbook
from calmline.core.types import Severity

CASES = Path(__file__).parents[1] / "cases" / "playbooks"
BAD = sorted((CASES / "bad").glob("*.yaml"))


def _expected(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: ")
    return first.removeprefix("# expect: ")


def test_default_playbook_cites_every_principle() -> None:
    playbook = load_playbook()
    ids = {p.id for p in playbook.principles}
    expected = {
        f"{g}{n}"
        for g, top in zip("ABCDE", (8, 8, 7, 8, 3), strict=True)
        for n in range(1, top + 1)
    }
    assert ids == expected
    for step in ("D1", "D2", "D3", "D4", "D5"):
        assert len(playbook.scripts.protocol[step]) >= 2
    for lines in (playbook.scripts.apology, playbook.scripts.bad_news, playbook.scripts.invitation):
        assert len(lines) >= 2


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_playbook_is_rejected_with_file_and_key(path: Path) -> None:
    with pytest.raises(PlaybookError) as info:
        load_engine(path)
    message = str(info.value)
    assert _expected(path) in message
    assert str(path) in message or path.name in message


def test_team_playbook_overrides_and_extends(tmp_path: Path) -> None:
    engine = load_engine(CASES / "good" / "team.yaml")
    assert engine.settings.limits.max_message_chars == 5000
    b3 = next(r for r in engine.rules if r.id == "B3")
    assert b3.severity is Severity.BLOCK
    # added phrase fires, a phrase set to 0 is off, default phrases are still there
    assert any(f.rule == "B3" for f in engine.check_reply("Simmer down please.").findings)
    assert not any(f.rule == "B3" for f in engine.check_reply("Relax, it's sorted.").findings)
    assert engine.check_reply("Calm down.").blocked
    # a word-list detector added in YAML with no Python
    analysis = engine.analyze_message("I'm switching to Globex tomorrow")
    custom = [s for s in analysis.signals if s.type == "custom.competitor"]
    assert custom and custom[0].text == "Globex" and custom[0].principle == "E2"
    assert not any(
        s.type == "custom.competitor"
        for s in engine.analyze_message("I'm not switching to Globex").signals
    )


def test_broken_utf8_names_the_byte(tmp_path: Path) -> None:
    bad = tmp_path / "team.yaml"
    bad.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(PlaybookError, match=r"team.yaml: not valid UTF-8 at byte 9"):
        load_playbook(bad)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(PlaybookError, match="no such playbook file"):
        load_playbook(tmp_path / "nope.yaml")
    with pytest.raises(PlaybookError, match="is a folder"):
        load_playbook(tmp_path)


def test_oversized_playbook_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"# " + b"x" * 5_000_001 + b"\n")
    with pytest.raises(PlaybookError, match="at most 5,000,000"):
        load_playbook(big)


def test_yaml_tags_that_run_code_are_refused(tmp_path: Path) -> None:
    evil = tmp_path / "evil.yaml"
    evil.write_text("name: !!python/object/apply:os.system ['echo hi']\n", encoding="utf-8")
    with pytest.raises(PlaybookError, match="not valid YAML"):
        load_playbook(evil)


def test_several_problems_are_all_listed(tmp_path: Path) -> None:
    bad = tmp_path / "two.yaml"
    bad.write_text("rules:\n  B3:\n    severity: high\n    colour: red\n", encoding="utf-8")
    with pytest.raises(PlaybookError) as info:
        load_playbook(bad)
    assert "2 problems" in str(info.value)
    assert len(info.value.problems) == 2


def test_in_memory_text_and_standalone(tmp_path: Path) -> None:
    playbook = load_playbook(text=b"limits: {max_message_chars: 1000}")
    assert playbook.limits.max_message_chars == 1000
    assert build_engine(playbook).max_chars == 1000
