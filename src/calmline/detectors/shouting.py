"""Shouting: a message, or a run of words, written in capitals.

Acronyms and product codes are not shouting: words with digits (XR500, A4), hashtags, links,
quoted text and the playbook's ``acronyms`` list (FAQ, USA, PIN ...) are left out, and a single
capitalised word for emphasis ("I am NOT happy") is below the threshold.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

from pydantic import BaseModel, Field

from calmline.core.detector import Detector, Scan
from calmline.core.settings import DetectorSettings
from calmline.core.types import Signal

_CAPS_WORD = re.compile(r"\b[A-Z][A-Z'’]+\b")
# In UTF-8 bytes: capitals as "A", the other ASCII word characters as "x", apostrophes as
# "'" and so the first byte of the curly one (it also starts other characters, which only
# lets a few more messages through), every other byte a space. In ASCII text the words
# _CAPS_WORD finds are then exactly those _CAPS_WORD_MARKS finds in these bytes.
_CAPS_MARKS = bytes(
    65
    if 65 <= c <= 90
    else 120
    if 97 <= c <= 122 or 48 <= c <= 57 or c == 95
    else 39
    if c in (39, 0xE2)
    else 32
    for c in range(256)
)
_CAPS_WORD_MARKS = re.compile(rb"\bA[A']+\b")


class ShoutingParams(BaseModel):
    model_config = {"extra": "forbid"}
    #: capitalised words in a row that count as shouting on their own
    min_run: int = Field(default=3, ge=2, le=20)
    #: share of letters in capitals (outside acronyms) that counts as shouting
    min_ratio: float = Field(default=0.6, ge=0.0, le=1.0)
    #: fewest capitalised words for the ratio test
    min_words: int = Field(default=2, ge=1, le=20)


class ShoutingDetector(Detector):
    name = "shouting"
    signal_types = ("shouting",)
    lexicon_names = ("acronyms",)
    always_run = True
    Params: ClassVar[type[BaseModel] | None] = ShoutingParams

    def __init__(self, settings: DetectorSettings, key: str | None = None) -> None:
        super().__init__(settings, key)
        params: ShoutingParams = self.params
        #: capitalised words that any test needs at least
        self._needed = min(params.min_run, params.min_words)

    def wants(self, scan: Scan) -> bool:
        return self._enough_capitals(scan.view.text)

    def _enough_capitals(self, text: str) -> bool:
        """A cheap gate: most messages have fewer capitalised words than any test needs.

        Each such word starts with a capital and a second capital or an apostrophe, so
        counting those pairs (in C, through a bytes table) rules out most messages before
        the word search, which runs on the same bytes for ASCII text (twice as fast).
        """
        marks = text.encode("utf-8", "surrogatepass").translate(_CAPS_MARKS)
        needed = self._needed
        if marks.count(b"AA") + marks.count(b"A'") < needed:
            return False
        words = _CAPS_WORD_MARKS.findall(marks) if text.isascii() else _CAPS_WORD.findall(text)
        return len(words) >= needed

    def detect(self, scan: Scan) -> Iterator[Signal]:
        view = scan.view
        text = view.text
        params: ShoutingParams = self.params  # the engine asked wants() first: enough capitals
        acronym_tokens = {
            i for hit in self.hits(scan, "acronyms") for i in range(hit.first, hit.last + 1)
        }
        starts, ends = view.starts, view.ends
        may_quote = '"' in text or "“" in text
        caps_letters = 0
        all_letters = 0
        caps_idx: list[int] = []
        run = best_run = 0
        last_start = -1
        for i, (s, e) in enumerate(zip(starts, ends, strict=True)):
            if s == last_start:  # expanded contraction: one written word, count it once
                continue
            last_start = s
            word = text[s:e]
            if word.isalpha():
                letters, digits = e - s, False
            else:
                letters = sum(map(str.isalpha, word))
                if not letters:
                    continue
                digits = any(map(str.isdigit, word))
            excluded = (
                digits
                or i in acronym_tokens
                or (s > 0 and text[s - 1] == "#")
                or (may_quote and view.quoted((s, e)))
                # AM/PM and units after a number ("10 AM", "5 GB") are not shouting
                or (e - s <= 3 and i > 0 and text[starts[i - 1] : ends[i - 1]].isdigit())
            )
            if excluded:
                continue
            upper = word.isupper()
            all_letters += letters
            if upper and letters >= 2:
                caps_letters += letters
                caps_idx.append(i)
                run += 1
                if run > best_run:
                    best_run = run
            elif upper and letters == 1:
                continue  # "I" and "A" neither start nor break a run
            else:
                run = 0
        if not caps_idx or all_letters == 0:
            return
        run_words = best_run
        ratio = caps_letters / all_letters
        if run_words < params.min_run and not (
            ratio >= params.min_ratio and len(caps_idx) >= params.min_words
        ):
            return
        score = min(1.0, 0.35 + 0.45 * ratio + 0.05 * min(run_words, 4))
        if score < self.threshold:
            return
        span = (view.starts[caps_idx[0]], view.ends[caps_idx[-1]])
        share = round(ratio * 100)
        yield self.signal(
            "shouting",
            span,
            score,
            f"{len(caps_idx)} words in capitals ({share}% of the letters), which reads as shouting",
            view,
            evidence=tuple(text[view.starts[i] : view.ends[i]] for i in caps_idx[:6]),
            detail={"caps_words": len(caps_idx), "caps_ratio": round(ratio, 3)},
        )
