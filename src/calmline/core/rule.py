"""The ReplyRule base: id from the class, documentation from the docstring, rewrites from data.

A rule looks at an agent's draft (and, when given, the conversation so far) and returns
findings. Its words and its rewrite templates live in the playbook; its docstring is its
documentation, with an *Anti-pattern* and a *Best practice* example that ``calmline rules``
and docs/rules.md show.
"""

from __future__ import annotations

import inspect
import re
import zlib
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, ClassVar, Generic, TypeVar, overload

from pydantic import BaseModel, Field

from calmline.core.detector import SettingsProblem, validate_params
from calmline.core.matcher import Hit, Hits
from calmline.core.settings import RuleSettings
from calmline.core.text import NEGATORS, TextView, normalise_phrase
from calmline.core.types import (
    Credit,
    Finding,
    MessageAnalysis,
    Rewrite,
    Role,
    Severity,
    Span,
    Turn,
)

_Owner = TypeVar("_Owner")


class _Slots(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def fill(template: str, slots: Mapping[str, str]) -> str:
    """Fill a template's placeholders; unknown or empty ones become empty text."""
    text = template.format_map(_Slots(slots))
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r"\s+([,.!?;:])", r"\1", text)
    return text.strip()


def render(template: str, slots: Mapping[str, str]) -> str:
    """A template of whole sentences (a rewrite, a script line) filled in, with a capital to
    start: "{name_comma}please ..." is "Sam, please ..." or, with no name, "Please ..."."""
    text = fill(template, slots)
    return text[:1].upper() + text[1:]


def name_slots(name: str | None) -> dict[str, str]:
    """The name placeholders for a customer name (all empty when it is not known)."""
    if not name:
        return {"name": "", "name_comma": "", "comma_name": ""}
    return {"name": name, "name_comma": f"{name}, ", "comma_name": f", {name}"}


class TurnAnalyses(Sequence[MessageAnalysis | None]):
    """What the engine read in each turn of a conversation, read the first time it is asked
    for: rules only look at the customer's latest messages, so a long conversation passed
    as raw turns costs the few messages a draft answers, not all of them.

    Agent turns have no analysis (None). ``known`` are analyses made before (one per turn,
    None where missing), taken as they are.
    """

    def __init__(
        self,
        turns: Sequence[Turn],
        known: Sequence[MessageAnalysis | None],
        read: Callable[[Turn], MessageAnalysis],
    ) -> None:
        self._turns = turns
        self._read = read
        self._items: list[MessageAnalysis | None] = [
            known[i] if i < len(known) and turn.role is Role.CUSTOMER else None
            for i, turn in enumerate(turns)
        ]
        self._unread = [
            turn.role is Role.CUSTOMER and item is None
            for turn, item in zip(turns, self._items, strict=True)
        ]

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, i: int) -> MessageAnalysis | None: ...
    @overload
    def __getitem__(self, i: slice) -> list[MessageAnalysis | None]: ...
    def __getitem__(self, i: int | slice) -> MessageAnalysis | list[MessageAnalysis | None] | None:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if self._unread[i]:
            self._items[i] = self._read(self._turns[i])
            self._unread[i] = False
        return self._items[i]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"TurnAnalyses({list(self)!r})"


@dataclass
class ReplyContext:
    """The conversation a draft answers: turns so far and what the engine read in them."""

    turns: Sequence[Turn] = ()
    customer_name: str | None = None
    agent_name: str | None = None
    analyses: Sequence[MessageAnalysis | None] = ()
    upset: bool = False

    @property
    def last_customer(self) -> MessageAnalysis | None:
        """The customer's most recent message (since the agent last spoke, or ever)."""
        for i in reversed(range(min(len(self.turns), len(self.analyses)))):
            if self.turns[i].role is Role.CUSTOMER:
                analysis = self.analyses[i]
                if analysis is not None:
                    return analysis
        return None

    def recent_customer(self) -> list[MessageAnalysis]:
        """The customer's messages since the agent's last reply."""
        out: list[MessageAnalysis] = []
        for i in reversed(range(min(len(self.turns), len(self.analyses)))):
            if self.turns[i].role is Role.AGENT:
                break
            analysis = self.analyses[i]
            if analysis is not None:
                out.append(analysis)
        return list(reversed(out))

    def answering(self) -> list[MessageAnalysis]:
        """The customer's messages the draft answers: those since the agent's last reply, or
        else the customer's last message."""
        recent = self.recent_customer()
        if recent:
            return recent
        last = self.last_customer
        return [last] if last is not None else []

    @property
    def empty(self) -> bool:
        return not self.turns

    def slots(self) -> dict[str, str]:
        out = name_slots(self.customer_name)
        if self.agent_name:
            out["agent"] = self.agent_name
        return out


