"""The text features every shipped model reads: hashed words, word pairs and word pieces.

One function, :func:`features`, turns a text into (index, count) pairs; training builds its
matrix from it and inference sums the weights of the same indices, so the two cannot drift
apart. Everything here is plain Python with a fixed hash (CRC-32), so a feature index is the
same on every machine and in every process.

A message is read as:

- its words, lower-cased, with user handles and links folded to ``@user`` and ``url``;
- each word whole (``w:...``) and its character 3- to 5-grams with the word's edges marked
  (`` sh``, ``shi``, ... ``it ``), so "stooopid" and "idiots" share pieces with the words a
  model saw in training;
- each pair of neighbouring words (``b:...``);
- ``!`` and ``?`` as words of their own.

Words for identities (religions, nationalities, sexualities, genders, ...) listed in
:data:`IDENTITY_TERMS` are left out of every feature, in training and in use: a model then
cannot learn that naming a group is offensive, which is the bias that flags "I'm a gay Muslim
woman and my parcel is late". Slurs are not identity terms and stay in.

Each distinct word and each distinct pair counts once however often it is repeated ("you you
you ..." reads as "you"), so repetition cannot push a score up. Values are the counts of
slots so gathered, scaled by one over the square root of their total, so a message's score is
a sum over its distinct words that can be computed a word at a time.
"""

from __future__ import annotations

import html
import re
from itertools import pairwise
from zlib import crc32

#: log2 of the number of hashed feature slots
HASH_BITS = 18
N_FEATURES = 1 << HASH_BITS
_MASK = N_FEATURES - 1
#: character n-gram lengths inside a word
CHAR_NGRAMS = (3, 4, 5)
#: the longest word read whole; longer runs are cut (they are not words, and bound the work)
MAX_WORD = 40

# Linear-time patterns: no nested or overlapping repetition.
_LINK = re.compile(r"https?://\S+|www\.\S+|\bURL\b")
_HANDLE = re.compile(r"@\w+")
_TOKEN = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*|[!?]")

#: Names of groups of people by religion, origin, sexuality, gender, disability or age:
#: never a feature (see the module docstring). Compared lower-cased, whole words.
_IDENTITY_WORDS = """
    gay gays lesbian lesbians bisexual bi queer homosexual homosexuals heterosexual straight
    trans transgender nonbinary non-binary intersex asexual lgbt lgbtq lgbtqia
    muslim muslims islam islamic christian christians catholic catholics protestant jewish
    jew jews judaism hindu hindus sikh sikhs buddhist buddhists atheist atheists mormon
    black blacks white whites asian asians african africans latino latina latinos latinas
    hispanic hispanics arab arabs mexican mexicans chinese indian indians native immigrant
    immigrants refugee refugees european americans american
    woman women girl girls female females man men male males boy boys lady ladies
    disabled disability deaf blind autistic wheelchair elderly old young
"""
IDENTITY_TERMS = frozenset(_IDENTITY_WORDS.split())
#: the identity terms as they are read, possessives included ("women's")
_IDENTITY_FORMS = IDENTITY_TERMS | {t + s for t in IDENTITY_TERMS for s in ("'s", "’s")}


def normalise(text: str) -> str:
    """Lower-cased text with HTML entities decoded and handles and links folded."""
    if "&" in text:
        text = html.unescape(text)
    if "@" in text:
        text = _HANDLE.sub(" @user ", text)
    if "http" in text or "www." in text or "URL" in text:
        text = _LINK.sub(" url ", text)
    return text.lower()


def words(text: str) -> list[str]:
    """The words a model reads in ``text`` (identity terms left out, long runs cut)."""
    identity = _IDENTITY_FORMS
    return [t[:MAX_WORD] for t in _TOKEN.findall(normalise(text)) if t not in identity]


def slot(feature: str) -> int:
    """The hashed slot of one feature string."""
    return crc32(feature.encode("utf-8", "surrogatepass")) & _MASK


def word_slots(word: str) -> list[int]:
    """The slots of one word: itself and its character n-grams."""
    out = [slot("w:" + word)]
    if len(word) > 1 and word not in ("!", "?"):
        marked = f" {word} "
        size = len(marked)
        for n in CHAR_NGRAMS:
            for i in range(size - n + 1):
                out.append(slot(marked[i : i + n]))
    return out


def pair_slot(first: str, second: str) -> int:
    """The slot of two neighbouring words."""
    return slot(f"b:{first} {second}")


def features(text: str) -> dict[int, int]:
    """Every feature slot of ``text`` with its count (the scaling is the caller's)."""
    counts: dict[int, int] = {}
    ws = words(text)
    for w in dict.fromkeys(ws):
        for s in word_slots(w):
            counts[s] = counts.get(s, 0) + 1
    for a, b in dict.fromkeys(pairwise(ws)):
        s = pair_slot(a, b)
        counts[s] = counts.get(s, 0) + 1
    return counts
