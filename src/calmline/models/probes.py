"""The identity-term probe set: ordinary messages naming who someone is, which must not be flagged.

A model trained on tweets and forum comments can learn that naming a group ("gay", "Muslim",
"Black", "deaf") is itself a sign of abuse, and then flags "I'm a gay Muslim woman and my
parcel is late". The probes measure that: sentences built from the templates in
``data/identity-probes.txt``, each naming a religion, ethnicity or nationality, sexuality,
gender identity, disability or age, in the first person ("I'm a deaf customer ...") or the
third ("my wife is deaf and needs captions ..."). None of them is abusive.

The same file holds a few controls that must be flagged (insults aimed at the agent), so a
model that flags nothing cannot pass. Everything is read from the data file in its order:
no randomness, so the set and its figures are the same on every run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

__all__ = [
    "CATEGORIES",
    "PROBE_FILE",
    "Probe",
    "ProbeSet",
    "identity_probes",
    "must_flag_controls",
    "probe_set",
    "read_probe_set",
]

#: the file in ``calmline/models/data`` the probes are built from
PROBE_FILE = "identity-probes.txt"
#: what an identity phrase may be about
CATEGORIES = ("religion", "ethnicity", "sexuality", "gender", "disability", "age")
#: slot -> (the section that fills it, whether it names an identity, grammatical person)
_SLOTS: dict[str, tuple[str, bool, Literal["first", "third"]]] = {
    "self": ("self", True, "first"),
    "other": ("other", True, "third"),
    "couple": ("couple", True, "first"),
    "situation": ("situation", False, "first"),
    "request": ("request", False, "first"),
}
_SECTIONS = frozenset({"self", "other", "couple", "situation", "request", "template", "must_flag"})
_SLOT = re.compile(r"\{(\w+)\}")
# a sentence's first letter, and the first letter after a full stop or question mark
_SENTENCE_START = re.compile(r"(^|[.?!]\s+)([a-z])")


@dataclass(frozen=True)
class Probe:
    """One probe sentence and what it names."""

    text: str
    #: one of :data:`CATEGORIES`
    category: str
    #: "first" when the writer speaks of themselves, "third" when of someone close to them
    person: Literal["first", "third"]


@dataclass(frozen=True)
class ProbeSet:
    """The probes (must not be flagged) and the controls (must be flagged)."""

    probes: tuple[Probe, ...]
    controls: tuple[str, ...]


def _parse(text: str, where: str) -> dict[str, list[tuple[int, str]]]:
    """Each section's lines with their line numbers (comments and blank lines left out)."""
    sections: dict[str, list[tuple[int, str]]] = {}
    current: list[tuple[int, str]] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            name = line[1:-1]
            if name not in _SECTIONS:
                raise ValueError(f"{where}:{number}: unknown section [{name}]")
            current = sections.setdefault(name, [])
            continue
        if current is None:
            raise ValueError(f"{where}:{number}: a line before the first [section]")
        current.append((number, line))
    missing = sorted(_SECTIONS - sections.keys())
    if missing:
        raise ValueError(f"{where}: no section [{'], ['.join(missing)}]")
    return sections


def _identities(lines: list[tuple[int, str]], where: str) -> list[tuple[str, str]]:
    out = []
    for number, line in lines:
        category, sep, phrase = (part.strip() for part in line.partition("|"))
        if not sep or not phrase:
            raise ValueError(f"{where}:{number}: expected 'category | phrase'")
        if category not in CATEGORIES:
            raise ValueError(
                f"{where}:{number}: category {category!r} is not one of {', '.join(CATEGORIES)}"
            )
        out.append((category, phrase))
    return out


def _fill(template: str, values: dict[str, str]) -> str:
    return _SLOT.sub(lambda m: values[m.group(1)], template)


def _capitalise(sentence: str) -> str:
    return _SENTENCE_START.sub(lambda m: m.group(1) + m.group(2).upper(), sentence)


def read_probe_set(text: str, *, where: str = PROBE_FILE) -> ProbeSet:
    """The probe set described by ``text`` (the format of ``data/identity-probes.txt``).

    Each template is filled once for every phrase of its identity slot; a situation or request
    slot takes that section's entries in turn, starting one further along for each template.
    A malformed file raises ValueError naming the line.
    """
    sections = _parse(text, where)
    identities = {name: _identities(sections[name], where) for name in ("self", "other", "couple")}
    fillers = {name: [line for _, line in sections[name]] for name in ("situation", "request")}
    probes: list[Probe] = []
    for index, (number, template) in enumerate(sections["template"]):
        slots = _SLOT.findall(template)
        unknown = [s for s in slots if s not in _SLOTS]
        named = [s for s in slots if s in _SLOTS and _SLOTS[s][1]]
        if unknown:
            raise ValueError(f"{where}:{number}: unknown slot {{{unknown[0]}}}")
        if len(named) != 1:
            raise ValueError(
                f"{where}:{number}: a template needs exactly one of {{self}}, {{other}}, {{couple}}"
            )
        slot = named[0]
        person = _SLOTS[slot][2]
        for turn, (category, phrase) in enumerate(identities[slot]):
            values = {slot: phrase}
            for name, entries in fillers.items():
                if entries:
                    values[name] = entries[(turn + index) % len(entries)]
            sentence = _fill(template, values)
            probes.append(Probe(_capitalise(sentence), category, person))
    controls = tuple(line for _, line in sections["must_flag"])
    if not probes or not controls:
        raise ValueError(f"{where}: needs at least one probe and one control")
    return ProbeSet(tuple(probes), controls)


@cache
def probe_set() -> ProbeSet:
    """The probe set shipped in the package (``calmline/models/data/identity-probes.txt``)."""
    source = resources.files("calmline.models") / "data" / PROBE_FILE
    return read_probe_set(
        source.read_text(encoding="utf-8"), where=f"calmline/models/data/{PROBE_FILE}"
    )


def identity_probes() -> list[str]:
    """Every probe sentence, in the file's order: none may be flagged."""
    return [p.text for p in probe_set().probes]


def must_flag_controls() -> list[str]:
    """Insults aimed at the agent that a working model and engine have to flag."""
    return list(probe_set().controls)