@dataclass
class Draft:
    """An agent's draft as rules see it: tokens, lexicon hits, credits, and an analysis of it
    as if it were a customer message (to catch an agent swearing or insulting back)."""

    view: TextView
    hits: Hits
    credits: list[Credit] = field(default_factory=list)
    _as_message: Callable[[], MessageAnalysis] | None = None
    _politeness: Callable[[], float | None] | None = None

    @property
    def text(self) -> str:
        return self.view.text

    @cached_property
    def as_message(self) -> MessageAnalysis:
        if self._as_message is None:  # pragma: no cover - the engine always sets it
            raise RuntimeError("draft built without an analyser")
        return self._as_message()

    @cached_property
    def politeness(self) -> float | None:
        """The probability that the draft reads as polite, from the shipped model (None when
        the engine runs without it)."""
        return self._politeness() if self._politeness is not None else None

    def has_credit(self, behaviour: str) -> bool:
        return any(c.behaviour == behaviour for c in self.credits)


@dataclass(frozen=True)
class RuleDoc:
    summary: str
    details: str
    anti_pattern: str
    best_practice: str


#: Words that open a supposition: a phrase after them is a condition, not a statement.
CONDITIONALS = frozenset({"if", "unless", "whether"})
#: Words that join a clause to the one before it ("..., so that is your fault").
CONNECTORS = frozenset({"so", "and", "but", "because", "since", "then", "which"})
# Joining words that start a new clause even without a comma before them ("... but I'm new
# here"; "and that's final"), and the ones that end the clause before them ("I'm busy so ...").
_BARE_JOIN_BEFORE = frozenset({"and", "but", "so", "because"})
_BARE_JOIN_AFTER = frozenset({"but", "so", "because"})
# "and" ends the clause before it when a new subject follows ("I'm new here and I ...").
_SUBJECTS = frozenset({"i", "we", "you", "it", "they", "he", "she", "that", "this", "there"})
_BREAK_CHARS = frozenset(",;:()–—-")


@lru_cache(maxsize=4096)
def carries_negation(phrase: str) -> bool:
    """Whether a lexicon phrase has its own negation ("nothing I can do", "not my problem").

    A "no" or "not" before such a phrase usually adds to it ("No, that's not my problem")
    rather than cancelling it, so the phrase still counts.
    """
    return not NEGATORS.isdisjoint(normalise_phrase(phrase))


def in_condition(view: TextView, first: int, reach: int = 4) -> bool:
    """Whether "if", "unless" or "whether" opens the clause just before token ``first``."""
    i = first
    for _ in range(reach):
        if view.clause_break_before(i):
            return False
        i -= 1
        if view.norms[i] in CONDITIONALS:
            return True
    return False


def longest_hits(hits: Iterable[Hit]) -> list[Hit]:
    """Hits with overlaps resolved: of hits that share a token, the longest one stays."""
    taken: _Taken[Hit] = _Taken()
    kept: list[Hit] = []
    for hit in sorted(hits, key=lambda h: (h.first - h.last, h.first)):
        tokens = (hit.first, hit.last + 1)
        if taken.conflict(tokens) is None:
            taken.add(tokens, hit)
            kept.append(hit)
    return sorted(kept, key=lambda h: h.first)


@dataclass(frozen=True)
class ClausePlace:
    """Where a phrase sits in its sentence, which decides how it can be taken out."""

    sentence: Span
    #: the phrase starts the sentence, or follows a comma, colon, dash ...
    opens: bool
    #: the phrase ends its clause (punctuation or the end of the sentence follows)
    closes: bool
    #: the phrase is the last thing in the sentence (only end punctuation follows)
    ends_sentence: bool
    #: the phrase starts the sentence itself
    starts_sentence: bool
    #: a joining word before the phrase that goes with it ("..., so you're wrong"), or None
    connector_before: int | None
    #: a joining word after the phrase that goes with it ("I'm new here, so ..."), or None
    connector_after: int | None


