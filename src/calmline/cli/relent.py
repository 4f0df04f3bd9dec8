"""`calmline relent`: stand firm, bargain or grant, with the numbers and the words (E1-E3)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich import box
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from calmline.cli import (
    FormatOption,
    OutputFormat,
    PlaybookOption,
    _engine,
    _input_errors,
    _write_json,
    out,
)
from calmline.coach.relent import (
    Figure,
    RelentAdvice,
    RelentRequest,
    advise_relent,
    money_text,
)
from calmline.errors import InputError
from calmline.playbook.schema import Playbook

_LABELS = {"stand_firm": "stand firm", "bargain": "bargain", "grant": "grant"}
_STYLES = {"stand_firm": "bold cyan", "bargain": "bold yellow", "grant": "bold green"}


class Threat(StrEnum):
    PUBLIC = "public"
    CHURN = "churn"
    LEGAL = "legal"


def advice_view(advice: RelentAdvice) -> Group:
    """The recommendation, the options with their expected costs, the reasoning, the words."""

    def m(amount: float) -> str:
        return money_text(amount, advice.currency)

    style = _STYLES[advice.recommendation]
    head = Text.assemble(
        ("Advice: ", "bold"),
        (_LABELS[advice.recommendation], style),
        f" ({advice.principle}): pay {m(advice.figure)}",
        (f"   demand {m(advice.demand)} · policy {m(advice.policy)}", "dim"),
    )
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("option", no_wrap=True)
    for column in ("pays", "conceded", "churn", "x value", "public", "x cost", "expected"):
        table.add_column(column, justify="right", no_wrap=True)
    for o in advice.options:
        chosen = o.option == advice.recommendation
        table.add_row(
            ("▶ " if chosen else "  ") + _LABELS[o.option],
            m(o.payout),
            m(o.concession),
            f"{o.churn_probability:.1%}",
            m(o.churn_cost),
            f"{o.public_probability:.1%}",
            m(o.public_cost),
            m(o.expected_cost),
            style=style if chosen else None,
        )
    reasoning = Text("\n").join(Text(f"• {line}") for line in advice.reasoning)
    wording = Panel(
        Text(advice.wording),
        title="Suggested wording",
        title_align="left",
        border_style="green",
        box=box.ROUNDED,
    )
    return Group(head, table, reasoning, Text(""), wording)


def relent(
    demand: Annotated[
        str | None,
        typer.Option(
            "--demand",
            metavar="AMOUNT|PERCENT",
            help="What the customer asks for: an amount (640, £640) or a percent of the claim "
            "(100%). Read from --message when not given.",
            show_default=False,
        ),
    ] = None,
    policy: Annotated[
        str | None,
        typer.Option(
            "--policy",
            metavar="AMOUNT|PERCENT",
            help="What the policy allows: an amount or a percent of the claim (required).",
            show_default=False,
        ),
    ] = None,
    claim: Annotated[
        float | None,
        typer.Option(
            "--claim",
            metavar="AMOUNT",
            help="The amount at stake (the receipts, the price); needed for percents.",
            show_default=False,
        ),
    ] = None,
    annual_spend: Annotated[
        float,
        typer.Option("--annual-spend", metavar="AMOUNT", help="What the customer spends a year."),
    ] = 0.0,
    tenure: Annotated[
        float,
        typer.Option("--tenure", metavar="YEARS", help="How long they have been a customer."),
    ] = 0.0,
    threat: Annotated[
        list[Threat] | None,
        typer.Option(
            "--threat",
            help="A threat the customer made (repeat the option for several).",
            show_default=False,
        ),
    ] = None,
    audience: Annotated[
        int,
        typer.Option("--audience", metavar="PEOPLE", help="Followers a public post would reach."),
    ] = 0,
    promised: Annotated[
        bool,
        typer.Option(
            "--promised",
            help="We caused the expectation (the customer was told it was covered).",
        ),
    ] = False,
    message: Annotated[
        str | None,
        typer.Option(
            "--message",
            metavar="TEXT",
            help="The customer's message: the demand and threats are read from it.",
            show_default=False,
        ),
    ] = None,
    reason: Annotated[
        str | None,
        typer.Option(
            "--reason",
            metavar="TEXT",
            help="Why the policy says what it says, for the suggested wording.",
            show_default=False,
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", help="The customer's name, for the wording.", show_default=False),
    ] = None,
    playbook: PlaybookOption = None,
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """Whether to stand firm, bargain or grant a demand (E1-E3), with the numbers.

    Each option's expected cost is what it concedes beyond the policy, plus the chance of
    losing the customer times their future value, plus the chance of a public complaint
    times its cost. The cheapest is advised; ties go to the firmer option.
    """
    with _input_errors():
        if policy is None:
            raise InputError("give --policy: what the policy allows (an amount or a percent)")
        if demand is None and message is None:
            raise InputError("give --demand, or --message to read the demand from")
        policy_figure = Figure.parse(policy, "--policy")
        demand_figure = None if demand is None else Figure.parse(demand, "--demand")
        threats = [t.value for t in threat or ()]
        engine = _engine(playbook)
        try:
            if message is not None:
                analysis = engine.analyze_message(message, names=(name,) if name else ())
                request = RelentRequest.from_message(
                    analysis,
                    policy=policy_figure,
                    demand=demand_figure,
                    claim=claim,
                    annual_spend=annual_spend,
                    tenure_years=tenure,
                    audience=audience,
                    promised=promised,
                    reason=reason,
                    extra_threats=threats,
                )
            else:
                assert demand_figure is not None
                request = RelentRequest(
                    demand=demand_figure,
                    policy=policy_figure,
                    claim=claim,
                    annual_spend=annual_spend,
                    tenure_years=tenure,
                    threats=frozenset(threats),
                    audience=audience,
                    promised=promised,
                    reason=reason,
                )
        except InputError as exc:
            raise InputError(_in_option_words(exc.message)) from None
        settings = engine.settings.relent if isinstance(engine.settings, Playbook) else None
        advice = advise_relent(request, settings, engine=engine, customer_name=name)
    if fmt is OutputFormat.TEXT:
        out.print(advice_view(advice))
        return
    data = {"request": request.to_dict(), **advice.to_dict()}
    _write_json(data, pretty=fmt is OutputFormat.JSON)


#: The request's field names as the options that give them, for error messages.
_OPTION_WORDS = {
    "claim:": "--claim:",
    "annual spend:": "--annual-spend:",
    "tenure:": "--tenure:",
    "audience:": "--audience:",
    "reason:": "--reason:",
    "demand:": "--demand:",
}


def _in_option_words(message: str) -> str:
    """'annual spend: cannot be negative' -> '--annual-spend: cannot be negative'."""
    for word, option in _OPTION_WORDS.items():
        if message.startswith(word):
            message = option + message[len(word) :]
    message = message.replace("give the claim value too", "give the claim value too (--claim)")
    return message.replace("give the demand (", "give the demand with --demand (")
