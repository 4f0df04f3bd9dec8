"""The boundary protocol at run time: acts recognised in agent messages, the state machine a
conversation moves through, and the premature-end finding."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from calmline import Engine, load_playbook
from calmline.coach.protocol import (
    MAX_QUOTE_CHARS,
    ProtocolMachine,
    classify_acts,
    find_acts,
    premature_end_finding,
    protocol_line,
)
from calmline.core.types import Severity
from calmline.errors import EventError, EventOrderError, InputError
from calmline.playbook.protocol import PROTOCOL_STEPS, ProtocolDefinition

CASES = Path(__file__).parents[1] / "cases" / "protocol"
DEFAULT = load_playbook().protocol
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _case_params() -> list[Any]:
    params = []
    for path in sorted(CASES.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        act = data.get("act")
        for expect in ("fires", "silent", "nothing"):
            for n, text in enumerate(data.get(expect) or []):
                params.append(
                    pytest.param(act, expect, text, id=f"{path.stem}-{expect}-{n}-{text[:30]}")
                )
    return params


@pytest.mark.parametrize(("act", "expect", "text"), _case_params())
def test_act_cases(act: str | None, expect: str, text: str) -> None:
    found = classify_acts(text, DEFAULT)
    if expect == "fires":
        assert act in found, f"{text!r} should be {act}, got {found}"
    elif expect == "silent":
        assert act not in found, f"{text!r} should not be {act}"
    else:
        assert found == (), f"{text!r} is an ordinary reply, got {found}"


def _script_lines() -> Iterator[Any]:
    behaviours = sorted(set(DEFAULT.behaviours.values()))
    for step in PROTOCOL_STEPS:
        for n in range(len(DEFAULT.scripts[step])):
            for name in (None, "Sam"):
                for behaviour in behaviours:
                    yield pytest.param(
                        step, n, name, behaviour, id=f"{step}-{n}-{name}-{behaviour}"
                    )


def _acts_of_step(step: str) -> set[str]:
    """The acts that lead to a state with this step; a D5 line also ends the conversation."""
    acts = {t.act for t in DEFAULT.transitions if DEFAULT.step_of(t.to) == step}
    return acts | {"end"} if step == "D5" else acts


@pytest.mark.parametrize(("step", "n", "name", "behaviour"), list(_script_lines()))
def test_every_script_line_performs_its_own_step(
    step: str, n: int, name: str | None, behaviour: str
) -> None:
    line = protocol_line(DEFAULT, step, customer_name=name, behaviour=behaviour, variant=n)
    assert line is not None
    assert set(classify_acts(line, DEFAULT)) == _acts_of_step(step), line


def test_script_lines_name_the_customer_and_the_behaviour() -> None:
    line = protocol_line(DEFAULT, "D2", customer_name="Dana", behaviour="swearing")
    assert line is not None and line.startswith("Dana, ") and "swearing" in line
    generic = protocol_line(DEFAULT, "D2")
    assert generic is not None and DEFAULT.behaviours["default"] in generic
    assert generic[0].isupper()


def test_a_found_act_says_where_and_why() -> None:
    text = "Sam, I am going to end the conversation now. Call us back when you feel calmer."
    matches = {m.act: m for m in find_acts(text, DEFAULT)}
    assert set(matches) == {"invite_back", "end"}
    end = matches["end"]
    assert text[end.span[0] : end.span[1]] == "end the conversation"
    assert text[end.sentence[0] : end.sentence[1]] == "Sam, I am going to end the conversation now."


def test_a_team_extends_and_switches_off_words() -> None:
    team = load_playbook(
        text=b"protocol:\n  acts:\n    end:\n      phrases: {i am signing off now: 1}\n"
        b"  words:\n    ending: {end this call: 0}\n"
    ).protocol
    assert classify_acts("I am signing off now.", team) == ("end",)
    assert classify_acts("I'm going to end this call.", team) == ()
    assert classify_acts("I'm going to end this call.", DEFAULT) == ("end",)


def test_a_very_long_message_is_read_whole() -> None:
    filler = "Thanks for waiting while I look into the order history. " * 400
    text = filler + "If you keep swearing, I will have to end this call."
    assert classify_acts(text, DEFAULT) == ("warn",)


# ----- the machine --------------------------------------------------------------------------------


class Clock:
    """Event times a minute apart, with event ids to match."""

    def __init__(self) -> None:
        self.n = 0

    def next(self) -> dict[str, Any]:
        self.n += 1
        return {"at": T0 + timedelta(minutes=self.n), "event_id": f"e{self.n}"}


def run(machine: ProtocolMachine, *acts: str, clock: Clock | None = None) -> list[Any]:
    """Apply each act as the act of a message of its own, a minute after the last step."""
    if clock is None:
        clock = Clock()
        clock.n = len(machine.timeline) and int(machine.timeline[-1].event_id[1:])
    return [machine.apply(act, quote=f"said {act}", **clock.next()) for act in acts]


def test_a_proper_run_through_the_default_protocol() -> None:
    machine = ProtocolMachine(DEFAULT)
    assert machine.stage == "none" and machine.warnings_given == 0
    wanted = []
    clock = Clock()
    while (act := machine.recommended_act()) is not None:
        wanted.append(act)
        assert machine.allowed(act)
        assert machine.apply(act, quote="...", **clock.next()) is not None
    assert wanted == ["make_aware", "ask_to_stop", "warn", "warn", "invite_back", "end"]
    assert machine.stage == "ended" and machine.ended
    assert machine.warnings_given == 2
    assert [s.step for s in machine.timeline] == ["D1", "D2", "D3", "D4", "D5", "end"]
    assert all(s.proper for s in machine.timeline)
    assert machine.steps_done == dict.fromkeys(PROTOCOL_STEPS, True)
    assert [s.event_id for s in machine.timeline] == [f"e{i}" for i in range(1, 7)]


def test_the_recommended_step_names_the_script_to_use() -> None:
    machine = ProtocolMachine(DEFAULT)
    steps = []
    clock = Clock()
    while (act := machine.recommended_act()) is not None:
        steps.append(machine.recommended_step())
        machine.apply(act, quote="", **clock.next())
    assert steps == ["D1", "D2", "D3", "D4", "D5", "end"]
    assert machine.recommended_step() is None


def test_an_act_that_does_not_apply_changes_nothing() -> None:
    machine = ProtocolMachine(DEFAULT)
    assert run(machine, "warn", "invite_back", "customer_calmed") == [None, None, None]
    assert machine.stage == "none" and machine.timeline == () and machine.warnings_given == 0
    run(machine, "make_aware")
    assert run(machine, "make_aware") == [None]
    assert machine.stage == "made_aware"


def test_ending_an_ordinary_conversation_is_not_a_protocol_step() -> None:
    machine = ProtocolMachine(DEFAULT)
    assert run(machine, "end") == [None]
    assert machine.stage == "none" and not machine.ended


@pytest.mark.parametrize("warnings_first", [0, 1])
def test_a_premature_end_is_recorded_and_ends(warnings_first: int) -> None:
    machine = ProtocolMachine(DEFAULT)
    run(machine, "make_aware", "ask_to_stop", *["warn"] * warnings_first)
    assert not machine.allowed("end")
    (step,) = run(machine, "end")
    assert step is not None and step.step == "end" and step.proper is False
    assert machine.stage == "ended"
    assert machine.steps_done["D4"] is False and machine.steps_done["D5"] is False
    # nothing happens after the end
    assert run(machine, "warn", "safety_end") == [None, None]
    assert not machine.allowed("safety_end")


def test_a_warning_and_an_end_in_one_message_is_premature() -> None:
    machine = ProtocolMachine(DEFAULT)
    clock = Clock()
    run(machine, "make_aware", "warn", clock=clock)
    same = clock.next()
    assert machine.apply("warn", quote="", **same) is not None
    assert machine.warnings_given == 2
    step = machine.apply("end", quote="", **same)
    assert step is not None and not step.proper


def test_a_customer_who_calms_down_returns_to_normal() -> None:
    machine = ProtocolMachine(DEFAULT)
    run(machine, "make_aware", "ask_to_stop", "warn")
    (step,) = run(machine, "customer_calmed")
    assert step is not None and step.step == "calmed" and step.stage == "none"
    assert machine.stage == "none" and machine.warnings_given == 0
    # it starts again from the beginning if the behaviour comes back
    assert machine.recommended_act() == "make_aware"
    assert [s.step for s in machine.timeline] == ["D1", "D2", "D3", "calmed"]


@pytest.mark.parametrize("before", [(), ("make_aware",), ("make_aware", "warn")])
def test_a_threat_to_safety_may_end_at_once(before: tuple[str, ...]) -> None:
    machine = ProtocolMachine(DEFAULT)
    run(machine, *before)
    assert machine.allowed("safety_end")
    (step,) = run(machine, "safety_end")
    assert step is not None and step.step == "safety" and step.proper
    assert machine.ended


def _with_warnings(n: int) -> ProtocolDefinition:
    return load_playbook(text=f"protocol:\n  warnings: {n}\n".encode()).protocol


_WITH_WARNINGS = {n: _with_warnings(n) for n in (1, 2, 3)}


@pytest.mark.parametrize("warnings", [1, 2, 3])
def test_the_end_is_allowed_after_exactly_the_configured_warnings(warnings: int) -> None:
    machine = ProtocolMachine(_with_warnings(warnings))
    clock = Clock()
    run(machine, "make_aware", "ask_to_stop", clock=clock)
    for count in range(1, warnings + 1):
        assert not machine.allowed("end")
        assert machine.recommended_act() == "warn"
        run(machine, "warn", clock=clock)
        assert machine.warnings_given == count
    assert machine.allowed("end") and machine.allowed("invite_back")
    assert machine.recommended_act() == "invite_back"
    (step,) = run(machine, "end", clock=clock)
    assert step is not None and step.proper


def test_a_team_protocol_with_renamed_and_added_states() -> None:
    team = load_playbook(CASES / "team_three_warnings.yaml").protocol
    machine = ProtocolMachine(team)
    clock = Clock()
    run(machine, "make_aware", "ask_to_stop", "ask_to_stop", "warn", "warn", clock=clock)
    assert machine.stage == "final_warning"
    assert [s.step for s in machine.timeline] == ["D1", "D2", "D2", "D3", "D4"]
    assert not machine.allowed("end")
    run(machine, "warn", "invite_back", "end", clock=clock)
    assert machine.ended and all(s.proper for s in machine.timeline)


def test_misuse_is_refused_clearly() -> None:
    machine = ProtocolMachine(DEFAULT)
    with pytest.raises(InputError, match="unknown protocol act 'shout'"):
        machine.apply("shout", at=T0, event_id="e1", quote="")
    with pytest.raises(InputError, match="unknown protocol act"):
        machine.allowed("apologise")
    with pytest.raises(EventError, match="time-zone-aware"):
        machine.apply("make_aware", at=datetime(2026, 3, 2, 9, 0), event_id="e1", quote="")
    with pytest.raises(EventError, match="event id"):
        machine.apply("make_aware", at=T0, event_id=" ", quote="")
    machine.apply("make_aware", at=T0, event_id="e1", quote="")
    with pytest.raises(EventOrderError, match="older than the last protocol step"):
        machine.apply("ask_to_stop", at=T0 - timedelta(seconds=1), event_id="e2", quote="")
    assert machine.stage == "made_aware" and len(machine.timeline) == 1
    with pytest.raises(InputError, match="ProtocolDefinition"):
        ProtocolMachine({"warnings": 2})  # type: ignore[arg-type]
    with pytest.raises(InputError, match="must be text"):
        classify_acts(None, DEFAULT)  # type: ignore[arg-type]


def test_quotes_are_kept_short_and_on_one_line() -> None:
    machine = ProtocolMachine(DEFAULT)
    step = machine.apply("make_aware", at=T0, event_id="e1", quote="Do you\nrealise " * 100)
    assert step is not None
    assert len(step.quote) <= MAX_QUOTE_CHARS and "\n" not in step.quote
    assert step.quote.endswith("…")


def test_a_copy_is_independent() -> None:
    machine = ProtocolMachine(DEFAULT)
    run(machine, "make_aware")
    twin = machine.copy()
    run(twin, "ask_to_stop")
    assert machine.stage == "made_aware" and twin.stage == "asked_to_stop"
    assert len(machine.timeline) == 1


# ----- showing it ---------------------------------------------------------------------------------


def test_text_view_lists_states_steps_transitions_and_warnings() -> None:
    machine = ProtocolMachine(DEFAULT)
    run(machine, "make_aware")
    text = machine.to_text()
    assert "2 warnings before the conversation may end" in text
    for name, state in DEFAULT.states.items():
        assert name in text and state.label in text
    for step in PROTOCOL_STEPS:
        assert step in text
    assert "end when enough_warnings" in text
    assert "Now: made_aware (D1), 0 of 2 warnings given; next: ask_to_stop" in text


def test_mermaid_has_every_state_and_transition() -> None:
    machine = ProtocolMachine(DEFAULT)
    diagram = machine.to_mermaid()
    lines = diagram.splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert f"    [*] --> {DEFAULT.initial}" in lines
    assert f"    {DEFAULT.final} --> [*]" in lines
    for t in DEFAULT.transitions:
        for source in t.from_:
            assert any(line.startswith(f"    {source} --> {t.to}: {t.act}") for line in lines)
    for line in lines[1:]:
        # one colon at most per line: labels never break the syntax
        assert line.count(":") <= 1, line
    assert "class " not in diagram  # nothing highlighted before the protocol starts
    run(machine, "make_aware", "warn")
    assert "    class warned current" in machine.to_mermaid().splitlines()


# ----- the premature-end rule ---------------------------------------------------------------------


def _machine_after(*acts: str) -> ProtocolMachine:
    machine = ProtocolMachine(DEFAULT)
    run(machine, *acts)
    return machine


def test_premature_end_blocks_with_counts_and_the_next_warning(engine: Engine) -> None:
    machine = _machine_after("make_aware", "ask_to_stop", "warn")
    draft = "I understand you're upset. I'm ending this call now."
    finding = premature_end_finding(
        draft, machine, DEFAULT, customer_name="Dana", behaviour="shouting"
    )
    assert finding is not None
    assert (finding.rule, finding.principle, finding.severity) == ("D5", "D4", Severity.BLOCK)
    assert "1 of 2 warnings given" in finding.message
    assert "Repeat the warning" in finding.message
    assert finding.text == "I'm ending this call now."
    assert draft[finding.span[0] : finding.span[1]] == finding.text
    assert finding.rewrite is not None
    line = finding.rewrite.text
    assert line in {
        protocol_line(DEFAULT, "D4", customer_name="Dana", behaviour="shouting", variant=n)
        for n in range(len(DEFAULT.scripts["D4"]))
    }
    assert "Dana" in line and classify_acts(line, DEFAULT) == ("warn",)
    assert not engine.check_reply(line).blocked
    # nothing was applied to the conversation's own machine
    assert machine.stage == "warned" and len(machine.timeline) == 3


def test_premature_end_before_any_warning_recommends_the_step_due() -> None:
    finding = premature_end_finding(
        "Right, I'm closing this chat now.", _machine_after("make_aware"), DEFAULT
    )
    assert finding is not None
    assert "no warning given yet" in finding.message and "(D2)" in finding.message
    assert finding.rewrite is not None
    assert classify_acts(finding.rewrite.text, DEFAULT) == ("ask_to_stop",)


def test_a_message_that_warns_and_ends_at_once_is_premature() -> None:
    machine = _machine_after("make_aware", "ask_to_stop", "warn")
    draft = "This is my second warning: if this continues I'll end the call. I'm ending it now."
    assert premature_end_finding(draft, machine, DEFAULT) is not None


@pytest.mark.parametrize(
    ("acts", "draft"),
    [
        # a proper end: the warning has been repeated
        (("make_aware", "ask_to_stop", "warn", "warn"), "I am ending this call now."),
        (("make_aware", "warn", "warn", "invite_back"), "I am ending this call now."),
        # no end in the message
        (("make_aware", "warn"), "If you keep shouting, I will end this call."),
        # an ordinary conversation, closed
        ((), "Thanks, I'm closing this chat now. Have a good day."),
    ],
)
def test_no_finding_when_the_end_is_fine(acts: tuple[str, ...], draft: str) -> None:
    assert premature_end_finding(draft, _machine_after(*acts), DEFAULT) is None


def test_an_abusive_customer_left_without_warning_is_a_premature_end() -> None:
    finding = premature_end_finding(
        "Do you realise you're swearing at me? I'm ending this call.", _machine_after(), DEFAULT
    )
    assert finding is not None and "no warning given yet" in finding.message


def test_the_machine_and_the_definition_must_agree() -> None:
    other = _with_warnings(3)
    with pytest.raises(InputError, match="different protocol"):
        premature_end_finding("I'm ending this call.", _machine_after(), other)


# ----- properties ---------------------------------------------------------------------------------

ALL_ACTS = sorted(DEFAULT.known_acts)
#: Words the acts are made of, so random text often holds (parts of) their phrases.
PROTOCOL_WORDS = sorted(
    {w for act in DEFAULT.acts.values() for p in act.phrases for w in p.split()}
    | {w for words in DEFAULT.words.values() for p in words for w in p.split()}
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(ALL_ACTS), max_size=25), st.sampled_from([1, 2, 3]))
def test_any_sequence_of_acts_keeps_the_machine_sound(acts: list[str], warnings: int) -> None:
    machine = ProtocolMachine(_WITH_WARNINGS[warnings])
    definition = machine.definition
    for i, act in enumerate(acts):
        was_ended = machine.ended
        step = machine.apply(act, at=T0 + timedelta(seconds=i), event_id=f"e{i}", quote=act)
        assert machine.stage in definition.states
        if was_ended:
            assert step is None and machine.ended
        if step is not None:
            assert step.stage == machine.stage
            if act == "end" and step.proper:
                # a proper end comes only after the configured warnings
                assert machine.warnings_given >= warnings
    proper_ends = [s for s in machine.timeline if s.step == "end" and s.proper]
    assert len(proper_ends) <= 1
    assert [s.at for s in machine.timeline] == sorted(s.at for s in machine.timeline)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([*PROTOCOL_WORDS, ",", ".", "!", "?", "not", '"']), max_size=60))
def test_any_text_classifies_into_known_acts_in_order(words: list[str]) -> None:
    text = " ".join(words)
    found = classify_acts(text, DEFAULT)
    assert list(found) == [a for a in DEFAULT.agent_acts if a in found]
    for match in find_acts(text, DEFAULT):
        start, end = match.span
        assert match.sentence[0] <= start < end <= match.sentence[1] <= len(text)