def clause_place(view: TextView, first: int, last: int) -> ClausePlace:
    """Where tokens ``first``..``last`` sit in their sentence (see :class:`ClausePlace`)."""
    span = view.span_of(first, last)
    sentence = view.sentence_of(span)
    text = view.text
    before = text[sentence[0] : span[0]]
    after = text[span[1] : sentence[1]]
    starts_sentence = not before.strip()
    opens = starts_sentence or before.rstrip()[-1] in _BREAK_CHARS
    ends_sentence = not after.strip(" \t.!?…")
    closes = ends_sentence or after.lstrip()[0] in _BREAK_CHARS
    connector_before = None
    p = first - 1
    if not opens and p >= 0 and view.norms[p] in CONNECTORS and view.starts[p] >= sentence[0]:
        lead = text[sentence[0] : view.starts[p]]
        if (
            view.norms[p] in _BARE_JOIN_BEFORE
            or not lead.strip()
            or lead.rstrip()[-1] in _BREAK_CHARS
        ):
            connector_before = p
            opens = True
    connector_after = None
    n = last + 1
    if n < len(view.norms) and view.norms[n] in CONNECTORS and view.ends[n] <= sentence[1]:
        gap = text[span[1] : view.starts[n]]
        bare = view.norms[n] in _BARE_JOIN_AFTER or (
            view.norms[n] == "and" and n + 1 < len(view.norms) and view.norms[n + 1] in _SUBJECTS
        )
        if bare or any(c in _BREAK_CHARS for c in gap):
            connector_after = n
            closes = True
    return ClausePlace(
        sentence, opens, closes, ends_sentence, starts_sentence, connector_before, connector_after
    )


class PhraseParams(BaseModel):
    """How a phrase rule rewrites its phrases in place (see :meth:`ReplyRule.rewrite_in_place`)."""

    model_config = {"extra": "forbid"}
    #: phrase -> words that can stand in its place anywhere ("" removes the phrase)
    replacements: dict[str, str] = Field(default_factory=dict)
    #: phrase -> words to open the sentence with when the phrase is a clause of its own
    #: ("You're wrong, it came on Monday" -> "From what I can see, it came on Monday");
    #: "" removes the clause, and so does any other place in the sentence
    lead_ins: dict[str, str] = Field(default_factory=dict)


