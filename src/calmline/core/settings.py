"""Validated settings the engine runs on: detectors, rules, scoring and limits (no I/O).

The playbook file format (``calmline.playbook``) composes these models; the engine only ever
sees validated, frozen instances. Unknown keys are errors, so a typo in a playbook is reported
instead of silently ignored.
"""

from __future__ import annotations

import string
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from calmline.core.types import Severity

PrincipleId = Annotated[str, Field(pattern=r"^[A-E][1-9]$", description="A playbook principle id")]
Weight = Annotated[float, Field(ge=0.0, le=1.0)]
#: phrase -> weight (0 turns a phrase of the default playbook off)
Lexicon = dict[str, Weight]

#: Placeholders a rewrite or script template may use. Anything else is rejected at load.
TEMPLATE_SLOTS = frozenset(
    {
        "name",
        "name_comma",
        "comma_name",
        "agent",
        "issue",
        "reason",
        "policy",
        "offer",
        "next_step",
        "amount",
        "time",
        #: what the customer is doing, for the boundary protocol's lines ("shouting")
        "behaviour",
    }
)


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def check_template(template: str) -> str:
    """Reject templates with placeholders outside :data:`TEMPLATE_SLOTS` or broken braces."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise ValueError(f"template {template!r} has unbalanced braces: {exc}") from None
    for f in fields:
        if f not in TEMPLATE_SLOTS:
            allowed = ", ".join(sorted(TEMPLATE_SLOTS))
            raise ValueError(f"template {template!r} uses {{{f}}}; allowed placeholders: {allowed}")
    return template


Template = Annotated[str, Field(min_length=1, max_length=600)]


class PatternSettings(Settings):
    """A regular expression over the message, run by RE2 so it stays linear-time."""

    name: str = Field(min_length=1, max_length=60)
    regex: str = Field(min_length=1, max_length=500)
    weight: Weight = 0.8


class DetectorSettings(Settings):
    """How one detector is switched on and tuned."""

    enabled: bool = True
    principle: PrincipleId
    threshold: Weight = 0.5
    explanation: str = Field(default="", max_length=300)
    lexicons: dict[str, Lexicon] = Field(default_factory=dict)
    context_window: int = Field(default=4, ge=1, le=20)
    patterns: list[PatternSettings] = Field(default_factory=list)
    params: dict[str, Any] = Field(default_factory=dict)


class RuleSettings(Settings):
    """How one reply rule is switched on and tuned, with its rewrite templates."""

    enabled: bool = True
    principle: PrincipleId
    severity: Severity = Severity.WARN
    message: str = Field(default="", max_length=300)
    lexicons: dict[str, Lexicon] = Field(default_factory=dict)
    rewrites: list[Template] = Field(default_factory=list)
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("rewrites")
    @classmethod
    def _templates(cls, value: list[str]) -> list[str]:
        return [check_template(t) for t in value]


class CreditSettings(Settings):
    """Phrases that show a good behaviour in a reply (empathy, apology, ownership ...)."""

    principle: PrincipleId
    lexicon: Lexicon = Field(default_factory=dict)
    #: phrases that contain one of the lexicon's without showing the behaviour ("as soon as"
    #: holds "as", which otherwise gives a reason)
    exceptions: Lexicon = Field(default_factory=dict)
    #: whether a negation before a phrase cancels it ("I don't understand"); a reason is
    #: still a reason after a refusal ("we can't refund it as it is ...")
    negation_cancels: bool = True


class AngerSettings(Settings):
    """How the message-level anger score (0-1) is built from words and signals."""

    lexicon: Lexicon = Field(default_factory=dict)
    signal_weights: dict[str, Weight] = Field(default_factory=dict)
    exclamation_weight: Weight = 0.15
    question_burst_weight: Weight = 0.1
    forgiveness_discount: Weight = 0.5


class AbuseSettings(Settings):
    """When a message counts as venting, abusive, or a safety matter."""

    safety_threshold: Weight = 0.5
    insult_threshold: Weight = 0.5
    profanity_at_agent_is_abusive: bool = True
    shouting_with_profanity_is_abusive: bool = True
    venting_signals: list[str] = Field(default_factory=lambda: ["venting", "profanity", "shouting"])


class UpsetSettings(Settings):
    """When the customer counts as upset (drives the apology rule B5 and the coach)."""

    anger_threshold: Weight = 0.35
    signals: list[str] = Field(
        default_factory=lambda: [
            "insult",
            "profanity",
            "shouting",
            "venting",
            "repeat_contact",
            "threat.legal",
            "threat.public",
            "threat.churn",
            "manager_request",
        ]
    )


class Limits(Settings):
    """Size limits on input, enforced with a clear error."""

    max_message_chars: int = Field(default=20_000, ge=100, le=5_000_000)


class ModelSettings(Settings):
    """How the shipped model's probabilities add to the rules' signals (see docs/models.md).

    The rules still give the spans; a probability at or above a threshold adds evidence to a
    signal the rules found, or adds a whole-message signal where they found none.
    """

    enabled: bool = True
    #: offensive probability at or above which a message aimed at the agent ("you", "your")
    #: counts as an insult (an insult makes the message abusive and starts the protocol)
    insult_threshold: Weight = 0.95
    #: offensive probability at or above which a message counts as venting
    venting_threshold: Weight = 0.8
    #: the share of the model's anger reading in the message's anger score
    anger_weight: Weight = 0.6


class EngineSettings(Settings):
    """Everything the engine needs from a playbook."""

    detectors: dict[str, DetectorSettings]
    rules: dict[str, RuleSettings]
    credits: dict[str, CreditSettings] = Field(default_factory=dict)
    anger: AngerSettings = Field(default_factory=AngerSettings)
    abuse: AbuseSettings = Field(default_factory=AbuseSettings)
    upset: UpsetSettings = Field(default_factory=UpsetSettings)
    limits: Limits = Field(default_factory=Limits)
    models: ModelSettings = Field(default_factory=ModelSettings)
