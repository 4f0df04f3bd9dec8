"""One pass of multi-phrase matching over a message for every lexicon of every detector.

All lexicon phrases of all detectors (or all rules) go into one Aho-Corasick automaton keyed by
their normalised token sequence, so a message is scanned once whatever the number of words the
playbook lists. A hit says which lexicon the phrase came from, its weight and which tokens it
covers; detectors then apply their own logic (targets, negation, context) to their hits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import NamedTuple

import ahocorasick

from calmline.core.text import TextView, Vocabulary, normalise_phrase


@dataclass(frozen=True, slots=True)
class LexiconEntry:
    """A phrase of one named lexicon (``owner`` is the detector or rule, ``lexicon`` its list)."""

    owner: str
    lexicon: str
    phrase: str
    weight: float
    size: int
    key_len: int
    #: the phrase's normalised tokens
    tokens: tuple[str, ...] = ()


class Hit(NamedTuple):
    """A lexicon phrase found in a message, covering tokens ``first`` to ``last`` inclusive.

    A named tuple rather than a frozen dataclass: a scan makes one per phrase found, and
    this is the cheapest immutable value Python builds.
    """

    entry: LexiconEntry
    first: int
    last: int

    @property
    def weight(self) -> float:
        return self.entry.weight

    @property
    def phrase(self) -> str:
        return self.entry.phrase


class Hits:
    """Hits of one scan, grouped by owner and lexicon.

    A scan records each hit as a plain tuple; the :class:`Hit` values are made when a
    detector asks for that lexicon, which most lexicons' hits never are.
    """

    __slots__ = ("_by_owner", "_made")

    def __init__(self) -> None:
        self._by_owner: dict[str, dict[str, list[tuple[LexiconEntry, int, int]]]] = {}
        self._made: dict[tuple[str, str], list[Hit]] = {}

    def get(self, owner: str, lexicon: str) -> list[Hit]:
        lexicons = self._by_owner.get(owner)
        found = lexicons.get(lexicon) if lexicons is not None else None
        if found is None:
            return []
        made = self._made.get((owner, lexicon))
        if made is None:
            made = self._made[(owner, lexicon)] = list(map(Hit._make, found))
        return made

    def owners(self) -> AbstractSet[str]:
        """The owners with at least one hit."""
        return self._by_owner.keys()

    def any_of(self, owner: str, lexicons: Iterable[str]) -> bool:
        """Whether one of an owner's ``lexicons`` has a hit (no list is looked at)."""
        found = self._by_owner.get(owner)
        return found is not None and not found.keys().isdisjoint(lexicons)

    def __bool__(self) -> bool:
        return bool(self._by_owner)


class PhraseMatcher:
    """Finds every lexicon phrase of a set of owners in a message, on token boundaries."""

    def __init__(self, lexicons: Iterable[tuple[str, str, Mapping[str, float]]]) -> None:
        """``lexicons`` yields (owner, lexicon name, {phrase: weight}).

        A weight of 0 switches a phrase off.
        """
        table: dict[str, list[LexiconEntry]] = defaultdict(list)
        vocab: set[str] = set()
        for owner, name, phrases in lexicons:
            for phrase, weight in phrases.items():
                tokens = normalise_phrase(phrase)
                if not tokens or weight <= 0:
                    continue
                vocab.update(tokens)
                key = " " + " ".join(tokens) + " "
                table[key].append(
                    LexiconEntry(owner, name, phrase, float(weight), len(tokens), len(key), tokens)
                )
        self.vocab = Vocabulary(vocab)
        self._automaton = ahocorasick.Automaton()
        for key, entries in table.items():
            self._automaton.add_word(key, tuple(entries))
        self._empty = not table
        if not self._empty:
            self._automaton.make_automaton()

    def read(self, text: str) -> TextView:
        """Tokenise ``text`` with this matcher's vocabulary (so disguised words decode)."""
        return TextView.read(text, self.vocab)

    def scan(self, view: TextView) -> Hits:
        """Every lexicon phrase present in ``view`` as a whole-token sequence."""
        hits = Hits()
        if self._empty or not view.norms:
            return hits
        haystack = " " + " ".join(view.norms) + " "
        by_owner = hits._by_owner
        # A token's index is the number of spaces before it in " tok tok tok ", less one.
        # Phrases are found in the order they end, so the count moves on from the last
        # phrase's start, never back by more than one phrase: linear in all.
        at = spaces = 0
        for end, entries in self._automaton.iter(haystack):
            start = end - entries[0].key_len + 2  # the phrase's first character
            if start >= at:
                spaces += haystack.count(" ", at, start)
            else:
                spaces -= haystack.count(" ", start, at)
            at = start
            first = spaces - 1
            for entry in entries:
                hit = (entry, first, first + entry.size - 1)
                lexicons = by_owner.get(entry.owner)
                if lexicons is None:
                    by_owner[entry.owner] = {entry.lexicon: [hit]}
                elif entry.lexicon in lexicons:
                    lexicons[entry.lexicon].append(hit)
                else:
                    lexicons[entry.lexicon] = [hit]
        return hits