class ReplyRule:
    """Base class of a reply rule. Subclasses set ``id``, ``name`` and implement :meth:`check`."""

    id: ClassVar[str] = ""
    name: ClassVar[str] = ""
    lexicon_names: ClassVar[tuple[str, ...]] = ()
    #: rules that read the conversation (they stay silent without one)
    uses_context: ClassVar[bool] = False
    Params: ClassVar[type[BaseModel] | None] = None

    def __init__(self, settings: RuleSettings) -> None:
        self.settings = settings
        self.principle = settings.principle
        self.severity = settings.severity
        path = f"rules.{self.id}"
        unknown = set(settings.lexicons) - set(self.lexicon_names)
        if unknown:
            raise SettingsProblem(
                f"{path}.lexicons",
                f"unknown lexicon(s) {sorted(unknown)}; this rule reads {list(self.lexicon_names)}",
            )
        self.params: Any = validate_params(self.Params, settings.params, f"{path}.params")

    # ----- documentation ------------------------------------------------------------

    @classmethod
    def doc(cls) -> RuleDoc:
        """Summary, details and the two examples, parsed from the class docstring.

        The summary is the whole first paragraph, however many lines it is wrapped over.
        """
        text = inspect.cleandoc(cls.__doc__ or "")
        sections = {"anti-pattern": "", "best practice": ""}
        lines = text.splitlines()
        end = next(
            (
                i
                for i, line in enumerate(lines)
                if not line.strip() or line.strip().rstrip(":").lower() in sections
            ),
            len(lines),
        )
        summary = " ".join(line.strip() for line in lines[:end])
        details: list[str] = []
        current: str | None = None
        for line in lines[end:]:
            key = line.strip().rstrip(":").lower()
            if key in sections:
                current = key
                continue
            if current:
                sections[current] += line.strip() + " "
            else:
                details.append(line.strip())
        return RuleDoc(
            summary=summary.strip(),
            details=" ".join(d for d in details if d).strip(),
            anti_pattern=sections["anti-pattern"].strip(),
            best_practice=sections["best practice"].strip(),
        )

    # ----- helpers for subclasses ---------------------------------------------------------

    def lexicons(self) -> Iterator[tuple[str, str, Mapping[str, float]]]:
        for lexicon, phrases in self.settings.lexicons.items():
            yield f"rule:{self.id}", lexicon, phrases

    def hits(self, draft: Draft, lexicon: str) -> list[Hit]:
        return draft.hits.get(f"rule:{self.id}", lexicon)

    def live_hits(self, draft: Draft, lexicon: str, *, allow_negated: bool = False) -> list[Hit]:
        """Hits that are not quoted and (unless allowed) not negated."""
        view = draft.view
        out = []
        for hit in self.hits(draft, lexicon):
            span = view.span_of(hit.first, hit.last)
            if view.quoted(span):
                continue
            if not allow_negated and view.negated(hit.first):
                continue
            out.append(hit)
        return out

    def choose(self, templates: Sequence[str], seed: str) -> str:
        """Pick one template variant, the same one every time for the same sentence."""
        return templates[zlib.crc32(seed.encode("utf-8", "replace")) % len(templates)]

    def rewrite_sentence(
        self, draft: Draft, span: Span, ctx: ReplyContext, templates: Sequence[str] | None = None
    ) -> Rewrite | None:
        """Replace the sentence containing ``span`` with one of the rule's templates."""
        options = list(templates if templates is not None else self.settings.rewrites)
        if not options:
            return None
        sentence = draft.view.sentence_of(span)
        text = render(self.choose(options, draft.view.slice(sentence)), ctx.slots())
        return Rewrite(sentence, text)

    def rewrite_phrase(
        self, draft: Draft, span: Span, replacement: str, ctx: ReplyContext
    ) -> Rewrite:
        """Rewrite the sentence containing ``span`` with that phrase replaced (or removed).

        Keeps the rest of the agent's sentence, tidies commas and capitals, and fills
        placeholders in ``replacement``.
        """
        view = draft.view
        sentence = view.sentence_of(span)
        s0, e0 = sentence
        before = view.text[s0 : span[0]]
        after = view.text[span[1] : e0]
        piece = fill(replacement, ctx.slots()) if replacement else ""
        if not piece:
            before = before.rstrip(" ,;:-")
            after = after.lstrip(" ,;:-")
            if before and after and not before.endswith((" ", "\n")):
                before += " "
        text = (before + piece + after).strip()
        text = re.sub(r"\s{2,}", " ", text)
        text = re.sub(r"\s+([,.!?;:])", r"\1", text)
        text = re.sub(r"^[,;:\-\s]+", "", text)
        if text and not before.strip():
            text = text[0].upper() + text[1:]
        if text and text[-1] not in ".!?":
            text += "."
        if not text.strip(" .!?"):
            text = ""
        return Rewrite(sentence, text)

    def insert_sentence(
        self, ctx: ReplyContext, seed: str, at: int = 0, templates: Sequence[str] | None = None
    ) -> Rewrite | None:
        """Add one of the rule's templates as a new sentence at ``at``."""
        options = list(templates if templates is not None else self.settings.rewrites)
        if not options:
            return None
        return Rewrite((at, at), render(self.choose(options, seed), ctx.slots()))

    def phrase_hits(
        self,
        draft: Draft,
        *lexicons: str,
        unless: str | None = None,
        skip_conditional: bool = False,
    ) -> list[Hit]:
        """The hits of some lexicons that count, longest first where they overlap.

        Quoted hits never count; negated ones count only when the phrase carries its own
        negation ("not my problem"); a hit inside a phrase of the ``unless`` lexicon ("no
        problem" for "no") does not count, nor, with ``skip_conditional``, one in an "if" clause.
        """
        found = [h for lexicon in lexicons for h in self.hits(draft, lexicon)]
        if not found:
            return []
        view = draft.view
        blockers = self.hits(draft, unless) if unless else []
        out: list[Hit] = []
        for hit in found:
            if view.quoted(view.span_of(hit.first, hit.last)):
                continue
            if view.negated(hit.first) and not carries_negation(hit.phrase):
                continue
            if any(b.first <= hit.last and hit.first <= b.last for b in blockers):
                continue
            if skip_conditional and in_condition(view, hit.first):
                continue
            out.append(hit)
        return longest_hits(out)

    def rewrite_hit(
        self, draft: Draft, hit: Hit, ctx: ReplyContext, templates: Sequence[str] | None = None
    ) -> Rewrite | None:
        """:meth:`rewrite_in_place` with the rule's own ``replacements`` and ``lead_ins`` for the
        hit's phrase (the rule's params must be :class:`PhraseParams`)."""
        replacements, lead_ins = self._phrase_rewrites
        key = normalise_phrase(hit.phrase)
        return self.rewrite_in_place(
            draft,
            hit,
            ctx,
            replacement=replacements.get(key),
            lead_in=lead_ins.get(key),
            templates=templates,
        )

    @cached_property
    def _phrase_rewrites(self) -> tuple[dict[tuple[str, ...], str], dict[tuple[str, ...], str]]:
        params = self.params
        if not isinstance(params, PhraseParams):  # pragma: no cover - a programming error
            raise TypeError(f"rule {self.id} has no PhraseParams")
        return (
            {normalise_phrase(k): v for k, v in params.replacements.items()},
            {normalise_phrase(k): v for k, v in params.lead_ins.items()},
        )

    def rewrite_in_place(
        self,
        draft: Draft,
        hit: Hit,
        ctx: ReplyContext,
        *,
        replacement: str | None = None,
        lead_in: str | None = None,
        templates: Sequence[str] | None = None,
    ) -> Rewrite | None:
        """A rewrite that changes as little of the agent's sentence as the phrase allows.

        When the phrase is a clause of its own, ``lead_in`` opens the sentence in its place
        ("" drops it); a clause anywhere else ("..., so you're wrong.") or a whole sentence
        is dropped. Otherwise ``replacement`` stands in for the phrase ("" removes it). A
        phrase with neither, or a draft that would be left empty, gets one of the rule's
        templates for the sentence.
        """
        view = draft.view
        place = clause_place(view, hit.first, hit.last)
        span = view.span_of(hit.first, hit.last)
        if lead_in is not None and place.opens and place.closes:
            return self._lead_in(draft, hit, place, lead_in, ctx, templates)
        if replacement is not None:
            if not replacement and place.starts_sentence and place.connector_after is not None:
                span = (span[0], view.ends[place.connector_after])
            return self._in_sentence(draft, span, replacement, ctx, templates)
        return self.rewrite_template(draft, span, ctx, templates)

    def _lead_in(
        self,
        draft: Draft,
        hit: Hit,
        place: ClausePlace,
        lead_in: str,
        ctx: ReplyContext,
        templates: Sequence[str] | None,
    ) -> Rewrite | None:
        view = draft.view
        span = view.span_of(hit.first, hit.last)
        if place.connector_before is not None:
            span = (view.starts[place.connector_before], span[1])
        if place.starts_sentence and place.connector_after is not None:
            # "I'm new here, so bear with me" -> "Bear with me"
            span = (span[0], view.ends[place.connector_after])
            return self._in_sentence(draft, span, "", ctx, templates)
        if place.starts_sentence and not place.ends_sentence:
            return self._in_sentence(draft, span, lead_in, ctx, templates)
        # Elsewhere the clause just goes; a sentence of its own ("That's not true.") too, as
        # the agent's facts follow it.
        return self._in_sentence(draft, span, "", ctx, templates)

    def rewrite_template(
        self, draft: Draft, span: Span, ctx: ReplyContext, templates: Sequence[str] | None = None
    ) -> Rewrite | None:
        """:meth:`rewrite_sentence`, without the customer's name when the draft already has it."""
        options = list(templates if templates is not None else self.settings.rewrites)
        if not options:
            return None
        sentence = draft.view.sentence_of(span)
        slots = ctx.slots()
        if draft.has_credit("name"):
            slots.update(name_slots(None))
        text = render(self.choose(options, draft.view.slice(sentence)), slots)
        return Rewrite(sentence, text)

    def _in_sentence(
        self,
        draft: Draft,
        span: Span,
        replacement: str,
        ctx: ReplyContext,
        templates: Sequence[str] | None,
    ) -> Rewrite | None:
        """:meth:`rewrite_phrase`, except that a phrase taken out of the middle or the end of
        a sentence leaves the rest as it was ("Hi Sam, actually the ..." -> "Hi Sam, the ...").

        A sentence left empty is removed, or templated if it was all the draft said.
        """
        text = draft.view.text
        sentence = draft.view.sentence_of(span)
        s, e = span
        if not replacement and text[sentence[0] : s].strip():
            if text[e : sentence[1]].strip(" \t.!?…"):
                while e < sentence[1] and text[e] in " \t,;:":
                    e += 1  # the phrase and the commas after it
            else:
                while s > sentence[0] and text[s - 1] in " \t,;:-–—":
                    s -= 1  # the phrase and the commas before it
            return Rewrite((s, e), "")
        rewrite = self.rewrite_phrase(draft, span, replacement, ctx)
        if rewrite.text:
            return rewrite
        # The whole sentence goes; a template stands in if nothing else of the draft is left.
        instead = self.rewrite_template(draft, span, ctx, templates)
        s, e = rewrite.span
        if not _has_words(text[:s] + text[e:]):
            return instead
        while e < len(text) and text[e] in " \t":
            e += 1
        return Rewrite((s, e), "", fallback=instead.text if instead else None)

    def finding(
        self,
        draft: Draft,
        span: Span,
        *,
        evidence: Iterable[str] = (),
        message: str | None = None,
        rewrite: Rewrite | None = None,
        severity: Severity | None = None,
    ) -> Finding:
        return Finding(
            rule=self.id,
            principle=self.principle,
            severity=severity or self.severity,
            span=span,
            message=message or self.settings.message or self.doc().summary,
            text=draft.view.slice(span),
            evidence=tuple(evidence),
            rewrite=rewrite,
        )

    def check(self, draft: Draft, ctx: ReplyContext) -> Iterable[Finding]:  # pragma: no cover
        raise NotImplementedError


