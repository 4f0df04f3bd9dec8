"""The values the engine hands out: signals, findings, credits and reports (frozen, JSON-ready)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

Span = tuple[int, int]

#: The public vocabulary of customer-message signals, in the order they are documented.
SIGNAL_TYPES: tuple[str, ...] = (
    "shouting",
    "profanity",
    "insult",
    "venting",
    "threat.legal",
    "threat.public",
    "threat.churn",
    "threat.safety",
    "demand",
    "manager_request",
    "repeat_contact",
    "loyalty",
    "forgiveness",
    "excuse",
)

#: Good behaviours a reply can show, credited by scores (what the agent did well).
CREDIT_TYPES: tuple[str, ...] = (
    "empathy",
    "apology",
    "ownership",
    "explanation",
    "next_step",
    "name",
)


class AbuseLevel(StrEnum):
    """How abusive a customer message is, from the agent's point of view."""

    NONE = "none"
    VENTING = "venting"
    ABUSIVE = "abusive"
    SAFETY = "safety"

    @property
    def rank(self) -> int:
        return _ABUSE_RANK[self]


_ABUSE_RANK = {
    AbuseLevel.NONE: 0,
    AbuseLevel.VENTING: 1,
    AbuseLevel.ABUSIVE: 2,
    AbuseLevel.SAFETY: 3,
}


class Severity(StrEnum):
    """How strongly a finding argues against sending the draft as it is."""

    INFO = "info"
    WARN = "warn"
    BLOCK = "block"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARN: 1, Severity.BLOCK: 2}


class Role(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"


@dataclass(frozen=True, slots=True)
class Signal:
    """One thing found in a customer message, with where it is and why it was reported."""

    type: str
    principle: str
    span: Span
    score: float
    explanation: str
    text: str = ""
    evidence: tuple[str, ...] = ()
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.type,
            "principle": self.principle,
            "span": list(self.span),
            "score": round(self.score, 3),
            "explanation": self.explanation,
            "text": self.text,
            "evidence": list(self.evidence),
        }
        if self.detail:
            out["detail"] = dict(self.detail)
        return out


@dataclass(frozen=True, slots=True)
class MessageAnalysis:
    """Everything the engine read in one customer message."""

    text: str
    signals: tuple[Signal, ...]
    anger: float
    abuse: AbuseLevel

    def of_type(self, signal_type: str) -> tuple[Signal, ...]:
        """The signals of one type (``threat`` matches every ``threat.*``)."""
        prefix = signal_type + "."
        return tuple(s for s in self.signals if s.type == signal_type or s.type.startswith(prefix))

    def has(self, signal_type: str) -> bool:
        return bool(self.of_type(signal_type))

    @property
    def types(self) -> frozenset[str]:
        return frozenset(s.type for s in self.signals)

    def to_dict(self) -> dict[str, Any]:
        return {
            "signals": [s.to_dict() for s in self.signals],
            "anger": round(self.anger, 3),
            "abuse": self.abuse.value,
        }


# A frozen dataclass's __init__ sets each field through object.__setattr__, which looks the
# name up on the class every time; the engine makes one analysis per message, so it fills the
# slots through their descriptors directly instead (half the cost, same value).
_SET_ANALYSIS_FIELDS = tuple(
    getattr(MessageAnalysis, name).__set__ for name in ("text", "signals", "anger", "abuse")
)


def new_message_analysis(
    text: str, signals: tuple[Signal, ...], anger: float, abuse: AbuseLevel
) -> MessageAnalysis:
    """``MessageAnalysis(text, signals, anger, abuse)``, made without the frozen ``__init__``.

    The fields are not checked or converted by ``__init__`` either, so the result is equal to
    the one the constructor makes; only the engine's hot path uses this.
    """
    analysis = object.__new__(MessageAnalysis)
    set_text, set_signals, set_anger, set_abuse = _SET_ANALYSIS_FIELDS
    set_text(analysis, text)
    set_signals(analysis, signals)
    set_anger(analysis, anger)
    set_abuse(analysis, abuse)
    return analysis


@dataclass(frozen=True, slots=True)
class Rewrite:
    """Replace ``span`` of the draft with ``text`` (an insertion when the span is empty).

    ``fallback`` is said instead of removing a sentence (``text`` empty) when the removals
    together would leave nothing of the draft.
    """

    span: Span
    text: str
    fallback: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"span": list(self.span), "text": self.text}


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem in an agent's draft: which rule, which principle, where, why, and a fix."""

    rule: str
    principle: str
    severity: Severity
    span: Span
    message: str
    text: str = ""
    evidence: tuple[str, ...] = ()
    rewrite: Rewrite | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "principle": self.principle,
            "severity": self.severity.value,
            "span": list(self.span),
            "message": self.message,
            "text": self.text,
            "evidence": list(self.evidence),
            "rewrite": self.rewrite.text if self.rewrite else None,
            "rewrite_span": list(self.rewrite.span) if self.rewrite else None,
        }


@dataclass(frozen=True, slots=True)
class Credit:
    """A good behaviour present in a draft (credited by scores, never a problem)."""

    behaviour: str
    principle: str
    span: Span
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "behaviour": self.behaviour,
            "principle": self.principle,
            "span": list(self.span),
            "text": self.text,
        }


@dataclass(frozen=True, slots=True)
class Turn:
    """One message of a conversation, as the engine sees it."""

    role: Role
    text: str
    timestamp: float | None = None
    author: str | None = None


@dataclass(frozen=True, slots=True)
class ReplyCheck:
    """The result of checking a draft before it is sent."""

    draft: str
    findings: tuple[Finding, ...]
    credits: tuple[Credit, ...]
    fixed: str
    #: the probability that the draft reads as polite (the shipped model; None without it)
    politeness: float | None = None

    @property
    def worst(self) -> Severity | None:
        if not self.findings:
            return None
        return max((f.severity for f in self.findings), key=lambda s: s.rank)

    @property
    def blocked(self) -> bool:
        return any(f.severity is Severity.BLOCK for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "draft": self.draft,
            "findings": [f.to_dict() for f in self.findings],
            "credits": [c.to_dict() for c in self.credits],
            "blocked": self.blocked,
            "fixed": self.fixed,
            "politeness": None if self.politeness is None else round(self.politeness, 3),
        }
