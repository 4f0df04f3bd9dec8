"""The playbook's `relent:` section: the economics of standing firm, bargaining or granting (E1-E3).

Every figure the relent advice uses is here, so a team can put in its own margins, churn rates
and the cost of a bad review. docs/coach.md#relent-advice explains each with a worked example.
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from calmline.core.settings import Settings, Weight

#: The options, firmest first (ties go to the firmer one, E3).
OPTIONS = ("stand_firm", "bargain", "grant")
#: The risks that raise the odds of losing the customer or a public complaint.
RISKS = ("churn", "public", "legal", "promised")


class Odds(Settings):
    """How likely an outcome is after one option, with no risk present."""

    #: the probability (0-1) that the customer leaves
    churn: Weight
    #: the probability (0-1) that the customer complains publicly (friends, reviews, posts)
    public: Weight


class OptionOdds(Settings):
    """The odds after each option, with no risk present."""

    stand_firm: Odds = Field(default_factory=lambda: Odds(churn=0.25, public=0.10))
    bargain: Odds = Field(default_factory=lambda: Odds(churn=0.08, public=0.03))
    grant: Odds = Field(default_factory=lambda: Odds(churn=0.04, public=0.01))

    @model_validator(mode="after")
    def _firmer_is_riskier(self) -> OptionOdds:
        for outcome in ("churn", "public"):
            firm, middle, soft = (getattr(getattr(self, o), outcome) for o in OPTIONS)
            if not firm >= middle >= soft:
                raise ValueError(
                    f"{outcome}: expected stand_firm >= bargain >= grant (giving the customer "
                    f"more should not make them likelier to leave or complain), got "
                    f"{firm:g}, {middle:g}, {soft:g}"
                )
        return self


class RiskFactor(Settings):
    """How much one risk multiplies the odds when the customer's demand is left wholly unmet."""

    #: at least 1: a risk never makes losing the customer less likely
    churn: float = Field(default=1.0, ge=1, le=100)
    #: at least 1: a risk never makes a public complaint less likely
    public: float = Field(default=1.0, ge=1, le=100)


class RiskFactors(Settings):
    """One factor pair per risk; a factor applies in full when standing firm, not at all when
    granting, and to a bargain in proportion to the part of the gap it leaves unmet."""

    #: threat.churn: the customer says they will leave
    churn: RiskFactor = Field(default_factory=lambda: RiskFactor(churn=2.5, public=1.2))
    #: threat.public: the customer says they will complain publicly
    public: RiskFactor = Field(default_factory=lambda: RiskFactor(churn=1.3, public=4.0))
    #: threat.legal: the customer mentions lawyers, a court or an ombudsman
    legal: RiskFactor = Field(default_factory=lambda: RiskFactor(churn=1.8, public=2.0))
    #: the company itself caused the expectation (told "covered" at first contact)
    promised: RiskFactor = Field(default_factory=lambda: RiskFactor(churn=1.8, public=1.5))


class WordOfMouth(Settings):
    """What a public complaint costs: the people it reaches times the cost of each."""

    #: business lost per person who hears the complaint, in the playbook's currency
    cost_per_person: float = Field(default=4.0, ge=0, le=1_000_000)
    #: people an unhappy customer tells anyway (friends, family, colleagues)
    friends: float = Field(default=10.0, ge=0, le=1_000_000)
    #: the share (0-1) of a public audience (followers) a complaint reaches
    audience_reach: Weight = 0.02


class RoundingTier(Settings):
    """Figures below ``up_to`` are rounded to a multiple of ``to`` (no ``up_to``: any figure)."""

    up_to: float | None = Field(default=None, gt=0)
    to: float = Field(gt=0, le=1_000_000)


def _default_rounding() -> list[RoundingTier]:
    return [
        RoundingTier(up_to=100, to=1),
        RoundingTier(up_to=1000, to=5),
        RoundingTier(up_to=10000, to=10),
        RoundingTier(to=50),
    ]


class RelentSettings(Settings):
    """Whether to stand firm, bargain or grant (E1-E3), from the expected cost of each.

    Expected cost of an option = the concession (what it pays beyond the policy)
    + P(churn) x the customer's lifetime value + P(public complaint) x the word-of-mouth cost.
    """

    #: the currency of amounts given without one (an ISO code: GBP, USD, EUR ...)
    currency: str = Field(default="GBP", pattern=r"^[A-Z]{3}$")
    #: the share (0-1) of a customer's spend the business keeps (1 counts the whole spend)
    margin: Weight = 0.3
    #: years of future business a new customer is worth
    horizon_years: float = Field(default=2.0, ge=0, le=100)
    #: years added to that horizon for each year the customer has already stayed
    horizon_years_per_tenure_year: float = Field(default=0.5, ge=0, le=10)
    #: the longest horizon, however long the customer has stayed
    max_horizon_years: float = Field(default=10.0, ge=0, le=100)
    #: the odds after each option, with no risk present
    odds: OptionOdds = Field(default_factory=OptionOdds)
    #: how each risk multiplies those odds
    risks: RiskFactors = Field(default_factory=RiskFactors)
    #: no probability is raised above this
    max_probability: Weight = 0.95
    #: what a public complaint costs
    word_of_mouth: WordOfMouth = Field(default_factory=WordOfMouth)
    #: E1: the share (0-1, exclusive) of the gap between the policy and the demand that a
    #: bargain offers on top of the policy
    bargain_step: float = Field(default=0.5, gt=0, lt=1)
    #: how the bargain figure is rounded (up, in the customer's favour), by size
    rounding: list[RoundingTier] = Field(default_factory=_default_rounding, min_length=1)
    #: E3: options whose expected costs are within this much of the cheapest count as tied,
    #: and the firmest of them is advised
    tie_margin: float = Field(default=1.0, ge=0, le=1_000_000)
    #: the reason given in the suggested wording when none is given with the request
    default_reason: str = Field(
        default="that is the limit set out in the terms you signed up to",
        min_length=3,
        max_length=300,
    )

    @field_validator("rounding")
    @classmethod
    def _tiers_in_order(cls, value: list[RoundingTier]) -> list[RoundingTier]:
        bounds = [t.up_to for t in value]
        if bounds[-1] is not None:
            raise ValueError("the last tier must have no up_to, so it covers any figure")
        if None in bounds[:-1]:
            raise ValueError("only the last tier may leave out up_to")
        limits = [b for b in bounds if b is not None]
        if limits != sorted(set(limits)):
            raise ValueError(f"up_to must grow from tier to tier, got {limits}")
        return value

    @model_validator(mode="after")
    def _horizon(self) -> RelentSettings:
        if self.max_horizon_years < self.horizon_years:
            raise ValueError(
                f"max_horizon_years ({self.max_horizon_years:g}) is below horizon_years "
                f"({self.horizon_years:g})"
            )
        return self

    def rounding_unit(self, figure: float) -> float:
        """The multiple a figure of this size is rounded to."""
        for tier in self.rounding:
            if tier.up_to is None or figure < tier.up_to:
                return tier.to
        return self.rounding[-1].to