def apply_rewrites(text: str, rewrites: Iterable[Rewrite]) -> str:
    """The draft with rewrites applied; on overlapping replacements the first one wins.

    Insertions (empty spans) never conflict: several at the same point are joined in order.
    When the removals leave no words at all, the first removal with a fallback says it instead.
    """
    chosen = applicable(rewrites)
    out = _apply(text, chosen)
    if not _has_words(out) and _has_words(text):
        first = next((rw for rw in chosen if rw.fallback), None)
        if first is not None:
            out = _apply(
                text, [Rewrite(rw.span, rw.fallback or "") if rw is first else rw for rw in chosen]
            )
    return out


def applicable(rewrites: Iterable[Rewrite]) -> list[Rewrite]:
    """The rewrites :func:`apply_rewrites` applies: each one, unless it touches the text of
    one before it that applies (an insertion only touches a replacement around it)."""
    taken: _Taken[Rewrite] = _Taken()
    chosen: list[Rewrite] = []
    for rw in rewrites:
        if taken.conflict(rw.span) is None:
            taken.add(rw.span, rw)
            chosen.append(rw)
    return chosen


def _apply(text: str, chosen: Sequence[Rewrite]) -> str:
    out = text
    order = sorted(
        enumerate(chosen), key=lambda p: (p[1].span[0], p[1].span[1], p[0]), reverse=True
    )
    for _, rw in order:
        s, e = rw.span
        if s == e:
            before, after = out[:s], out[s:]
            sep_before = " " if before and not before.endswith((" ", "\n")) else ""
            sep_after = " " if after and not after.startswith((" ", "\n")) else ""
            out = before + sep_before + rw.text + sep_after + after
        else:
            out = out[:s] + rw.text + out[e:]
    return out.strip()


