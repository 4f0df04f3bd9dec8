"""Profanity: swear words anywhere in a message, and whether they are aimed at the agent (D1).

Every swear word (or swearing phrase such as "what the hell") gives one signal with
``detail = {"aimed": bool, "severity": "mild" | "strong"}``. Mild words ("damn", "bloody",
"crap", "hell") score lower than strong ones ("fuck", "cunt"); a word's weight in the playbook
decides which it is (``strong_from``).

Swearing is *aimed* when it is directed at the agent or the company rather than just said:
the playbook's ``aimed`` phrases ("fuck you", "f*** off", "go to hell", "screw you guys"), or
a swear word that is part of name-calling ("you f*cking idiot", "you bastards", "useless
wankers!"). Aimed swearing makes a message abusive; the rest is usually venting.

Disguised spellings are read by the shared text layer (f*ck, sh!t, f4ck, fu(k, fuuuck,
"f u c k", look-alike letters), which leaves alone spellings that only look like a disguise:
model numbers and handles ("Galaxy A55", "user55", "@598598"), words that are mostly digits
("Class 1A"), contractions ("he'll") and short words with a digit that does not look like
the letter it would replace ("Oppo f1s"). This detector adds the care a word list needs:

* words, not substrings: Scunthorpe, assistance, Dickens and cocktail never match;
* ``ambiguous`` words that are also names (Dick, Willy, Mr Cock) count only when they do not
  read as a name, and ``benign`` phrases ("door knob", "bloody nose") switch a word off;
* two-letter chat forms ("af") count only in lower case, so airline codes do not;
* quoted text is reported speech ('the error says "f*** off"') and is left out.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel, Field

from calmline.core.detector import Detector, Scan
from calmline.core.matcher import Hit
from calmline.core.text import TextView
from calmline.core.types import Signal
from calmline.detectors.insult import (
    INSULT,
    LINKING_WORDS,
    TargetReading,
    gap_has,
    word_tokens,
)

_SWEAR_LEXICONS = ("strong", "mild", "ambiguous", "aimed", "slurs")
_HARD_BREAKS = frozenset('.;:!?()[]{}\n–—"“”')


class ProfanityParams(BaseModel):
    model_config = {"extra": "forbid"}
    #: lexicon weight from which a word counts as strong swearing (below it is mild)
    strong_from: float = Field(default=0.8, ge=0.0, le=1.0)
    #: added to the score of swearing aimed at the agent or the company
    aimed_boost: float = Field(default=0.1, ge=0.0, le=1.0)


class ProfanityDetector(Detector):
    """Swear words and slurs, mild or strong, and whether they are aimed at the agent.

    Lexicons: ``strong`` and ``mild`` swear words, ``ambiguous`` words that are also names,
    ``aimed`` phrases that direct swearing at the reader, ``slurs`` (strong, and insults when
    aimed), and ``benign`` phrases that switch off a word inside them. It reads the insult
    detector's targets and words to tell swearing that names someone ("you f*cking idiot")
    from swearing about a thing ("this f*cking app").
    """

    name = "profanity"
    order: ClassVar[int] = 10
    signal_types = ("profanity",)
    lexicon_names = (*_SWEAR_LEXICONS, "benign")
    Params: ClassVar[type[BaseModel] | None] = ProfanityParams

    def wants(self, scan: Scan) -> bool:
        return bool(self.patterns) or scan.hits.any_of(self.key, _SWEAR_LEXICONS)

    def triggers(self) -> frozenset[str] | None:
        return None if self.patterns else frozenset({self.key})

    def detect(self, scan: Scan) -> Iterator[Signal]:
        view = scan.view
        params: ProfanityParams = self.params
        harmless = {t for hit in self.hits(scan, "benign") for t in range(hit.first, hit.last + 1)}
        found: list[tuple[Hit, str]] = []
        for lexicon in _SWEAR_LEXICONS:
            for hit in self.hits(scan, lexicon):
                if any(t in harmless for t in range(hit.first, hit.last + 1)):
                    continue
                if view.quoted(view.span_of(hit.first, hit.last)):
                    continue  # reported speech: 'the error message says "f*** off"'
                if self._is_swearing(view, hit, lexicon, scan.names):
                    found.append((hit, lexicon))
        if found:
            profane = {t for hit, _ in found for t in range(hit.first, hit.last + 1)}
            words, nouns = word_tokens(scan, INSULT)
            context = _Context(TargetReading.read(scan, words | profane, INSULT), words, nouns)
            for cluster in _clusters(found):
                signal = self._cluster_signal(view, cluster, context, params)
                if signal is not None:
                    yield signal
        yield from self.pattern_signals(scan, "profanity", self.settings.explanation or "swearing")

    def _is_swearing(self, view: TextView, hit: Hit, lexicon: str, names: Sequence[str]) -> bool:
        if lexicon == "ambiguous" and view.looks_like_name(hit.first, names):
            return False
        if hit.first == hit.last and len(view.norms[hit.first]) <= 2:
            written = view.text[view.starts[hit.first] : view.ends[hit.first]]
            return written.islower()  # "af" is chat; "AF" is an airline code
        return True

    def _cluster_signal(
        self,
        view: TextView,
        cluster: list[tuple[Hit, str]],
        context: _Context,
        params: ProfanityParams,
    ) -> Signal | None:
        first = min(hit.first for hit, _ in cluster)
        last = max(hit.last for hit, _ in cluster)
        span = view.span_of(first, last)
        weight = max(hit.weight for hit, _ in cluster)
        lexicons = {lexicon for _, lexicon in cluster}
        at: str | None = "you"
        # "why don't you just f*** off" is still aimed; "I'm not saying go to hell" is not
        if not any(
            lexicon == "aimed" and not context.reading.denied(hit.first) for hit, lexicon in cluster
        ):
            at = context.part_of_insult(first, last)
        aimed = at is not None
        severity = "strong" if weight >= params.strong_from else "mild"
        score = weight + (params.aimed_boost if aimed else 0.0)
        if score < self.threshold:
            return None
        text = view.slice(span)
        if "slurs" in lexicons:
            explanation = f"'{text}' is a slur" + (f", aimed at {at}" if aimed else "")
        elif aimed:
            explanation = f"'{text}' is {severity} swearing aimed at {at}"
        else:
            explanation = f"'{text}' is {severity} swearing, not aimed at anyone in particular"
        evidence = tuple(dict.fromkeys(hit.phrase for hit, _ in cluster))
        return self.signal(
            "profanity",
            span,
            score,
            explanation,
            view,
            evidence=evidence,
            detail={"aimed": aimed, "severity": severity},
        )


def _clusters(found: list[tuple[Hit, str]]) -> Iterator[list[tuple[Hit, str]]]:
    """Hits that share a token make one swearing expression ("go to hell" and "hell")."""
    found.sort(key=lambda f: (f[0].first, -f[0].last))
    cluster: list[tuple[Hit, str]] = []
    end = -1
    for item in found:
        hit = item[0]
        if cluster and hit.first > end:
            yield cluster
            cluster = []
        cluster.append(item)
        end = max(end, hit.last)
    if cluster:
        yield cluster


@dataclass(frozen=True, slots=True)
class _Context:
    """What the insult detector's words say about one message: targets and insult words."""

    reading: TargetReading
    #: tokens covered by insult words, and by names (nouns and slurs) among them
    words: set[int]
    nouns: set[int]

    def part_of_insult(self, first: int, last: int) -> str | None:
        """Who swearing at ``first``..``last`` names when it is part of name-calling, or None."""
        words, reading = self.words, self.reading
        if not words:
            return None
        view = reading.view
        # The insult word the swearing leads up to, over a few linking words ("a shitty little
        # fucktard"); a swear word that is itself an insult word ends there.
        end = last
        k = last + 1
        while k < len(view.norms) and k - last <= 4 and not gap_has(view, k - 1, k, _HARD_BREAKS):
            if k in words:
                end = k
            elif k not in reading.loose and view.norms[k] not in LINKING_WORDS:
                break
            k += 1
        chain = range(first, end + 1)
        if not any(t in words for t in chain) or reading.denied(first):
            return None
        target = reading.target_before(first) or reading.target_after(end)
        if target is not None:
            return reading.aimed_at(target)
        if any(t in self.nouns for t in chain) and reading.bare(first, end):
            return "you"  # a name on its own addresses whoever reads it
        return None
