"""Every rewrite must itself pass every rule: each template, script line and phrase replacement.

For every rule of the default playbook, each of its rewrite templates (``rewrites``, and the
template lists in its params named ``*_sentences``) and each script line (protocol D1-D5,
apology, bad news, invitation) is rendered without a name and with one, with sample values
for the other placeholders, and checked as a draft: no rule may warn about it or block it.
Each per-phrase replacement and lead-in (``params.replacements``, ``params.lead_ins``) is
checked on its own and in a sentence, after the rule has rewritten it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

import calmline
from calmline import Engine, ReplyCheck, Role, Severity, Turn
from calmline.core.rule import name_slots, render
from calmline.core.settings import TEMPLATE_SLOTS
from calmline.core.text import normalise_phrase

PLAYBOOK = calmline.load_playbook()

#: Plausible values for the placeholders that are not names (what an agent would fill in).
SAMPLES = {
    "agent": "Alex",
    "policy": "50% of meal costs",
    "reason": "it is meant as a contribution while your kitchen is out of use",
    "offer": "a £20 credit on your next bill",
    "issue": "the missing parcel",
    "next_step": "book an engineer for Thursday morning",
    "amount": "£45",
    "time": "by 5pm today",
    "behaviour": "shouting",
}
NAMES = (None, "Sam")
#: The sentence a replaced phrase is checked in.
CARRIER = "{phrase}, your replacement router will arrive on Thursday."
#: The sentence a lead-in is checked in: the phrase as a clause of its own that opens it.
LEAD_IN_CARRIER = "{phrase}, I have booked the engineer for Thursday morning."
#: A conversation in which the rules that read one (B5, B6 ...) have something to go on.
UPSET = (Turn(Role.CUSTOMER, "This is the third time I've chased this and I am furious!"),)


def _rule_templates() -> Iterator[tuple[str, str]]:
    for rule_id, settings in sorted(PLAYBOOK.rules.items()):
        for n, template in enumerate(settings.rewrites):
            yield f"{rule_id}-rewrites-{n}", template
        for key, value in sorted(settings.params.items()):
            if key.endswith("_sentences") and isinstance(value, list):
                for n, template in enumerate(value):
                    yield f"{rule_id}-{key}-{n}", str(template)


def _script_templates() -> Iterator[tuple[str, str]]:
    scripts = PLAYBOOK.scripts
    for step, lines in sorted(scripts.protocol.items()):
        for n, line in enumerate(lines):
            yield f"protocol-{step}-{n}", line
    for kind in ("apology", "bad_news", "invitation"):
        for n, line in enumerate(getattr(scripts, kind)):
            yield f"{kind}-{n}", line


def _replacements(key: str) -> Iterator[tuple[str, str, str]]:
    for rule_id, settings in sorted(PLAYBOOK.rules.items()):
        replacements = settings.params.get(key) or {}
        if isinstance(replacements, Mapping):
            for phrase, replacement in sorted(replacements.items()):
                yield rule_id, str(phrase), str(replacement)


def _rendered(templates: list[tuple[str, str]]) -> list[Any]:
    params = []
    for where, template in templates:
        for name in NAMES:
            slots = {**SAMPLES, **name_slots(name)}
            label = f"{where}-{'Sam' if name else 'no-name'}"
            params.append(pytest.param(template, render(template, slots), id=label))
    return params


RULE_TEMPLATES = list(_rule_templates())
SCRIPT_TEMPLATES = list(_script_templates())
REPLACEMENTS = list(_replacements("replacements"))
LEAD_INS = list(_replacements("lead_ins"))


def _problems(engine: Engine, text: str) -> list[tuple[str, str, str]]:
    result = engine.check_reply(text)
    return [
        (f.rule, f.severity.value, f.text)
        for f in result.findings
        if f.severity is not Severity.INFO
    ]


def test_the_playbook_has_templates_to_check() -> None:
    # Guards against the collection silently finding nothing (a renamed key, say).
    assert len(RULE_TEMPLATES) >= 10
    assert len(SCRIPT_TEMPLATES) >= 10
    assert len(REPLACEMENTS) >= 10 and len(LEAD_INS) >= 10
    assert {"A8", "B5", "B7", "C2", "C3"} <= {w.split("-")[0] for w, _ in RULE_TEMPLATES}


@pytest.mark.parametrize(("template", "text"), _rendered(RULE_TEMPLATES))
def test_rule_template_passes_every_rule(engine: Engine, template: str, text: str) -> None:
    assert text and "{" not in text and "}" not in text, f"{template!r} rendered as {text!r}"
    # A rule's template becomes a sentence of the draft as it is (no capitalising later).
    assert text[0].isupper(), f"{template!r} renders as {text!r}, which starts in lower case"
    assert text[-1] in ".!?", f"{template!r} renders as {text!r}, which is not a sentence"
    assert not _problems(engine, text), f"{text!r}: {_problems(engine, text)}"


@pytest.mark.parametrize(("template", "text"), _rendered(SCRIPT_TEMPLATES))
def test_script_line_passes_every_rule(engine: Engine, template: str, text: str) -> None:
    assert text and "{" not in text and "}" not in text, f"{template!r} rendered as {text!r}"
    assert not _problems(engine, text), f"{text!r}: {_problems(engine, text)}"


@pytest.mark.parametrize(("template", "text"), _rendered(RULE_TEMPLATES + SCRIPT_TEMPLATES))
def test_template_renders_as_sentences_ready_to_send(template: str, text: str) -> None:
    # "{name_comma}please ..." with no name known must still open with a capital letter.
    assert text[:1].isupper(), f"{template!r} renders as {text!r}, which starts in lower case"
    assert "{" not in text and "}" not in text, f"{template!r} left a placeholder: {text!r}"
    assert "  " not in text, f"{template!r} renders with a doubled space: {text!r}"
    assert not re.search(r"\s[,.;:!?]|^[,.;:]", text), f"{template!r}: stray punctuation {text!r}"


def test_every_template_uses_only_known_placeholders() -> None:
    import string

    for where, template in RULE_TEMPLATES + SCRIPT_TEMPLATES:
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f}
        assert fields <= TEMPLATE_SLOTS, f"{where}: {template!r} uses {fields - TEMPLATE_SLOTS}"


def _phrase_sentence(phrase: str, carrier: str) -> str:
    words = [("I" if w == "i" else w) for w in phrase.split()]
    text = " ".join(words)
    return carrier.format(phrase=text[:1].upper() + text[1:])


def _phrase_check(engine: Engine, rule: str, phrase: str, carrier: str) -> tuple[str, ReplyCheck]:
    """The check of ``carrier`` with the phrase in it, in a conversation with an upset customer
    when the rule only reads the phrase as a problem there (sarcastic praise, say)."""
    draft = _phrase_sentence(phrase, carrier)
    wanted = normalise_phrase(phrase)
    for context in ((), UPSET):
        result = engine.check_reply(draft, list(context))
        if any(
            f.rule == rule and (phrase in f.evidence or normalise_phrase(f.text) == wanted)
            for f in result.findings
        ):
            return draft, result
    pytest.fail(f"{rule} did not fire on its own phrase in {draft!r}")


def _replacement_alone(replacement: str) -> str:
    alone = render(replacement, name_slots(None))
    return alone if alone[-1:] in ".!?" else alone + "."


@pytest.mark.parametrize(
    ("rule", "phrase", "replacement"),
    [pytest.param(r, p, x, id=f"{r}-{p}") for r, p, x in REPLACEMENTS],
)
def test_phrase_replacement_is_clean(
    engine: Engine, rule: str, phrase: str, replacement: str
) -> None:
    # The replacement on its own says nothing any rule objects to ...
    if replacement:
        alone = _replacement_alone(replacement)
        assert not _problems(engine, alone), f"{alone!r}: {_problems(engine, alone)}"
    # ... and the rule's rewrite of a sentence with the phrase leaves nothing to fix.
    draft, result = _phrase_check(engine, rule, phrase, CARRIER)
    left = _problems(engine, result.fixed)
    assert not left, f"{draft!r} was fixed as {result.fixed!r}, which still has {left}"


@pytest.mark.parametrize(
    ("rule", "phrase", "lead_in"),
    [pytest.param(r, p, x, id=f"{r}-{p}") for r, p, x in LEAD_INS],
)
def test_lead_in_is_clean(engine: Engine, rule: str, phrase: str, lead_in: str) -> None:
    # What opens the sentence instead of the phrase says nothing any rule objects to ...
    if lead_in:
        alone = _replacement_alone(lead_in)
        assert not _problems(engine, alone), f"{alone!r}: {_problems(engine, alone)}"
    # ... and the rule's rewrite of a sentence the phrase opens leaves nothing to fix.
    draft, result = _phrase_check(engine, rule, phrase, LEAD_IN_CARRIER)
    left = _problems(engine, result.fixed)
    assert not left, f"{draft!r} was fixed as {result.fixed!r}, which still has {left}"


#: Bad news as agents write it, for C3's composed rewrites (apology + their words + reason):
#: with neither, with a reason only (C3 adds the apology), with an apology only (C3 adds the
#: reason).
BAD_NEWS = {
    (True, True): (
        "Unfortunately, your claim for the hotel costs has been declined.",
        "We can't refund a ticket once the flight has departed",
        "Hi Sam, the blender you ordered is out of stock!",
    ),
    (True, False): (
        "We can't refund the ticket because it was bought at the saver fare.",
        "Hi Sam, the claim has been declined, as the policy started after the leak.",
    ),
    (False, True): (
        "I'm sorry, but we can't offer a refund on this order.",
        "Hi Sam, so sorry, the size 10 is sold out!",
    ),
}


def _c3_compositions() -> list[Any]:
    params = PLAYBOOK.rules["C3"].params
    out = []
    for (needs_apology, needs_reason), sentences in BAD_NEWS.items():
        apologies = params["apology_sentences"] if needs_apology else [None]
        reasons = params["reason_sentences"] if needs_reason else [None]
        for a, apology in enumerate(apologies):
            for r, reason in enumerate(reasons):
                for n, sentence in enumerate(sentences):
                    label = f"C3-apology{a if apology else '-'}-reason{r if reason else '-'}-{n}"
                    out.append(pytest.param(apology, reason, sentence, id=label))
    return out


@pytest.mark.parametrize(("apology", "reason", "sentence"), _c3_compositions())
def test_c3_composed_rewrite_passes_every_rule(
    engine: Engine, apology: str | None, reason: str | None, sentence: str
) -> None:
    from calmline.rules.c3_bad_news import BadNews

    greeting = sentence.index(",") + 1 if sentence.startswith("Hi ") else None
    for name in NAMES:
        text = BadNews.compose(sentence, apology, reason, name_slots(name), greeting_end=greeting)
        words = " ".join(sentence.rstrip(".!").split()[-4:])
        assert words in text, f"the agent's words stay: {text!r}"
        assert text.count("Sam") <= 1, f"the name is used once at most: {text!r}"
        assert not _problems(engine, text), f"{text!r}: {_problems(engine, text)}"