def _has_words(text: str) -> bool:
    return any(c.isalnum() for c in text)


def narrow_rewrite(text: str, rewrite: Rewrite) -> Rewrite:
    """The same change as ``rewrite`` on ``text``, cut down to the characters that differ.

    Two rules that change different words of one sentence then both apply in one pass
    ("No, that's not true, ..." has a B2 and a B1 change). At least one character of the
    original stays in the span, so a change never turns into an insertion.
    """
    s, e = rewrite.span
    old, new = text[s:e], rewrite.text
    if s == e or not new or rewrite.fallback is not None:
        return rewrite
    limit = min(len(old), len(new))
    head = 0
    while head < limit and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < limit - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    if head + tail >= len(old):  # a pure insertion: keep one character of the original
        if head:
            head -= 1
        else:
            tail -= 1
    return Rewrite((s + head, e - tail), new[head : len(new) - tail])


def rewrites_clash(rewrites: Iterable[Rewrite]) -> bool:
    """Whether :func:`apply_rewrites` has to leave out a rewrite that would change the text."""
    taken: _Taken[Rewrite] = _Taken()
    for rw in rewrites:
        other = taken.conflict(rw.span)
        if other is None:
            taken.add(rw.span, rw)
        elif other != rw:
            # Had another taken rewrite clashed as well, it would have clashed with this
            # identical one first: a duplicate is the only clash that leaves nothing out.
            return True
    return False


