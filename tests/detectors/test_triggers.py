"""The engine asks a detector only when a word it reads is in the message; a team's own
regular-expression patterns must still fire on messages with none of those words."""

from __future__ import annotations

import yaml

from calmline import Engine, build_engine, load_playbook

_ZOUNDS = {"name": "zounds", "regex": "(?i)zounds", "weight": 0.7}


def _engine_with(detector: str, pattern: dict[str, object]) -> Engine:
    override = {"detectors": {detector: {"patterns": [pattern]}}}
    return build_engine(load_playbook(text=yaml.safe_dump(override).encode()))


def test_a_profanity_pattern_fires_and_reads_as_venting() -> None:
    analysis = _engine_with("profanity", _ZOUNDS).analyze_message("zounds, the router again")
    found = {(s.type, s.text) for s in analysis.signals}
    assert ("profanity", "zounds") in found
    # venting reads the profanity detector's signals, so it is asked too
    assert ("venting", "zounds") in found


def test_an_insult_pattern_needs_no_insult_word() -> None:
    pattern = {"name": "clown show", "regex": "(?i)clown ?show", "weight": 0.9}
    analysis = _engine_with("insult", pattern).analyze_message("what a clownshow this is")
    assert [s.text for s in analysis.signals if s.type == "insult"] == ["clownshow"]
