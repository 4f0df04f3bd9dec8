"""Text normalisation shared by every detector and rule: tokens, obfuscation, negation, quotes.

A message is read once into a :class:`TextView`. Each token keeps its character span in the
original text and a normalised form used for matching: lower case, contractions expanded
("you're" -> "you are"), disguised spellings decoded ("f*ck", "sh!t", "f4ck", "fu(k",
"fuuuck", "f u c k") when the decoded word is one the playbook knows. Spellings that only
look disguised are left as written: numbers and codes ("A55", "user55", "1A"), contractions
("he'll") and short words whose digit does not look like the letter it would hide ("f1s").
Everything that is not needed for most messages (negation, quotes, names, sentences) is
computed only when a detector asks.

Every regular expression here is linear-time: no nested or overlapping quantifiers.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from itertools import accumulate
from operator import sub
from typing import Any

from calmline.core.types import Span

# A token: word characters plus the symbols people use to disguise words (f*ck, sh!t, @ss, $hit).
_TOKEN_RE = re.compile(r"[\w@$*!#'’]+")
# The same, kept by a split: the tokens are the odd pieces, the text between them the even.
_TOKEN_SPLIT = re.compile(r"([\w@$*!#'’]+)")
_ASCII_TOKEN_SPLIT = re.compile(r"([a-zA-Z0-9_@$*!#']+)")
_EDGE_STRIP = "!#'’"
_URL_RE = re.compile(r"(?:https?://|www\.)\S+")
_REPEAT_RE = re.compile(r"([a-z])\1\1")
_REPEAT_SUB = re.compile(r"([a-z])\1+")
_CLAUSE_BREAK = frozenset(",.;:!?()[]\n–—")
_SENTENCE_RE = re.compile(r"[^.!?\n]+(?:[.!?]+|\n|$)")
_QUOTE_RE = re.compile(r"\"[^\"\n]{1,400}\"|“[^”\n]{1,400}”")

_LEET = str.maketrans(
    {
        "4": "a",
        "@": "a",
        "3": "e",
        "1": "i",
        "!": "i",
        "0": "o",
        "$": "s",
        "5": "s",
        "7": "t",
        "+": "t",
        "|": "i",
        "(": "c",
    }
)
# Symbols that look like the letter they replace ($hit, @ss, sh!t).
_LOOKALIKES = frozenset("@$!|(")
# Characters that only ever hide a letter, whichever it is (f*ck, f#ck, f_ck).
_BLANKS = frozenset("*#_")
# Symbols the tokeniser splits words on that also hide a letter inside one (fu(k, sh|t);
# read() tests for each of them before it runs the regular expression.
_SPLIT_MASKS = frozenset("(|^%")
_SPLIT_MASK_RE = re.compile(r"[^\W\d_][(|^%][^\W\d_]")
#: How a written word reads: its normalised tokens (none: the word is dropped), and the
#: offset and length of the word itself once punctuation at its edges is stripped.
_Reading = tuple[tuple[str, ...], int, int]
#: The reading of a plain word: itself, as written (compared by identity).
_PLAIN: _Reading = ((), -1, -1)
#: Most word readings a vocabulary keeps (some MB at most), forgetting them all when full.
_KNOWN_WORDS = 50_000
#: Most words that are not plain for which the token lists are changed in place.
_FEW_WORDS = 8
#: Longest run of characters read as one word split by such symbols.
_SPLIT_WORD_LIMIT = 24
# Letters that look Latin but are not (Cyrillic and Greek), used to dodge word filters.
_CONFUSABLES = str.maketrans(
    {
        "а": "a",
        "е": "e",
        "о": "o",
        "р": "p",
        "с": "c",
        "у": "y",
        "х": "x",
        "і": "i",
        "ѕ": "s",
        "ԁ": "d",
        "ο": "o",
        "ν": "v",
        "α": "a",
        "τ": "t",
        "κ": "k",
        "ι": "i",
        "ℓ": "l",
    }
)

#: Contractions and chat spellings, expanded so one phrase in a lexicon covers them all.
EXPANSIONS: dict[str, tuple[str, ...]] = {
    "i'm": ("i", "am"),
    "im": ("i", "am"),
    "i've": ("i", "have"),
    "ive": ("i", "have"),
    "i'll": ("i", "will"),
    "i'd": ("i", "would"),
    "you're": ("you", "are"),
    "youre": ("you", "are"),
    "you've": ("you", "have"),
    "you'll": ("you", "will"),
    "you'd": ("you", "would"),
    "y'all": ("you", "all"),
    "u": ("you",),
    "ya": ("you",),
    "ur": ("your",),
    "r": ("are",),
    "urself": ("yourself",),
    "we're": ("we", "are"),
    "we've": ("we", "have"),
    "we'll": ("we", "will"),
    "they're": ("they", "are"),
    "they've": ("they", "have"),
    "they'll": ("they", "will"),
    "it's": ("it", "is"),
    "that's": ("that", "is"),
    "thats": ("that", "is"),
    "there's": ("there", "is"),
    "what's": ("what", "is"),
    "here's": ("here", "is"),
    "he's": ("he", "is"),
    "she's": ("she", "is"),
    "let's": ("let", "us"),
    "can't": ("can", "not"),
    "cant": ("can", "not"),
    "cannot": ("can", "not"),
    "won't": ("will", "not"),
    "wont": ("will", "not"),
    "don't": ("do", "not"),
    "dont": ("do", "not"),
    "doesn't": ("does", "not"),
    "doesnt": ("does", "not"),
    "didn't": ("did", "not"),
    "didnt": ("did", "not"),
    "isn't": ("is", "not"),
    "isnt": ("is", "not"),
    "aren't": ("are", "not"),
    "arent": ("are", "not"),
    "wasn't": ("was", "not"),
    "wasnt": ("was", "not"),
    "weren't": ("were", "not"),
    "haven't": ("have", "not"),
    "havent": ("have", "not"),
    "hasn't": ("has", "not"),
    "hadn't": ("had", "not"),
    "wouldn't": ("would", "not"),
    "wouldnt": ("would", "not"),
    "shouldn't": ("should", "not"),
    "couldn't": ("could", "not"),
    "couldnt": ("could", "not"),
    "mustn't": ("must", "not"),
    "ain't": ("is", "not"),
    "gonna": ("going", "to"),
    "wanna": ("want", "to"),
    "gotta": ("got", "to"),
    "pls": ("please",),
    "plz": ("please",),
    "thx": ("thanks",),
    "ty": ("thank", "you"),
    "srsly": ("seriously",),
}

NEGATORS = frozenset(
    {
        "not",
        "no",
        "never",
        "nobody",
        "nothing",
        "none",
        "neither",
        "nor",
        "without",
        "hardly",
        "barely",
    }
)
_CLAUSE_WORDS = frozenset(
    {
        "but",
        "however",
        "although",
        "though",
        "yet",
        "and",
        "or",
        "because",
        "so",
        "until",
        "unless",
        "while",
        "if",
    }
)
_HONORIFICS = frozenset({"mr", "mrs", "ms", "miss", "dr", "mx", "sir", "madam", "prof"})
_NAME_LEADS = (("my", "name", "is"), ("this", "is"), ("name", "is"), ("called",))


def _expand(word: str) -> tuple[str, ...]:
    return EXPANSIONS.get(word) or (word,)


def normalise_phrase(phrase: str) -> tuple[str, ...]:
    """The normalised token sequence of a lexicon phrase (the same rules as message text)."""
    out: list[str] = []
    for m in _TOKEN_RE.finditer(phrase.lower().replace("’", "'")):
        word = m.group().strip(_EDGE_STRIP)
        if word:
            out.extend(_expand(word))
    return tuple(out)


def _decode(word: str, vocab: Collection[str]) -> str:
    """Undo the usual disguises of a word, when the result is a word the playbook knows.

    Returns the word unchanged (apart from Unicode folding) when no decoding is known.
    """
    if not word.isascii():
        folded = unicodedata.normalize("NFKC", word).translate(_CONFUSABLES).lower()
        if len(folded.split()) != 1:
            return word  # folding made it several words (U+FDFA): one token stays one token
        word = folded
        if word in vocab:
            return word
    candidate = word
    if not word.isalpha():
        if not _disguisable(word):
            return word
        decoded = word.translate(_LEET)
        if decoded in vocab:
            return decoded
        masked = _unmask(word, vocab)
        if masked:
            return masked
        # Symbols put between the letters (f*u*c*k); an apostrophe between letters stays.
        letters = "".join(c for c in decoded if c.isalpha() or c == "'")
        if letters in vocab:
            return letters
        candidate = letters
    if _REPEAT_RE.search(candidate):
        for collapsed in (_REPEAT_SUB.sub(r"\1\1", candidate), _REPEAT_SUB.sub(r"\1", candidate)):
            if collapsed in vocab:
                return collapsed
    return word


def _tokens(lowered: str) -> tuple[list[str], list[int], list[int]]:
    """The tokens of a lower-cased text with their start and end offsets: the odd pieces
    of a split that keeps them, the text between them being the even ones."""
    # The same pattern in ASCII terms is a third faster on the ASCII text most messages are.
    pieces = (_ASCII_TOKEN_SPLIT if lowered.isascii() else _TOKEN_SPLIT).split(lowered)
    offsets = list(accumulate(map(len, pieces), initial=0))
    return pieces[1::2], offsets[1:-1:2], offsets[2::2]


def _read_word(raw: str, vocab: Collection[str], lower: bool) -> _Reading:
    """How a written word that is not plain reads: its normalised tokens (none for a word
    that is dropped: punctuation, a handle, an e-mail address), and where the word starts in
    ``raw`` and how long it is once the punctuation at its edges is stripped."""
    lead, size = 0, len(raw)
    if not (raw.isalnum() and raw.isascii()):
        stripped = raw.strip(_EDGE_STRIP)
        if not stripped:
            return (), 0, 0
        if len(stripped) != size:
            lead, size = raw.index(stripped[0]), len(stripped)
        raw = stripped.replace("’", "'")
    if lower:
        raw = raw.lower()
    if "@" in raw:
        # A handle (@united) or an e-mail address is not a word of the message, unless it
        # is a disguised word (@ss).
        raw = _decode(raw, vocab) if len(raw) <= 10 else raw
        if raw not in vocab:
            return (), 0, 0
    if raw not in vocab and raw not in EXPANSIONS:
        raw = _decode(raw, vocab)
    return EXPANSIONS.get(raw) or (raw,), lead, size


def _readings(
    norms: list[str], known: dict[str, _Reading], vocab: Collection[str]
) -> list[_Reading]:
    """How each token reads (``_PLAIN`` for most), from what the vocabulary remembers; the
    words it has not met yet are read and remembered."""
    try:
        return list(map(known.__getitem__, norms))
    except KeyError:
        pass
    found: list[Any] = list(map(known.get, norms))
    expansions = EXPANSIONS
    for i, reading in enumerate(found):
        if reading is None:
            word = norms[i]
            plain = (
                (word.isalpha() or word.isdigit())
                and word.isascii()
                and word not in expansions
                and not (vocab and word not in vocab and _REPEAT_RE.search(word))
            )
            if len(known) >= _KNOWN_WORDS:
                known.clear()
            found[i] = known[word] = _PLAIN if plain else _read_word(word, vocab, False)
    return found  # every token now has its reading


def _special_tokens(norms: list[str], lowered: str, vocab: Collection[str]) -> list[int]:
    """The tokens that need more than lower case, in text order: symbols, digits among
    letters, letters beyond ASCII, contractions and chat forms, stretched words."""
    expansions = EXPANSIONS
    if lowered.isascii():
        found = [
            i for i, w in enumerate(norms) if not (w.isalpha() or w.isdigit()) or w in expansions
        ]
    else:
        found = [
            i
            for i, w in enumerate(norms)
            if not (w.isalpha() or w.isdigit()) or not w.isascii() or w in expansions
        ]
    if vocab and _REPEAT_RE.search(lowered) is not None:
        stretched = [i for i, w in enumerate(norms) if w not in vocab and _REPEAT_RE.search(w)]
        found = sorted({*found, *stretched})
    return found


def _disguisable(word: str) -> bool:
    """Whether a word with symbols or digits in it can be a disguised word at all.

    A disguise shows at least two letters, as letters or look-alike symbols, and they make
    at least half of it (f*ck, f**k, sh!t, @ss, a$$, f4ck). Digits at the end make a number
    or a code (455, A55, P155, user55, iOS11), and a word that is mostly digits (1A) is not
    a word in hiding.
    """
    if word[-1].isdigit():
        return False
    letters = sum(1 for c in word if c.isalpha() or c in _LOOKALIKES)
    return letters >= 2 and letters * 2 >= len(word)


def _unmask(word: str, vocab: Collection[str]) -> str | None:
    """Match a word with masked letters (f*ck, f**k, sh#t, f4ck) against the vocabulary.

    In a longer word any symbol or digit may stand for a letter (f4ck). In a word of three
    characters, which matches some word by chance far more often, only a blank (``*#_``) or
    a look-alike may: "f*s" is "ffs", "f1s" (a phone) is not. An apostrophe never stands
    for a letter: "he'll" is a contraction, not "hell".
    """
    if len(word) < 3 or not word[0].isalpha():
        return None
    shapes = vocab.shapes if isinstance(vocab, Vocabulary) else None
    candidates = shapes.get((len(word), word[0]), ()) if shapes is not None else vocab
    short = len(word) <= 3
    for candidate in candidates:
        if len(candidate) != len(word) or candidate[0] != word[0]:
            continue
        if all(w == c or _stands_for(w, c, short) for w, c in zip(word, candidate, strict=True)):
            return candidate
    return None


def _stands_for(char: str, letter: str, short: bool) -> bool:
    """Whether a non-letter ``char`` in a disguised word can hide ``letter``."""
    if char.isalpha() or char == "'":
        return False
    return not short or char in _BLANKS or _LEET.get(ord(char)) == letter


class Vocabulary(frozenset[str]):
    """The single words of a playbook's lexicons, indexed by (length, first letter) so a
    masked word is compared with a handful of candidates, not the whole list."""

    shapes: dict[tuple[int, str], tuple[str, ...]]
    #: length of the longest word
    longest: int
    #: how written words read with these words (see _readings), remembered across messages:
    #: a word reads the same in every message, and most words come back all the time
    readings: dict[str, _Reading]

    def __new__(cls, words: Iterable[str] = ()) -> Vocabulary:
        self = super().__new__(cls, words)
        self.longest = max(map(len, self), default=0)
        self.readings = {}
        shapes: dict[tuple[int, str], list[str]] = {}
        for w in self:
            if w:
                shapes.setdefault((len(w), w[0]), []).append(w)
        self.shapes = {k: tuple(sorted(v)) for k, v in shapes.items()}
        return self


@dataclass(frozen=True, slots=True)
class Token:
    norm: str
    start: int
    end: int


class TextView:
    """One message read for matching. Build it with :meth:`read`."""

    _quote_starts: list[int]
    _sentence_starts: list[int]
    __slots__ = (
        "_negation_cache",
        "_quote_starts",
        "_quotes",
        "_sentence_starts",
        "_sentences",
        "ends",
        "norms",
        "skipped",
        "starts",
        "text",
    )

    def __init__(
        self, text: str, norms: list[str], starts: list[int], ends: list[int], skipped: list[Span]
    ) -> None:
        self.text = text
        self.norms = norms
        self.starts = starts
        self.ends = ends
        #: spans left out of matching (links and e-mail addresses)
        self.skipped = skipped
        # Filled when first asked for (with the starts of the quotes and sentences).
        self._quotes: list[Span] | None = None
        self._sentences: list[Span] | None = None
        self._negation_cache: dict[int, bool] = {}

    @classmethod
    def read(cls, text: str, vocab: Collection[str] = frozenset()) -> TextView:
        """Tokenise and normalise ``text``; ``vocab`` is the set of single words worth decoding."""
        skipped: list[Span] = []
        if "http" in text or "www." in text:
            skipped = [m.span() for m in _URL_RE.finditer(text)]
        lowered = text.lower()
        per_word_lower = len(lowered) != len(text)  # rare letters whose lower case is longer
        if per_word_lower:
            lowered = text
        norms, starts, ends = _tokens(lowered)
        known = vocab.readings if isinstance(vocab, Vocabulary) and not per_word_lower else None
        readings = None
        if known is None:
            special = _special_tokens(norms, lowered, vocab)
        else:
            readings = _readings(norms, known, vocab)
            special = [i for i, reading in enumerate(readings) if reading is not _PLAIN]
        if special or skipped or per_word_lower:
            norms, starts, ends = cls._fix_tokens(
                norms, starts, ends, special, skipped, vocab, per_word_lower, readings
            )
        view = cls(text, norms, starts, ends, skipped)
        if vocab:
            maybe_split = "(" in text or "|" in text or "^" in text or "%" in text
            if maybe_split and _SPLIT_MASK_RE.search(text):
                view._join_split_words(vocab)
            starts, ends = view.starts, view.ends
            lengths = list(map(sub, ends, starts))
            if lengths.count(1) >= 3:
                singles = [i for i, n in enumerate(lengths) if n == 1]
                if any(singles[k + 2] - singles[k] == 2 for k in range(len(singles) - 2)):
                    view._join_spaced_letters(vocab)
        return view

    @staticmethod
    def _fix_tokens(
        norms: list[str],
        starts: list[int],
        ends: list[int],
        special: list[int],
        skipped: list[Span],
        vocab: Collection[str],
        per_word_lower: bool,
        readings: list[_Reading] | None = None,
    ) -> tuple[list[str], list[int], list[int]]:
        """Normalise the words that are not plain: strip, decode, expand, drop handles/links
        (``readings``, when given, are the tokens' readings already known).

        Beyond a few such words the token lists are rebuilt in one pass, so thousands of
        contractions or links cost the same per word as one.
        """
        if not (skipped or per_word_lower) and len(special) <= _FEW_WORDS:
            # A few words (most messages: a handle, a contraction): change the lists in
            # place, from the end so that the indexes still hold.
            for i in reversed(special):
                if readings is not None:
                    parts, lead, size = readings[i]
                else:
                    parts, lead, size = _read_word(norms[i], vocab, False)
                if not parts:
                    del norms[i], starts[i], ends[i]
                    continue
                s = starts[i] + lead
                if len(parts) == 1:
                    norms[i], starts[i], ends[i] = parts[0], s, s + size
                else:
                    norms[i : i + 1] = parts
                    starts[i : i + 1] = [s] * len(parts)
                    ends[i : i + 1] = [s + size] * len(parts)
            return norms, starts, ends
        todo: Iterable[int] = special
        skipped_starts = [a for a, _ in skipped]
        if per_word_lower:
            todo = range(len(norms))
        elif skipped:
            # The words inside links, found by bisection: each is dropped.
            linked = (range(bisect_left(starts, a), bisect_left(starts, b)) for a, b in skipped)
            todo = sorted(set(special).union(*linked))
        out_n: list[str] = []
        out_s: list[int] = []
        out_e: list[int] = []
        done = 0
        for i in todo:
            if i > done:
                out_n += norms[done:i]
                out_s += starts[done:i]
                out_e += ends[done:i]
            done = i + 1
            s = starts[i]
            if skipped and _inside(s, skipped, skipped_starts):
                continue
            if readings is not None:
                parts, lead, size = readings[i]
            else:
                parts, lead, size = _read_word(norms[i], vocab, per_word_lower)
            s += lead
            if len(parts) == 1:
                out_n.append(parts[0])
                out_s.append(s)
                out_e.append(s + size)
            elif parts:
                out_n += parts
                out_s += [s] * len(parts)
                out_e += [s + size] * len(parts)
        out_n += norms[done:]
        out_s += starts[done:]
        out_e += ends[done:]
        return out_n, out_s, out_e

    @property
    def surface_index(self) -> list[int]:
        """For each normalised token, the index of the written word it came from."""
        out: list[int] = []
        k = -1
        last = -1
        for s in self.starts:
            if s != last:
                k += 1
                last = s
            out.append(k)
        return out

    def _join_split_words(self, vocab: Collection[str]) -> None:
        """Join a word that a symbol the tokeniser splits on has broken up ("fu(k", "sh|t")
        when the whole decodes to a known word; other words so joined ("and/or") stay apart."""
        norms, starts, ends, text = self.norms, self.starts, self.ends, self.text
        out_n: list[str] = []
        out_s: list[int] = []
        out_e: list[int] = []
        n = len(norms)
        i = 0
        while i < n:
            j = i
            while (
                j + 1 < n
                and starts[j + 1] - ends[j] == 1
                and text[ends[j]] in _SPLIT_MASKS
                and ends[j + 1] - starts[i] <= _SPLIT_WORD_LIMIT
            ):
                j += 1
            if j > i:
                word = _decode(text[starts[i] : ends[j]].lower(), vocab)
                if word in vocab:
                    out_n.append(word)
                    out_s.append(starts[i])
                    out_e.append(ends[j])
                    i = j + 1
                    continue
            out_n.append(norms[i])
            out_s.append(starts[i])
            out_e.append(ends[i])
            i += 1
        self.norms, self.starts, self.ends = out_n, out_s, out_e

    def _join_spaced_letters(self, vocab: Collection[str]) -> None:
        """Join runs of single letters ("f u c k", "s.h.i.t") into the word they spell.

        The longest tail of a run that spells a known word is joined ("a f u c k" reads
        "a", "fuck"). Only tails up to the longest known word are tried, so a run of
        thousands of letters costs the same per letter as a short one.
        """
        norms, starts, ends, text = self.norms, self.starts, self.ends, self.text
        longest = vocab.longest if isinstance(vocab, Vocabulary) else max(map(len, vocab))
        out_n: list[str] = []
        out_s: list[int] = []
        out_e: list[int] = []
        n = len(norms)
        i = 0
        while i < n:
            j = i + 1
            if ends[i] - starts[i] == 1:
                while j < n and ends[j] - starts[j] == 1 and starts[j] - ends[j - 1] == 1:
                    j += 1
            cut, word = j, ""
            if j - i >= 3:
                letters = "".join([text[starts[t]] for t in range(max(i, j - longest), j)])
                for k in range(max(i, j - longest), j - 2):
                    tail = letters[k - j :].lower()
                    if tail in vocab:
                        cut, word = k, tail
                        break
            out_n += norms[i:cut]
            out_s += starts[i:cut]
            out_e += ends[i:cut]
            if word:
                out_n.append(word)
                out_s.append(starts[cut])
                out_e.append(ends[j - 1])
            i = j
        self.norms, self.starts, self.ends = out_n, out_s, out_e

    # ----- lookups used by detectors and rules -------------------------------------------

    def __len__(self) -> int:
        return len(self.norms)

    def span_of(self, first: int, last: int) -> Span:
        """Character span covering tokens ``first`` to ``last`` (inclusive)."""
        return (self.starts[first], self.ends[last])

    def slice(self, span: Span) -> str:
        return self.text[span[0] : span[1]]

    def token_at(self, offset: int) -> int:
        """Index of the token that starts at or before ``offset``."""
        return max(0, bisect_right(self.starts, offset) - 1)

    def clause_break_before(self, i: int) -> bool:
        """Whether punctuation or a clause word separates token ``i`` from the one before."""
        if i <= 0:
            return True
        if self.norms[i] in _CLAUSE_WORDS:
            return True
        gap = self.text[self.ends[i - 1] : self.starts[i]]
        if len(gap) == 1:  # most words are one space apart
            return gap in _CLAUSE_BREAK
        return any(c in _CLAUSE_BREAK for c in gap)

    def negated(self, i: int, window: int = 5) -> bool:
        """Whether token ``i`` is in the scope of a negation ("not", "never", "n't") before it."""
        cached = self._negation_cache.get(i)
        if cached is not None:
            return cached
        result = False
        j = i
        while j > 0 and i - j < window:
            if self.clause_break_before(j):
                break
            j -= 1
            if self.norms[j] in NEGATORS:
                result = True
                break
        self._negation_cache[i] = result
        return result

    def quoted(self, span: Span) -> bool:
        """Whether a span lies inside double quotes (reported speech, a quoted message)."""
        quotes = self._quotes
        if quotes is None:
            text = self.text
            quotes = (
                [m.span() for m in _QUOTE_RE.finditer(text)] if ('"' in text or "“" in text) else []
            )
            self._quotes = quotes
            self._quote_starts = [qs for qs, _ in quotes]
        if not quotes:
            return False
        # Quotes do not overlap: only the last one opening before the span can hold it.
        k = bisect_left(self._quote_starts, span[0]) - 1
        return k >= 0 and span[1] < quotes[k][1]

    def sentences(self) -> list[Span]:
        """Spans of the sentences, trimmed of surrounding whitespace."""
        if self._sentences is None:
            spans: list[Span] = []
            for m in _SENTENCE_RE.finditer(self.text):
                s, e = m.span()
                chunk = self.text[s:e]
                lead = len(chunk) - len(chunk.lstrip())
                trail = len(chunk) - len(chunk.rstrip())
                if e - trail > s + lead:
                    spans.append((s + lead, e - trail))
            self._sentences = spans
            self._sentence_starts = [s for s, _ in spans]
        return self._sentences

    def sentence_of(self, span: Span) -> Span:
        """The sentence containing a span (the whole text when there is none): the first one
        holding its start or its end."""
        sentences = self.sentences()
        starts = self._sentence_starts
        found = len(sentences)
        # Sentences do not overlap, so each test has one candidate, found by bisection.
        k = bisect_right(starts, span[0]) - 1
        if k >= 0 and span[0] < sentences[k][1]:
            found = k
        k = bisect_left(starts, span[1]) - 1
        if 0 <= k < found and span[1] <= sentences[k][1]:
            found = k
        if found == len(sentences):
            return (0, len(self.text))
        s, e = sentences[found]
        return (s, max(e, span[1]))

    def tokens_in(self, span: Span) -> range:
        first = bisect_right(self.starts, span[0] - 1)
        last = bisect_right(self.starts, span[1] - 1)
        return range(first, last)

    def looks_like_name(self, i: int, names: Iterable[str] = ()) -> bool:
        """Whether token ``i`` reads as a person's name rather than a word (Dick, Willy)."""
        surface = self.text[self.starts[i] : self.ends[i]]
        if not surface[:1].isupper() or (surface.isupper() and len(surface) > 1):
            return False
        if any(surface.lower() == n.lower() for n in names):
            return True
        prev = self.norms[i - 1] if i > 0 else ""
        if prev in _HONORIFICS:
            return True
        for lead in _NAME_LEADS:
            n = len(lead)
            if i >= n and tuple(self.norms[i - n : i]) == lead:
                return True
        if i + 1 < len(self.norms):
            nxt = self.text[self.starts[i + 1] : self.ends[i + 1]]
            gap = self.text[self.ends[i] : self.starts[i + 1]]
            if gap == " " and nxt[:1].isupper() and nxt[1:].islower() and len(nxt) > 1:
                return True
        # A capitalised word in the middle of a sentence is a name, not a swear word.
        return i > 0 and not self.clause_break_before(i) and not _sentence_start(self, i)


def _sentence_start(view: TextView, i: int) -> bool:
    gap = view.text[view.ends[i - 1] : view.starts[i]]
    return any(c in ".!?\n" for c in gap)


def _inside(pos: int, spans: list[Span], starts: list[int]) -> bool:
    """Whether ``pos`` lies in one of ``spans`` (sorted, not overlapping; ``starts`` theirs)."""
    k = bisect_right(starts, pos) - 1
    return k >= 0 and pos < spans[k][1]
