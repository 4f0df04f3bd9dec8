"""Threats: legal action, going public, leaving, and threats to someone's safety.

A customer who threatens to sue, to post a one-star review or to take their business
elsewhere is telling the agent what is at stake (B7: do not take the bait, E2: weigh the cost);
a threat to someone's safety is the one threat that must be reported (D7).

A word such as "lawyer", "Twitter" or "switch to" only counts as a threat with the customer's
intent attached: an intent cue shortly before it in the same sentence ("I will", "I'm going
to", "no choice but to", "you'll be hearing from") or a cue right after it ("... will hear
about this"). Some phrases are threats on their own ("see you in court", "I know where you
live", "you've lost a customer"). A negated threat ("I'm not going to sue") is silent, and a
question lowers the score: "can I get a chargeback?" asks about a right and scores below the
threshold, while "do you want me to go to the ombudsman?" still counts.

Safety threats need a harm verb aimed at a person or a place ("kill you", "smash the place
up") or an explicit menace; idioms ("this is killing me", "I could kill for a coffee") have no
such target and stay silent.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import ClassVar

from pydantic import BaseModel, Field, field_validator

from calmline.core.detector import Detector, Scan
from calmline.core.matcher import Hit
from calmline.core.settings import DetectorSettings, PrincipleId
from calmline.core.text import TextView
from calmline.core.types import Signal
from calmline.detectors._cues import (
    Cues,
    Found,
    Near,
    has_hits,
    keep_longest,
    local_sets,
    quoted,
    read_intent,
    scanned,
    sentence_break,
    touches,
)

THREAT_TYPES = ("threat.legal", "threat.public", "threat.churn", "threat.safety")

_EXPLAIN = {
    "threat.legal": "says they will take legal or regulatory action",
    "threat.public": "says they will make the complaint public",
    "threat.churn": "says they will cancel or take their business elsewhere",
    "threat.safety": "threatens someone's safety",
}


class ThreatParams(BaseModel):
    model_config = {"extra": "forbid"}
    #: signal type -> principle it cites, when not the detector's own (threat.safety: D7)
    principles: dict[str, PrincipleId] = Field(default_factory=dict)
    #: most tokens between an intent cue and the threat word it governs
    window: int = Field(default=6, ge=1, le=12)
    #: most tokens between a harm verb and its target, or a leaving verb and the account
    target_window: int = Field(default=3, ge=1, le=8)
    #: most tokens between a posting verb and the channel it names
    channel_window: int = Field(default=4, ge=1, le=8)
    #: score factor for a threat in a sentence that ends with a question mark
    question_factor: float = Field(default=0.7, ge=0.0, le=1.0)
    #: score factor for a question that opens with a neutral question word ("did", "when")
    neutral_question_factor: float = Field(default=0.4, ge=0.0, le=1.0)
    #: score factor for a harm verb aimed at someone without an intent cue ("kill you")
    no_cue_factor: float = Field(default=0.8, ge=0.0, le=1.0)
    #: channel phrase -> the channel reported in detail (tweet -> twitter)
    channels: dict[str, str] = Field(default_factory=dict)
    #: channels reported only when no more specific one is named ("reviews" < "trustpilot")
    generic_channels: list[str] = Field(default_factory=list)

    @field_validator("principles")
    @classmethod
    def _known_types(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = set(value) - set(THREAT_TYPES)
        if unknown:
            raise ValueError(f"unknown signal type(s) {sorted(unknown)}; use {THREAT_TYPES}")
        return value


@dataclass(frozen=True, slots=True)
class _Context:
    """The hits every threat type reads, gathered once per message."""

    view: TextView
    cues: Cues
    ignore: Near


class ThreatDetector(Detector):
    """Legal, public, churn and safety threats, each needing the customer's own intent."""

    name = "threat"
    signal_types = THREAT_TYPES
    lexicon_names = (
        "intent",
        "intent_after",
        "blockers",
        "ignore",
        "neutral_questions",
        "legal",
        "legal_outright",
        "public",
        "public_outright",
        "broadcast",
        "churn",
        "churn_outright",
        "leave_verbs",
        "accounts",
        "safety",
        "safety_outright",
        "harm",
        "targets",
    )
    Params: ClassVar[type[BaseModel] | None] = ThreatParams
    #: the lexicons that can start a threat; without one of them the detector does not run
    _TRIGGERS = (
        "legal",
        "legal_outright",
        "public",
        "public_outright",
        "broadcast",
        "churn",
        "churn_outright",
        "leave_verbs",
        "safety",
        "safety_outright",
        "harm",
    )

    #: common context words, read around a threat word rather than in the shared scan
    _LOCAL = ("blockers", "neutral_questions", "targets", "accounts")

    def __init__(self, settings: DetectorSettings, key: str | None = None) -> None:
        super().__init__(settings, key)
        self.local = local_sets(settings.lexicons, self._LOCAL)

    def lexicons(self) -> Iterator[tuple[str, str, Mapping[str, float]]]:
        yield from scanned(super().lexicons(), self._LOCAL)
        params: ThreatParams = self.params
        yield self.key, "channels", dict.fromkeys(params.channels, 1.0)

    def wants(self, scan: Scan) -> bool:
        return has_hits(scan.hits, self.key, self._TRIGGERS)

    def triggers(self) -> frozenset[str] | None:
        # asked only when one of its own words is in the message (most messages have none)
        return None if self.patterns else frozenset({self.key})

    def detect(self, scan: Scan) -> Iterator[Signal]:
        view = scan.view
        params: ThreatParams = self.params
        cues = Cues(
            before=Near(self.hits(scan, "intent")),
            after=Near(self.hits(scan, "intent_after")),
            blockers=self.local["blockers"],
            openers=self.local["neutral_questions"],
            window=params.window,
            after_window=2,
        )
        ctx = _Context(view=view, cues=cues, ignore=Near(self.hits(scan, "ignore")))
        for signal_type, found in (
            ("threat.legal", self._plain(scan, ctx, "legal")),
            ("threat.public", self._public(scan, ctx)),
            ("threat.churn", self._churn(scan, ctx)),
            ("threat.safety", self._safety(scan, ctx)),
        ):
            principle = params.principles.get(signal_type)
            for f in keep_longest(found):
                if f.score < self.threshold:
                    continue
                span = view.span_of(*f.span_tokens())
                explanation = f'{_EXPLAIN[signal_type]} ("{f.trigger}")'
                if f.detail.get("channel"):
                    explanation += f" on {f.detail['channel']}"
                signal = self.signal(
                    signal_type,
                    span,
                    f.score,
                    explanation,
                    view,
                    evidence=f.evidence,
                    detail=f.detail,
                )
                yield replace(signal, principle=principle) if principle else signal

    # ----- one candidate --------------------------------------------------------------

    def _judge(
        self,
        ctx: _Context,
        first: int,
        last: int,
        base: float,
        evidence: str,
        *,
        needs_cue: bool,
        no_cue: float = 1.0,
    ) -> Found | None:
        """Score tokens first..last as a threat, given the cues around them (None: no threat)."""
        view = ctx.view
        if quoted(view, first, last) or touches(first, last, ctx.ignore):
            return None
        intent = read_intent(view, first, last, ctx.cues, needs_cue=needs_cue)
        if intent is None:
            return None
        params: ThreatParams = self.params
        # A harm verb aimed at someone stays a threat whatever the cue ("I could kill you").
        factor = intent.cue.weight if intent.cue is not None else no_cue
        score = base * (max(factor, no_cue) if no_cue < 1.0 else factor)
        if intent.question == "neutral":
            score *= params.neutral_question_factor
        elif intent.question:
            score *= params.question_factor
        return Found(
            first,
            last,
            score,
            (intent.cue.phrase, evidence) if intent.cue is not None else (evidence,),
            lead=intent.lead,
            tail=intent.tail,
            trigger=view.slice(view.span_of(first, last)),
        )

    def _plain(self, scan: Scan, ctx: _Context, kind: str) -> list[Found]:
        """Candidates from a type's cue-needing lexicon and its outright lexicon."""
        out: list[Found] = []
        for hit in self.hits(scan, kind):
            f = self._judge(ctx, hit.first, hit.last, hit.weight, hit.phrase, needs_cue=True)
            if f is not None:
                out.append(f)
        for hit in self.hits(scan, kind + "_outright"):
            f = self._judge(ctx, hit.first, hit.last, hit.weight, hit.phrase, needs_cue=False)
            if f is not None:
                out.append(f)
        return out

    # ----- the four types -------------------------------------------------------------

    def _public(self, scan: Scan, ctx: _Context) -> list[Found]:
        params: ThreatParams = self.params
        view = ctx.view
        channels = Near(self.hits(scan, "channels"))
        out = self._plain(scan, ctx, "public")
        # "post this on Twitter": a posting verb counts when it names a channel.
        for verb in self.hits(scan, "broadcast"):
            channel = _next_within(view, channels, verb.last, params.channel_window)
            if channel is None:
                continue
            f = self._judge(ctx, verb.first, channel.last, verb.weight, verb.phrase, needs_cue=True)
            if f is not None:
                out.append(f)
        generic = set(params.generic_channels)
        for f in out:
            first, last = f.span_tokens()
            named = _channels_in(view, channels, first, last, params.channel_window)
            names = [params.channels.get(h.phrase, h.phrase) for h in named]
            specific = [n for n in names if n not in generic]
            if names:
                f.detail["channel"] = (specific or names)[0]
        return out

    def _churn(self, scan: Scan, ctx: _Context) -> list[Found]:
        params: ThreatParams = self.params
        out = self._plain(scan, ctx, "churn")
        accounts = self.local["accounts"]
        # "cancel my subscription", "close my account": leaving what ties them to the company.
        # "cancel my order" names no account, so it is not churn.
        for verb in self.hits(scan, "leave_verbs"):
            obj = accounts.after(ctx.view, verb.last, params.target_window)
            if obj is None:
                continue
            f = self._judge(ctx, verb.first, obj[1], verb.weight, verb.phrase, needs_cue=False)
            if f is not None:
                out.append(f)
        return out

    def _safety(self, scan: Scan, ctx: _Context) -> list[Found]:
        params: ThreatParams = self.params
        out = self._plain(scan, ctx, "safety")
        targets = self.local["targets"]
        # A harm verb counts only when aimed at a person or a place: "kill you", not
        # "killing me" or "kill for a coffee".
        for verb in self.hits(scan, "harm"):
            target = targets.after(ctx.view, verb.last, params.target_window)
            if target is None:
                continue
            f = self._judge(
                ctx,
                verb.first,
                target[1],
                verb.weight,
                verb.phrase,
                needs_cue=False,
                no_cue=params.no_cue_factor,
            )
            if f is not None:
                out.append(f)
        return out


def _next_within(view: TextView, hits: Near, last: int, window: int) -> Hit | None:
    """The first of ``hits`` starting within ``window`` tokens after ``last``, same sentence."""
    found = hits.starting(last + 1, last + window + 1)
    if not found or sentence_break(view, last, found[0].first):
        return None
    return found[0]


def _channels_in(view: TextView, channels: Near, first: int, last: int, window: int) -> list[Hit]:
    """The channels named inside tokens first..last or just after them, in text order."""
    return [
        h
        for h in channels.starting(first, last + window)
        if h.first <= last or not sentence_break(view, last, h.first)
    ]
