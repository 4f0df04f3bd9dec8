"""The identity-term probes: naming who you are is not abuse, and insults still are."""

from __future__ import annotations

from collections import Counter

import pytest

import calmline
from calmline import AbuseLevel
from calmline.models import shipped_models
from calmline.models.probes import (
    CATEGORIES,
    identity_probes,
    must_flag_controls,
    probe_set,
    read_probe_set,
)

#: the largest share of probes that may be flagged (issue 6: identity false positives <= 2 %)
MAX_FALSE_POSITIVES = 0.02


def _share(flagged: list[str], total: int) -> str:
    return f"{len(flagged)}/{total} = {len(flagged) / total:.1%}: " + "; ".join(flagged[:10])


def test_the_probe_set_is_large_deterministic_and_covers_every_category_and_person() -> None:
    probes = identity_probes()
    assert 200 <= len(probes) <= 1000
    assert len(set(probes)) == len(probes), "a probe sentence appears twice"
    assert probes == identity_probes() == [p.text for p in probe_set().probes]
    counts = Counter((p.category, p.person) for p in probe_set().probes)
    for category in CATEGORIES:
        assert counts[category, "first"] >= 10, category
        assert counts[category, "third"] >= 3, category
    assert "I'm a gay Muslim woman and my parcel is late." in probes
    assert any("my wife is deaf and needs captions" in p.lower() for p in probes)
    assert all(p[0].isupper() for p in probes)
    assert len(must_flag_controls()) >= 8


def test_no_probe_gets_an_abuse_level_from_the_default_engine() -> None:
    engine = calmline.default_engine()
    probes = identity_probes()
    flagged = [p for p in probes if engine.analyze_message(p).abuse is not AbuseLevel.NONE]
    assert len(flagged) <= MAX_FALSE_POSITIVES * len(probes), _share(flagged, len(probes))


def test_the_offensive_head_stays_below_its_threshold_on_the_probes() -> None:
    model = shipped_models()
    head = model.head("offensive")
    probes = identity_probes()
    flagged = [p for p in probes if model.predict(p)["offensive"] >= head.threshold]
    assert len(flagged) <= MAX_FALSE_POSITIVES * len(probes), _share(flagged, len(probes))


def test_the_controls_are_flagged_so_a_model_that_flags_nothing_cannot_pass() -> None:
    engine = calmline.default_engine()
    for text in must_flag_controls():
        assert engine.analyze_message(text).abuse is AbuseLevel.ABUSIVE, text
    model = shipped_models()
    head = model.head("offensive")
    probes = [model.predict(p)["offensive"] for p in identity_probes()]
    controls = [model.predict(c)["offensive"] for c in must_flag_controls()]
    # The head itself must tell the two apart: some controls reach its threshold, and on
    # average they score far above the probes.
    assert sum(c >= head.threshold for c in controls) >= len(controls) / 6
    assert sum(controls) / len(controls) >= 5 * sum(probes) / len(probes)


# ----- the file format ------------------------------------------------------------------------

SMALL = """
# a comment
[self]
religion | a Sikh man
age | an elderly customer
[other]
disability | my wife is deaf
[couple]
sexuality | my husband and I (two men)
[situation]
my parcel is late
the refund is missing
[request]
change the booking
[template]
I'm {self} and {situation}.
{other}; {situation}.
{couple} want to {request}.
[must_flag]
You idiot.
"""


def test_templates_are_filled_in_turn_and_capitalised() -> None:
    got = read_probe_set(SMALL)
    assert [p.text for p in got.probes] == [
        "I'm a Sikh man and my parcel is late.",
        "I'm an elderly customer and the refund is missing.",
        "My wife is deaf; the refund is missing.",
        "My husband and I (two men) want to change the booking.",
    ]
    assert [(p.category, p.person) for p in got.probes] == [
        ("religion", "first"),
        ("age", "first"),
        ("disability", "third"),
        ("sexuality", "first"),
    ]
    assert got.controls == ("You idiot.",)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("[self]", "[selves]"), "probes.txt:3: unknown section [selves]"),
        (("religion | a Sikh man", "creed | a Sikh man"), "probes.txt:4: category 'creed'"),
        (("religion | a Sikh man", "a Sikh man"), "probes.txt:4: expected 'category | phrase'"),
        (("{situation}.\n{other}", "{place}.\n{other}"), "probes.txt:16: unknown slot {place}"),
        (("{couple} want", "{couple} and {self} want"), "probes.txt:18: a template needs exactly"),
        (("[must_flag]\nYou idiot.", ""), "probes.txt: no section [must_flag]"),
    ],
)
def test_a_malformed_file_names_the_line(change: tuple[str, str], message: str) -> None:
    text = SMALL.replace(*change)
    assert text != SMALL
    with pytest.raises(ValueError, match="^" + message.replace("[", r"\[").replace("{", r"\{")):
        read_probe_set(text, where="probes.txt")
