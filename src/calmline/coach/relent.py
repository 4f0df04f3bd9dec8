"""Relent advice (E1-E3): stand firm, bargain or grant, whichever is expected to cost least.

Each option pays the customer something (the policy, a bargain between the policy and the
demand, or the demand) and leaves some risk behind::

    expected cost = concession                       what it pays beyond the policy
                  + P(churn | option) x lifetime value
                  + P(public complaint | option) x word-of-mouth cost

The odds of each option come from the playbook (``relent.odds``); each risk present (a threat
to leave, to go public or to go to law, or an expectation the company caused itself) multiplies
them by its factor in full when standing firm, not at all when granting, and in proportion to
the part of the gap a bargain leaves unmet. The cheapest option is advised; options within
``relent.tie_margin`` of it count as tied and the firmest of them wins (E3: relent where it
protects the relationship, not everywhere). The suggested wording is rendered from the
playbook's scripts and follows C3 (the figure, a reason and an apology).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from calmline.core.analyzer import Engine
from calmline.core.rule import name_slots, render
from calmline.core.types import MessageAnalysis
from calmline.engine import default_engine
from calmline.errors import InputError
from calmline.playbook.relent import OPTIONS, RelentSettings
from calmline.playbook.schema import Playbook

STAND_FIRM, BARGAIN, GRANT = OPTIONS
#: The principle each option follows.
PRINCIPLES = {STAND_FIRM: "E3", BARGAIN: "E1", GRANT: "E2"}
#: Threat signals that change the odds, and the risk factor each one reads.
THREATS = {"threat.churn": "churn", "threat.public": "public", "threat.legal": "legal"}
_SYMBOLS = {"GBP": "£", "USD": "$", "EUR": "€"}
_CURRENCIES = {symbol: code for code, symbol in _SYMBOLS.items()}
_FIGURE_RE = re.compile(
    r"^\s*(?P<sign>[£$€])?\s*(?P<number>\d{1,12}(?:,\d{3})*(?:\.\d{1,2})?|\d*\.\d{1,2})"
    r"\s*(?P<percent>%)?\s*$"
)
#: Largest amount accepted (anything bigger is a typing mistake, not a claim).
MAX_AMOUNT = 1e12


# ----- inputs -------------------------------------------------------------------------------


def _number(value: object, where: str, *, limit: float = MAX_AMOUNT) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{where}: expected a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise InputError(f"{where}: expected a finite number, got {value!r}")
    if number < 0:
        raise InputError(f"{where}: cannot be negative (got {number:g})")
    if number > limit:
        raise InputError(f"{where}: {number:g} is more than the largest accepted, {limit:g}")
    return number


@dataclass(frozen=True, slots=True)
class Figure:
    """An amount of money, or a share (percent) of the claim."""

    amount: float | None = None
    percent: float | None = None
    #: the currency an amount was written in ("£480": GBP), when it was
    currency: str | None = None

    def __post_init__(self) -> None:
        if (self.amount is None) == (self.percent is None):
            raise InputError("a figure is either an amount or a percent, exactly one of them")
        if self.amount is not None:
            object.__setattr__(self, "amount", _number(self.amount, "amount"))
        if self.percent is not None:
            percent = _number(self.percent, "percent", limit=math.inf)
            if percent > 100:
                raise InputError(f"percent: {percent:g}% is over 100%")
            object.__setattr__(self, "percent", percent)

    @classmethod
    def parse(cls, text: str, where: str = "figure") -> Figure:
        """'100%', '50 %', '£480', '1,200.50' or '480' (an amount in the playbook currency)."""
        m = _FIGURE_RE.match(text) if isinstance(text, str) else None
        if m is None:
            raise InputError(
                f"{where}: {text!r} is not an amount (like 480 or £480) or a percent (like 50%)"
            )
        if m.group("sign") and m.group("percent"):
            raise InputError(f"{where}: {text!r} is both an amount and a percent; give one")
        number = float(m.group("number").replace(",", ""))
        sign = m.group("sign")
        try:
            if m.group("percent"):
                return cls(percent=number)
            return cls(amount=number, currency=_CURRENCIES[sign] if sign else None)
        except InputError as exc:
            raise InputError(f"{where}: {exc.message}") from None

    def money(self, claim: float | None, where: str) -> float:
        if self.amount is not None:
            return self.amount
        if claim is None:
            raise InputError(
                f"{where} is given as {self.percent:g}%: give the claim value too, so it can "
                "be turned into money"
            )
        return claim * (self.percent or 0.0) / 100

    def to_dict(self) -> dict[str, Any]:
        if self.percent is not None:
            return {"percent": self.percent}
        out: dict[str, Any] = {"amount": self.amount}
        if self.currency is not None:
            out["currency"] = self.currency
        return out


def _threat_name(raw: object) -> str:
    name = str(raw).strip().lower()
    full = name if name.startswith("threat.") else f"threat.{name}"
    if full not in THREATS:
        known = ", ".join(t.split(".", 1)[1] for t in THREATS)
        raise InputError(f"threat: {raw!r} is not one of {known}")
    return full


@dataclass(frozen=True, slots=True)
class RelentRequest:
    """What is at stake: the demand, what the policy allows, the customer and the risks."""

    #: what the customer asks for: an amount, or a percent of the claim
    demand: Figure
    #: what the policy allows: an amount, or a percent of the claim
    policy: Figure
    #: the amount at stake (the receipts, the price paid); needed when a figure is a percent
    claim: float | None = None
    #: what the customer spends with the company in a year
    annual_spend: float = 0.0
    #: how many years they have been a customer
    tenure_years: float = 0.0
    #: threat signal types present: threat.churn, threat.public, threat.legal ("public" is
    #: accepted for "threat.public")
    threats: frozenset[str] = field(default_factory=frozenset)
    #: people who would see a public complaint (followers), if known
    audience: int = 0
    #: the company itself caused the expectation (told "covered" at first contact)
    promised: bool = False
    #: an ISO currency code; the playbook's when not given
    currency: str | None = None
    #: why the policy says what it says, for the wording ("the policy pays half ...")
    reason: str | None = None

    def __post_init__(self) -> None:
        for name in ("demand", "policy"):
            if not isinstance(getattr(self, name), Figure):
                raise InputError(f"{name}: expected a Figure (an amount or a percent)")
        if self.claim is not None:
            object.__setattr__(self, "claim", _number(self.claim, "claim"))
            if self.claim == 0:
                raise InputError("claim: must be more than 0")
        object.__setattr__(self, "annual_spend", _number(self.annual_spend, "annual spend"))
        object.__setattr__(self, "tenure_years", _number(self.tenure_years, "tenure", limit=200))
        if isinstance(self.audience, bool) or not isinstance(self.audience, int):
            raise InputError(f"audience: expected a whole number of people, got {self.audience!r}")
        _number(self.audience, "audience", limit=10_000_000_000)
        if isinstance(self.threats, str):
            raise InputError("threats: expected a collection of threat types, not one string")
        object.__setattr__(self, "threats", frozenset(_threat_name(t) for t in self.threats))
        if self.currency is not None and not re.fullmatch(r"[A-Z]{3}", str(self.currency)):
            raise InputError(f"currency: expected an ISO code such as GBP, got {self.currency!r}")
        written = {
            name: fig.currency
            for name, fig in (("the demand", self.demand), ("the policy", self.policy))
            if fig.currency is not None
        }
        codes = set(written.values()) | ({self.currency} if self.currency else set())
        if len(codes) > 1:
            said = ", ".join(f"{name} is in {code}" for name, code in written.items())
            also = f", the request in {self.currency}" if self.currency else ""
            raise InputError(f"currencies differ: {said}{also}; give every amount in one")
        if codes:
            object.__setattr__(self, "currency", codes.pop())
        if self.reason is not None and not (
            isinstance(self.reason, str) and 0 < len(self.reason.strip()) <= 300
        ):
            raise InputError("reason: expected a short sentence (1-300 characters)")
        demand, policy = self.amounts()[1:]
        if demand == 0:
            raise InputError("demand: the customer asks for nothing (0)")
        if policy > demand:
            raise InputError(
                f"policy ({policy:g}) is above the demand ({demand:g}): the customer already "
                "gets more than they ask for, there is nothing to decide"
            )

    def amounts(self) -> tuple[float, float, float]:
        """(claim, demand, policy) in money; the claim is the demand when not given."""
        demand = self.demand.money(self.claim, "the demand")
        policy = self.policy.money(self.claim, "the policy")
        return (self.claim if self.claim is not None else demand), demand, policy

    @classmethod
    def from_message(
        cls,
        analysis: MessageAnalysis,
        *,
        policy: Figure,
        demand: Figure | None = None,
        claim: float | None = None,
        annual_spend: float = 0.0,
        tenure_years: float = 0.0,
        audience: int = 0,
        promised: bool = False,
        currency: str | None = None,
        reason: str | None = None,
        extra_threats: Iterable[str] = (),
    ) -> RelentRequest:
        """A request with the demand and the threats read from a customer message.

        The demand is the message's strongest ``demand`` signal that states an amount or a
        share. With both, the amount is the claim and the demand is that share of it ("50% of
        the £120 back": £60 of a £120 claim), unless a claim is given and the amount already
        is that share of it. A ``demand`` given here overrides the message. Threat signals
        (churn, public, legal) are added to ``extra_threats``.
        """
        signals = [s for s in analysis.of_type("demand") if s.type == "demand"]
        measured = [
            s
            for s in signals
            if s.detail.get("amount") is not None or s.detail.get("percent") is not None
        ]
        if demand is None:
            if not measured:
                said = "states no demand" if not signals else "states no amount or share"
                raise InputError(
                    f"the customer message {said}; give the demand (an amount or a percent)"
                )
            best = max(measured, key=lambda s: (s.detail.get("amount") is not None, s.score))
            amount, percent = best.detail.get("amount"), best.detail.get("percent")
            if amount is not None and percent is not None:
                # "a full refund of £120", "50% of the £120 back": a share of that amount,
                # unless the amount already is that share of the claim given
                share = Figure(percent=float(percent)).percent or 0.0
                amount = float(amount)
                if claim is None or not math.isclose(amount, claim * share / 100, abs_tol=0.005):
                    claim = amount if claim is None else claim
                    amount = amount * share / 100
                demand = Figure(amount=amount)
            elif amount is not None:
                demand = Figure(amount=float(amount))
            else:
                demand = Figure(percent=float(percent or 0.0))
            if currency is None and best.detail.get("currency"):
                currency = str(best.detail["currency"])
        threats = {s.type for s in analysis.signals if s.type in THREATS}
        threats.update(_threat_name(t) for t in extra_threats)
        return cls(
            demand=demand,
            policy=policy,
            claim=claim,
            annual_spend=annual_spend,
            tenure_years=tenure_years,
            threats=frozenset(threats),
            audience=audience,
            promised=promised,
            currency=currency,
            reason=reason,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "demand": self.demand.to_dict(),
            "policy": self.policy.to_dict(),
            "claim": self.claim,
            "annual_spend": self.annual_spend,
            "tenure_years": self.tenure_years,
            "threats": sorted(self.threats),
            "audience": self.audience,
            "promised": self.promised,
            "currency": self.currency,
            "reason": self.reason,
        }


# ----- outputs ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RelentOption:
    """One option with what it pays and what it is expected to cost."""

    #: stand_firm, bargain or grant
    option: str
    #: what the customer receives
    payout: float
    #: what that is beyond the policy
    concession: float
    churn_probability: float
    #: churn_probability x the customer's lifetime value
    churn_cost: float
    public_probability: float
    #: public_probability x the word-of-mouth cost
    public_cost: float
    #: concession + churn_cost + public_cost
    expected_cost: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "option": self.option,
            "payout": round(self.payout, 2),
            "concession": round(self.concession, 2),
            "churn_probability": round(self.churn_probability, 4),
            "churn_cost": round(self.churn_cost, 2),
            "public_probability": round(self.public_probability, 4),
            "public_cost": round(self.public_cost, 2),
            "expected_cost": round(self.expected_cost, 2),
        }


@dataclass(frozen=True, slots=True)
class RelentAdvice:
    """What to do about a demand, the numbers behind it, and words to say it with."""

    #: stand_firm, bargain or grant
    recommendation: str
    #: E3 (stand firm, with C3's reason and apology), E1 (bargain) or E2 (grant)
    principle: str
    #: what the customer is offered
    figure: float
    currency: str
    claim: float
    demand: float
    policy: float
    #: the customer's future profit over the horizon
    lifetime_value: float
    #: what a public complaint would cost
    word_of_mouth_cost: float
    #: every option that was open, firmest first
    options: tuple[RelentOption, ...]
    #: short lines a team lead can read
    reasoning: tuple[str, ...]
    #: the suggested reply
    wording: str
    #: other ways to say it (the playbook's other variants)
    alternatives: tuple[str, ...] = ()

    def option(self, name: str) -> RelentOption | None:
        return next((o for o in self.options if o.option == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "recommendation": self.recommendation,
            "principle": self.principle,
            "figure": round(self.figure, 2),
            "currency": self.currency,
            "claim": round(self.claim, 2),
            "demand": round(self.demand, 2),
            "policy": round(self.policy, 2),
            "lifetime_value": round(self.lifetime_value, 2),
            "word_of_mouth_cost": round(self.word_of_mouth_cost, 2),
            "options": [o.to_dict() for o in self.options],
            "reasoning": list(self.reasoning),
            "wording": self.wording,
            "alternatives": list(self.alternatives),
        }


# ----- the advice ---------------------------------------------------------------------------


def money_text(amount: float, currency: str) -> str:
    """'£480', '£44.50', '$1,200', 'CHF 35' for advice and wording."""
    whole = abs(amount - round(amount)) < 0.005
    number = f"{round(amount):,}" if whole else f"{amount:,.2f}"
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{number}" if symbol else f"{currency} {number}"


def _percent_text(value: float) -> str:
    return f"{round(value, 1):g}%"


def bargain_figure(policy: float, demand: float, settings: RelentSettings) -> float | None:
    """E1: the policy plus ``bargain_step`` of the gap, rounded up to a sensible multiple
    (down when up would reach the demand); None when no rounded figure lies in between."""
    raw = policy + settings.bargain_step * (demand - policy)
    unit = settings.rounding_unit(raw)
    up = math.ceil(round(raw / unit, 9)) * unit
    down = math.floor(round(raw / unit, 9)) * unit
    for figure in (up, down, round(raw, 2)):
        if policy < figure < demand:
            return float(figure)
    return None


def lifetime_value(request: RelentRequest, settings: RelentSettings) -> tuple[float, float]:
    """(the customer's future profit, the horizon in years it is counted over)."""
    horizon = min(
        settings.max_horizon_years,
        settings.horizon_years + settings.horizon_years_per_tenure_year * request.tenure_years,
    )
    return request.annual_spend * settings.margin * horizon, horizon


def word_of_mouth_cost(request: RelentRequest, settings: RelentSettings) -> tuple[float, float]:
    """(what a public complaint costs, the people it reaches)."""
    wom = settings.word_of_mouth
    reach = wom.friends + request.audience * wom.audience_reach
    return reach * wom.cost_per_person, reach


def _risks(request: RelentRequest) -> list[str]:
    risks = [THREATS[t] for t in sorted(request.threats)]
    if request.promised:
        risks.append("promised")
    return risks


def _option(
    name: str,
    payout: float,
    request: RelentRequest,
    settings: RelentSettings,
    amounts: tuple[float, float],
    values: tuple[float, float],
) -> RelentOption:
    demand, policy = amounts
    clv, wom = values
    unmet = (demand - payout) / (demand - policy) if demand > policy else 0.0
    odds = getattr(settings.odds, name)
    churn, public = odds.churn, odds.public
    for risk in _risks(request):
        factor = getattr(settings.risks, risk)
        churn *= 1 + (factor.churn - 1) * unmet
        public *= 1 + (factor.public - 1) * unmet
    churn = min(settings.max_probability, churn)
    public = min(settings.max_probability, public)
    concession = payout - policy
    return RelentOption(
        option=name,
        payout=payout,
        concession=concession,
        churn_probability=churn,
        churn_cost=churn * clv,
        public_probability=public,
        public_cost=public * wom,
        expected_cost=concession + churn * clv + public * wom,
    )


def _choose(options: Sequence[RelentOption], tie_margin: float) -> RelentOption:
    cheapest = min(o.expected_cost for o in options)
    # options are firmest first, so the first one within the margin is the firmest tied one
    return next(o for o in options if o.expected_cost <= cheapest + tie_margin + 1e-9)


def advise_relent(
    request: RelentRequest,
    settings: RelentSettings | None = None,
    *,
    engine: Engine | None = None,
    customer_name: str | None = None,
) -> RelentAdvice:
    """Stand firm, bargain or grant: the cheapest in expected cost, ties to the firmer (E3).

    ``settings`` default to the engine's playbook (the default engine when none is given);
    the wording is rendered from that playbook's scripts, with the customer's name.
    """
    if engine is None:
        engine = default_engine()
    playbook = engine.settings
    if not isinstance(playbook, Playbook):
        raise InputError("relent advice needs an engine built from a playbook (load_engine)")
    if settings is None:
        settings = playbook.relent
    currency = request.currency or settings.currency
    claim, demand, policy = request.amounts()
    clv, horizon = lifetime_value(request, settings)
    wom, reach = word_of_mouth_cost(request, settings)
    amounts, values = (demand, policy), (clv, wom)
    offer = bargain_figure(policy, demand, settings) if demand > policy else None
    if demand > policy:
        payouts = [(STAND_FIRM, policy), (BARGAIN, offer), (GRANT, demand)]
    else:
        payouts = [(GRANT, demand)]
    options = tuple(
        _option(name, payout, request, settings, amounts, values)
        for name, payout in payouts
        if payout is not None
    )
    chosen = _choose(options, settings.tie_margin)
    reasoning = _reasoning(
        request,
        settings,
        options,
        chosen,
        currency,
        (claim, demand, policy),
        (clv, horizon, wom, reach),
    )
    lines = _wording(chosen, request, settings, playbook, currency, (claim, demand, policy))
    slots = name_slots(customer_name)
    rendered = [render(line, {**slots, **fill}) for line, fill in lines]
    return RelentAdvice(
        recommendation=chosen.option,
        principle=PRINCIPLES[chosen.option],
        figure=chosen.payout,
        currency=currency,
        claim=claim,
        demand=demand,
        policy=policy,
        lifetime_value=clv,
        word_of_mouth_cost=wom,
        options=options,
        reasoning=tuple(reasoning),
        wording=rendered[0] if rendered else "",
        alternatives=tuple(rendered[1:]),
    )


# ----- explaining it ------------------------------------------------------------------------

_LABELS = {STAND_FIRM: "Standing firm", BARGAIN: "A bargain", GRANT: "Granting it"}
_RISK_WORDS = {
    "churn": "they say they will leave",
    "public": "they say they will complain publicly",
    "legal": "they mention legal action",
    "promised": "we told them it was covered",
}


def _reasoning(
    request: RelentRequest,
    settings: RelentSettings,
    options: Sequence[RelentOption],
    chosen: RelentOption,
    currency: str,
    amounts: tuple[float, float, float],
    values: tuple[float, float, float, float],
) -> list[str]:
    claim, demand, policy = amounts
    clv, horizon, wom, reach = values

    def m(x: float) -> str:
        return money_text(x, currency)

    if request.claim is None:  # no claim to take shares of: the demand is the claim
        lines = [f"They ask for {m(demand)}; the policy allows {m(policy)}; "]
    else:
        lines = [
            f"They ask for {m(demand)} ({_percent_text(demand / claim * 100)} of {m(claim)}); "
            f"the policy allows {m(policy)} ({_percent_text(policy / claim * 100)}); "
        ]
    lines[0] += f"the gap is {m(demand - policy)}."
    lines.append(
        f"Customer value: {m(request.annual_spend)} a year, a customer for "
        f"{request.tenure_years:g} years: {_percent_text(settings.margin * 100)} margin over "
        f"{horizon:g} more years is {m(clv)}."
    )
    risks = _risks(request)
    if risks:
        described = "; ".join(
            f"{_RISK_WORDS[r]} (churn x{getattr(settings.risks, r).churn:g}, public "
            f"x{getattr(settings.risks, r).public:g})"
            for r in risks
        )
        lines.append(f"Risks: {described}.")
    else:
        lines.append("Risks: no threat, and the expectation was not ours.")
    lines.append(_word_of_mouth_line(request, settings, wom, reach, currency))
    if demand > policy and not any(o.option == BARGAIN for o in options):
        lines.append("No bargain: the gap is too small for a rounded figure in between.")
    for o in options:
        lines.append(
            f"{_LABELS[o.option]} ({m(o.payout)}): {m(o.concession)} conceded"
            f" + {_percent_text(o.churn_probability * 100)} churn x {m(clv)}"
            f" + {_percent_text(o.public_probability * 100)} public complaint x {m(wom)}"
            f" = {m(o.expected_cost)} expected."
        )
    lines.append(_verdict(options, chosen, settings, m))
    return lines


def _word_of_mouth_line(
    request: RelentRequest, settings: RelentSettings, wom: float, reach: float, currency: str
) -> str:
    cfg = settings.word_of_mouth
    audience = (
        f" + {_percent_text(cfg.audience_reach * 100)} of {request.audience:,} followers"
        if request.audience
        else ""
    )
    return (
        f"Word of mouth: {cfg.friends:g} people they tell{audience} = {reach:,.0f} people x "
        f"{money_text(cfg.cost_per_person, currency)} = {money_text(wom, currency)} if they "
        "complain publicly."
    )


def _verdict(
    options: Sequence[RelentOption],
    chosen: RelentOption,
    settings: RelentSettings,
    m: Any,
) -> str:
    if len(options) == 1:
        return "Grant it: the policy already covers what they ask for."
    cheapest = min(options, key=lambda o: o.expected_cost)
    label = _LABELS[chosen.option].lower()
    if cheapest is not chosen:
        return (
            f"Advice: {label}. It is within {m(settings.tie_margin)} of the cheapest "
            f"({_LABELS[cheapest.option].lower()}), and ties go to the firmer option (E3)."
        )
    others = [o for o in options if o is not chosen]
    runner = min(others, key=lambda o: o.expected_cost)
    why = {
        STAND_FIRM: "hold the line, with a reason and an apology (E3, C3)",
        BARGAIN: "meet them part of the way rather than a flat no (E1)",
        GRANT: "the relationship is worth more than the concession (E2)",
    }[chosen.option]
    return (
        f"Advice: {label}, {m(runner.expected_cost - chosen.expected_cost)} cheaper than "
        f"{_LABELS[runner.option].lower()}: {why}."
    )


def _wording(
    chosen: RelentOption,
    request: RelentRequest,
    settings: RelentSettings,
    playbook: Playbook,
    currency: str,
    amounts: tuple[float, float, float],
) -> list[tuple[str, dict[str, str]]]:
    claim, demand, policy = amounts
    scripts = playbook.scripts
    lines = {STAND_FIRM: scripts.bad_news, BARGAIN: scripts.bargain, GRANT: scripts.grant}[
        chosen.option
    ]
    if policy > 0 and request.policy.percent is not None:
        policy_text = (
            f"{money_text(policy, currency)} ({_percent_text(request.policy.percent)} of "
            f"{money_text(claim, currency)})"
        )
    elif policy > 0:
        policy_text = money_text(policy, currency)
    else:
        policy_text = f"nothing towards the {money_text(claim, currency)}"
    fill = {
        "policy": policy_text,
        "reason": (request.reason or settings.default_reason).strip().rstrip("."),
        "offer": money_text(chosen.payout, currency),
        "amount": money_text(demand, currency),
    }
    return [(line, fill) for line in lines]
