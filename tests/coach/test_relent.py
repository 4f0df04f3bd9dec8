"""Relent advice (E1-E3): the cases in tests/cases/relent/*.yml, the numbers, the wording and
what bad input gets."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from calmline import Engine, Role, Severity, Turn, load_engine, load_playbook
from calmline.coach.relent import (
    BARGAIN,
    GRANT,
    STAND_FIRM,
    Figure,
    RelentAdvice,
    RelentRequest,
    advise_relent,
    bargain_figure,
    money_text,
)
from calmline.errors import InputError, PlaybookError
from calmline.playbook.relent import OPTIONS, RelentSettings
from tests.caseload import CASES

DOCS = Path(__file__).parent.parent.parent / "docs"
#: A customer message the wording is checked against when a case gives none.
UPSET = "I was told this was covered! This is a joke and I want every penny back."


def _cases() -> list[Any]:
    return [
        pytest.param(yaml.safe_load(path.read_text(encoding="utf-8")), id=path.stem)
        for path in sorted((CASES / "relent").glob("*.yml"))
    ]


def _settings(engine: Engine, overrides: dict[str, Any]) -> RelentSettings:
    base = engine.settings.relent  # type: ignore[attr-defined]
    return RelentSettings.model_validate({**base.model_dump(), **overrides})


def _request(engine: Engine, inputs: dict[str, Any]) -> RelentRequest:
    common: dict[str, Any] = {
        "policy": Figure.parse(str(inputs["policy"])),
        "claim": inputs.get("claim"),
        "annual_spend": inputs.get("annual_spend", 0.0),
        "tenure_years": inputs.get("tenure_years", 0.0),
        "audience": inputs.get("audience", 0),
        "promised": inputs.get("promised", False),
        "reason": inputs.get("reason"),
    }
    if "message" in inputs:
        analysis = engine.analyze_message(inputs["message"])
        return RelentRequest.from_message(analysis, **common)
    return RelentRequest(
        demand=Figure.parse(str(inputs["demand"])),
        threats=frozenset(inputs.get("threats", ())),
        **common,
    )


def _assert_wording_is_clean(engine: Engine, advice: RelentAdvice, message: str, name: Any) -> None:
    for line in (advice.wording, *advice.alternatives):
        assert line and "{" not in line, line
        for context in ([], [Turn(Role.CUSTOMER, message)]):
            check = engine.check_reply(line, context, customer_name=name)
            bad = [(f.rule, f.text) for f in check.findings if f.severity is not Severity.INFO]
            assert not bad, f"{line!r} gets {bad}"


@pytest.mark.parametrize("case", _cases())
def test_relent_case(engine: Engine, case: dict[str, Any]) -> None:
    inputs, expect = case["inputs"], case["expect"]
    request = _request(engine, inputs)
    settings = _settings(engine, case.get("settings", {}))
    advice = advise_relent(request, settings, engine=engine, customer_name=inputs.get("name"))
    shown = "\n".join(advice.reasoning)
    assert advice.recommendation == expect["recommendation"], shown
    assert advice.figure == pytest.approx(expect["figure"]), shown
    assert advice.principle == {STAND_FIRM: "E3", BARGAIN: "E1", GRANT: "E2"}[advice.recommendation]
    for option, cost in expect.get("costs", {}).items():
        found = advice.option(option)
        assert found is not None and found.expected_cost == pytest.approx(cost, abs=0.005)
    if "threats" in expect:
        assert sorted(request.threats) == expect["threats"]
    if "demand" in expect:
        assert advice.demand == pytest.approx(expect["demand"])
    # The figure is said in the wording, and the wording follows the playbook (C3 and the rest).
    assert money_text(advice.figure, advice.currency) in advice.wording or advice.figure == 0
    if inputs.get("name"):
        assert inputs["name"] in advice.wording
    _assert_wording_is_clean(engine, advice, inputs.get("message", UPSET), inputs.get("name"))
    # A team lead can follow the sum for every option.
    for o in advice.options:
        assert money_text(o.expected_cost, advice.currency) in shown


def _advice(**changes: Any) -> RelentAdvice:
    fields: dict[str, Any] = {
        "demand": Figure(percent=100),
        "policy": Figure(percent=50),
        "claim": 640.0,
        "annual_spend": 950.0,
        "tenure_years": 6.0,
    }
    fields.update(changes)
    return advise_relent(RelentRequest(**fields))


def test_every_option_is_costed_by_the_formula() -> None:
    advice = _advice(threats=frozenset({"public"}), audience=5000, promised=True)
    assert [o.option for o in advice.options] == list(OPTIONS)
    cfg = load_playbook().relent
    reach = cfg.word_of_mouth.friends + 5000 * cfg.word_of_mouth.audience_reach
    assert advice.word_of_mouth_cost == pytest.approx(reach * cfg.word_of_mouth.cost_per_person)
    horizon = cfg.horizon_years + cfg.horizon_years_per_tenure_year * 6
    assert advice.lifetime_value == pytest.approx(950 * cfg.margin * horizon)
    stand = advice.option(STAND_FIRM)
    assert stand is not None and stand.concession == 0 and stand.payout == 320
    # Standing firm leaves the whole gap unmet: both risks apply in full.
    churn = cfg.odds.stand_firm.churn * cfg.risks.public.churn * cfg.risks.promised.churn
    assert stand.churn_probability == pytest.approx(min(cfg.max_probability, churn))
    grant = advice.option(GRANT)
    assert grant is not None and grant.concession == 320
    assert grant.churn_probability == pytest.approx(cfg.odds.grant.churn)
    for o in advice.options:
        assert o.expected_cost == pytest.approx(
            o.concession
            + o.churn_probability * advice.lifetime_value
            + o.public_probability * advice.word_of_mouth_cost
        )


def test_cheapest_wins_and_a_tie_goes_to_the_firmer_option() -> None:
    advice = _advice()
    costs = {o.option: o.expected_cost for o in advice.options}
    assert advice.recommendation == min(costs, key=costs.__getitem__)
    gap = sorted(costs.values())[1] - min(costs.values())
    loose = load_playbook().relent.model_copy(update={"tie_margin": gap + 0.01})
    firmer = advise_relent(
        RelentRequest(Figure(percent=100), Figure(percent=50), 640.0, 950.0, 6.0), loose
    )
    assert OPTIONS.index(firmer.recommendation) < OPTIONS.index(advice.recommendation)
    assert "ties go to the firmer option (E3)" in firmer.reasoning[-1]


def test_a_policy_that_covers_the_demand_is_granted_without_options() -> None:
    advice = _advice(demand=Figure(amount=320))
    assert advice.recommendation == GRANT and [o.option for o in advice.options] == [GRANT]
    assert advice.option(GRANT) is not None and advice.figure == 320


def test_no_bargain_when_the_gap_is_too_small() -> None:
    advice = _advice(demand=Figure(amount=10.0), policy=Figure(amount=9.99), claim=None)
    assert BARGAIN not in [o.option for o in advice.options]
    assert any("No bargain" in line for line in advice.reasoning)


@pytest.mark.parametrize(
    ("policy", "demand", "figure"),
    [
        (320, 640, 480),  # halfway, already a multiple of 5
        (0, 89, 45),  # 44.5 rounded up to a whole pound
        (20, 300, 160),
        (50, 150, 100),
        (1000, 2317, 1660),  # 1658.5 up to a multiple of 10
        (9.5, 10, 9.75),  # no whole pound in between: the exact figure
        (9.99, 10, None),  # nothing in between
        (99, 100, 99.5),  # whole pounds would reach the policy or the demand
    ],
)
def test_bargain_figure_is_between_rounded_up(
    policy: float, demand: float, figure: float | None
) -> None:
    found = bargain_figure(policy, demand, load_playbook().relent)
    assert found == (pytest.approx(figure) if figure is not None else None)


def test_settings_change_the_bargain_step_and_rounding(tmp_path: Path) -> None:
    team = tmp_path / "team.yaml"
    team.write_text(
        "relent:\n  bargain_step: 0.25\n  rounding:\n    - {to: 20}\n", encoding="utf-8"
    )
    cfg = load_playbook(team).relent
    assert bargain_figure(320, 640, cfg) == 400
    assert cfg.margin == 0.3  # the rest of the default section is kept


@pytest.mark.parametrize(
    ("yaml_text", "where"),
    [
        ("relent:\n  odds:\n    grant: {churn: 0.5}\n", r"relent.odds: .*stand_firm >= bargain"),
        ("relent:\n  bargain_step: 1\n", r"team.yaml:2: relent.bargain_step"),
        ("relent:\n  rounding:\n    - {up_to: 10, to: 1}\n", r"relent.rounding: .*last tier"),
        ("relent:\n  risks:\n    public: {churn: 0.5}\n", r"relent.risks.public.churn"),
        ("relent:\n  margin: 1.5\n", r"team.yaml:2: relent.margin"),
        ("relent:\n  currency: pounds\n", r"relent.currency"),
        ("relent:\n  word_of_mouth:\n    cost: 3\n", r"word_of_mouth.cost: unknown key"),
    ],
)
def test_bad_relent_settings_name_file_and_key(tmp_path: Path, yaml_text: str, where: str) -> None:
    team = tmp_path / "team.yaml"
    team.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(PlaybookError, match=where):
        load_playbook(team)


# ----- inputs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "figure"),
    [
        ("100%", Figure(percent=100)),
        ("50 %", Figure(percent=50)),
        ("12.5%", Figure(percent=12.5)),
        ("£480", Figure(amount=480, currency="GBP")),
        ("$1,200.50", Figure(amount=1200.5, currency="USD")),
        ("480", Figure(amount=480)),
        ("0", Figure(amount=0)),
    ],
)
def test_figure_parse(text: str, figure: Figure) -> None:
    assert Figure.parse(text) == figure


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("150%", "150% is over 100%"),
        ("-20", "is not an amount"),
        ("£50%", "both an amount and a percent"),
        ("lots", "is not an amount"),
        ("", "is not an amount"),
    ],
)
def test_figure_parse_errors_say_what_and_where(text: str, message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)) as exc:
        Figure.parse(text, "--demand")
    assert exc.value.message.startswith("--demand: ")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"policy": Figure(amount=700)}, "policy (700) is above the demand (640)"),
        ({"claim": None}, "the demand is given as 100%: give the claim value"),
        ({"annual_spend": -1.0}, "annual spend: cannot be negative"),
        ({"tenure_years": math.nan}, "tenure: expected a finite number"),
        ({"claim": 0.0}, "claim: must be more than 0"),
        ({"threats": frozenset({"violence"})}, "threat: 'violence' is not one of"),
        ({"threats": "public"}, "not one string"),
        ({"audience": -5}, "audience: cannot be negative"),
        ({"audience": 2.5}, "audience: expected a whole number"),
        ({"currency": "pounds"}, "currency: expected an ISO code"),
        ({"demand": Figure(percent=0)}, "the customer asks for nothing"),
    ],
)
def test_bad_requests_are_refused_with_a_clear_message(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        _advice(**changes)


def test_from_message_reads_demand_threats_and_currency(engine: Engine) -> None:
    analysis = engine.analyze_message("Give me 50% of the $120 back or I will sue you.")
    request = RelentRequest.from_message(analysis, policy=Figure(amount=30))
    assert request.amounts() == (120, 60, 30)
    assert request.currency == "USD" and request.threats == {"threat.legal"}
    advice = advise_relent(request, engine=engine)
    assert advice.wording.count("$") >= 1 and "£" not in advice.wording


def test_currency_comes_from_the_figures_and_must_agree() -> None:
    request = RelentRequest(Figure.parse("€90"), Figure.parse("30"))
    assert request.currency == "EUR"
    assert advise_relent(request).wording.count("€") >= 1
    with pytest.raises(InputError, match="currencies differ: the demand is in EUR, the policy"):
        RelentRequest(Figure.parse("€90"), Figure.parse("£30"))
    with pytest.raises(InputError, match="the request in GBP"):
        RelentRequest(Figure.parse("€90"), Figure.parse("30"), currency="GBP")


def test_from_message_takes_an_amount_that_already_is_the_share_as_the_demand(
    engine: Engine,
) -> None:
    text = "I want half my money back, that is $60 of the $120, or I will sue you."
    analysis = engine.analyze_message(text)
    with_claim = RelentRequest.from_message(analysis, policy=Figure(amount=30), claim=120)
    assert with_claim.amounts() == (120, 60, 30)


def test_from_message_without_a_demand_needs_one_given(engine: Engine) -> None:
    analysis = engine.analyze_message("This is the third time I have called, it is a joke!")
    with pytest.raises(InputError, match="states no demand; give the demand"):
        RelentRequest.from_message(analysis, policy=Figure(amount=30))
    given_demand = RelentRequest.from_message(
        analysis, policy=Figure(amount=30), demand=Figure(amount=90), extra_threats=["churn"]
    )
    assert given_demand.amounts() == (90, 90, 30) and given_demand.threats == {"threat.churn"}


def test_the_wording_uses_the_engines_scripts_and_the_reason(tmp_path: Path) -> None:
    team = tmp_path / "team.yaml"
    team.write_text(
        "scripts:\n  grant:\n"
        '    - "{name_comma}I am sorry. We will refund the full {offer} today."\n'
        '    - "I apologise{comma_name}. The full {offer} is on its way back to you today."\n',
        encoding="utf-8",
    )
    team_engine = load_engine(team)
    advice = advise_relent(
        RelentRequest(Figure(amount=150), Figure(amount=50), annual_spend=3000, tenure_years=12),
        engine=team_engine,
        customer_name="Sam",
    )
    assert advice.recommendation == GRANT
    assert advice.wording == "Sam, I am sorry. We will refund the full £150 today."
    firm = advise_relent(
        RelentRequest(Figure(amount=89), Figure(amount=0), reason="it was bought in March."),
    )
    assert firm.recommendation == STAND_FIRM
    assert "because it was bought in March" in firm.wording + " ".join(firm.alternatives)
    assert "nothing towards the £89" in firm.wording


def test_advice_is_json_ready() -> None:
    data = _advice().to_dict()
    assert data["recommendation"] in OPTIONS and data["currency"] == "GBP"
    assert [o["option"] for o in data["options"]] == list(OPTIONS)
    assert isinstance(data["reasoning"], list) and data["wording"]
    yaml.safe_dump(data)  # plain types only


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (480, "GBP", "£480"),
        (44.5, "GBP", "£44.50"),
        (1897.5, "USD", "$1,897.50"),
        (35, "CHF", "CHF 35"),
    ],
)
def test_money_text(amount: float, currency: str, shown: str) -> None:
    assert money_text(amount, currency) == shown


# ----- what a user relies on: more value never makes the advice firmer ------------------------

VALUES = st.floats(min_value=0, max_value=50_000, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(
    policy=st.floats(min_value=0, max_value=500),
    gap=st.floats(min_value=0.5, max_value=2000),
    spend=VALUES,
    more=VALUES,
    tenure=st.floats(min_value=0, max_value=30),
    audience=st.integers(min_value=0, max_value=1_000_000),
    extra_audience=st.integers(min_value=0, max_value=1_000_000),
    threats=st.sets(st.sampled_from(["churn", "public", "legal"])),
    promised=st.booleans(),
)
def test_a_more_valuable_or_more_visible_customer_never_gets_firmer_advice(
    policy: float,
    gap: float,
    spend: float,
    more: float,
    tenure: float,
    audience: int,
    extra_audience: int,
    threats: set[str],
    promised: bool,
) -> None:
    def advice(spend: float, audience: int) -> str:
        request = RelentRequest(
            Figure(amount=policy + gap),
            Figure(amount=policy),
            annual_spend=spend,
            tenure_years=tenure,
            threats=frozenset(threats),
            audience=audience,
            promised=promised,
        )
        return advise_relent(request).recommendation

    base = OPTIONS.index(advice(spend, audience))
    assert OPTIONS.index(advice(spend + more, audience)) >= base
    assert OPTIONS.index(advice(spend, audience + extra_audience)) >= base


# ----- the worked example in the docs is what calmline says -----------------------------------


def test_the_worked_insurance_example_in_the_docs_is_current(engine: Engine) -> None:
    case = yaml.safe_load((CASES / "relent" / "insurance_meal_costs.yml").read_text("utf-8"))
    inputs = case["inputs"]
    advice = advise_relent(_request(engine, inputs), customer_name=inputs["name"])
    docs = (DOCS / "coach.md").read_text(encoding="utf-8")
    for line in advice.reasoning:
        assert line in docs, f"docs/coach.md does not show: {line}"
    assert advice.wording in docs
