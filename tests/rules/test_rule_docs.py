"""A rule's docstring is its documentation: what ReplyRule.doc() reads out of it."""

from __future__ import annotations

import pytest

import calmline
from calmline.core.rule import ReplyRule
from calmline.docsgen import rule_text

ENGINE = calmline.default_engine()
RULES = {type(rule).id: type(rule) for rule in ENGINE.rules}


class _Wrapped(ReplyRule):
    """A summary long enough to be wrapped
    over two lines, and a third.
    Anti-pattern:
        Bad reply.

    Best practice:
        Good reply.
    """


class _Plain(ReplyRule):
    """A summary on one line.

    The details: why it
    matters.

    Anti-pattern:
        Bad reply.

    Best practice:
        Good reply.
    """


def test_a_summary_wrapped_over_lines_is_read_whole() -> None:
    doc = _Wrapped.doc()
    assert doc.summary == "A summary long enough to be wrapped over two lines, and a third."
    assert doc.details == ""
    assert (doc.anti_pattern, doc.best_practice) == ("Bad reply.", "Good reply.")
    plain = _Plain.doc()
    assert plain.summary == "A summary on one line."
    assert plain.details == "The details: why it matters."
    assert (plain.anti_pattern, plain.best_practice) == ("Bad reply.", "Good reply.")


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_a_rule_summary_is_whole_and_the_one_the_docs_show(rule_id: str) -> None:
    # The summary is a finding's message when the playbook gives none, and `calmline rules`
    # and docs/rules.md show it: a summary cut at its first line break reads as nonsense.
    cls = RULES[rule_id]
    summary = cls.doc().summary
    assert summary[-1] in ".!?", f"{rule_id}: {summary!r} is cut short"
    assert summary == rule_text(cls)[0]