def say_once(text: str, sentences: Iterable[str]) -> str:
    """``text`` with each run of one of ``sentences`` said once.

    Replacements are chosen per sentence, so "Damn. Damn. Damn." gets the same replacement
    for every "Damn." (and the rounds of :meth:`Engine._fix` can add another); an agent would
    send it once. Only back-to-back repeats of whole replacement sentences are merged.
    """
    for sentence in {s.strip() for s in sentences}:
        if not sentence or sentence[-1] not in ".!?" or text.count(sentence) < 2:
            continue
        once = re.escape(sentence)
        text = re.sub(rf"(?<!\w){once}(?:\s*{once})+", sentence.replace("\\", r"\\"), text)
    return text


class _Taken(Generic[_Owner]):
    """Spans already taken (by rewrites, by hits), kept sorted for conflict look-ups in
    O(log n), so that resolving n rewrites is O(n log n) rather than one scan per rewrite.

    Two spans conflict when they share text; an empty span (an insertion) only conflicts with
    a span around it, never with another empty one. Non-empty spans taken never overlap, so
    sorted by start they are sorted by end as well, and the one that could overlap a span is
    the last that starts before it ends.
    """

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.owners: list[_Owner] = []
        self.points: list[int] = []
        self.point_owners: list[_Owner] = []

    def conflict(self, span: Span) -> _Owner | None:
        """What took a span that conflicts with ``span``, or None."""
        s, e = span
        if s == e:
            i = bisect_left(self.starts, s) - 1
            return self.owners[i] if i >= 0 and self.ends[i] > s else None
        i = bisect_left(self.starts, e) - 1
        if i >= 0 and self.ends[i] > s:
            return self.owners[i]
        j = bisect_right(self.points, s)
        if j < len(self.points) and self.points[j] < e:
            return self.point_owners[j]
        return None

    def add(self, span: Span, owner: _Owner) -> None:
        """Take ``span`` (it must not conflict with a span already taken)."""
        s, e = span
        if s == e:
            j = bisect_right(self.points, s)
            self.points.insert(j, s)
            self.point_owners.insert(j, owner)
        else:
            i = bisect_left(self.starts, s)
            self.starts.insert(i, s)
            self.ends.insert(i, e)
            self.owners.insert(i, owner)


__all__ = [
    "CONDITIONALS",
    "CONNECTORS",
    "ClausePlace",
    "Draft",
    "PhraseParams",
    "ReplyContext",
    "ReplyRule",
    "RuleDoc",
    "SettingsProblem",
    "TurnAnalyses",
    "applicable",
    "apply_rewrites",
    "carries_negation",
    "clause_place",
    "fill",
    "in_condition",
    "longest_hits",
    "name_slots",
    "narrow_rewrite",
    "render",
    "rewrites_clash",
    "say_once",
]
