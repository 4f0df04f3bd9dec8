"""One pass of multi-phrase matching over a message for every lexicon of every detector.

All lexicon phrases of all detectors (or all rules) go into one Aho-Corasick automaton keyed by
their normalised token sequence, so a message is scanned once whatever the number of words the
playbook lists. A hit says which lexicon the phrase came from, its weight and which tokens it
covers; detectors then apply their own logic (targets, negation, context) to their hits.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import accumulate

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


@dataclass(frozen=True, slots=True)
class Hit:
    """A lexicon phrase found in a message, covering tokens ``first`` to ``last`` inclusive."""

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
    """Hits of one scan, grouped by owner and lexicon."""

    __slots__ = ("_by_key",)

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str], list[Hit]] = defaultdict(list)

    def add(self, hit: Hit) -> None:
        self._by_key[(hit.entry.owner, hit.entry.lexicon)].append(hit)

    def get(self, owner: str, lexicon: str) -> list[Hit]:
        return self._by_key.get((owner, lexicon), [])

    def owners(self) -> set[str]:
        return {owner for owner, _ in self._by_key}

    def __bool__(self) -> bool:
        return bool(self._by_key)


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
                    LexiconEntry(owner, name, phrase, float(weight), len(tokens), len(key))
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
        offsets: list[int] = []
        for end, entries in self._automaton.iter(haystack):
            if not offsets:
                # Where each token starts inside the haystack " tok tok tok ".
                offsets = [
                    1 + i + n for i, n in enumerate(accumulate(map(len, view.norms), initial=0))
                ]
            start = end - entries[0].key_len + 2  # first character of the first token
            first = bisect_left(offsets, start)
            for entry in entries:
                hits.add(Hit(entry, first, first + entry.size - 1))
        return hits
