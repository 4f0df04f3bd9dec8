"""``POST /v1/relent``: stand firm, bargain or grant a demand (E1-E3), as ``calmline relent``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from calmline.api.deps import AnyRole, ServicesDep
from calmline.api.schemas.relent import FigureIn, RelentCreate, RelentPublic
from calmline.coach.relent import Figure, RelentRequest, advise_relent
from calmline.errors import InputError
from calmline.playbook.schema import Playbook

router = APIRouter(prefix="/v1", tags=["relent"])


def _figure(value: FigureIn, where: str) -> Figure:
    if isinstance(value, str):
        return Figure.parse(value, where)
    try:
        return Figure(amount=value)
    except InputError as exc:
        raise InputError(f"{where}: {exc.message}") from None


@router.post("/relent", response_model=RelentPublic, summary="Advice on a customer's demand")
def relent(body: RelentCreate, services: ServicesDep, _key: AnyRole) -> Any:
    """The cheapest option in expected cost (the concession, the chance of losing the customer
    times their value, the chance of a public complaint times its cost), with the numbers,
    the reasoning and the words to say it. Give ``demand``, or a ``message`` to read it from."""
    if body.demand is None and body.message is None:
        raise InputError("give demand, or a message to read the demand from")
    engine = services.engine
    policy = _figure(body.policy, "policy")
    demand = None if body.demand is None else _figure(body.demand, "demand")
    if body.message is not None:
        analysis = engine.analyze_message(body.message, names=(body.name,) if body.name else ())
        request = RelentRequest.from_message(
            analysis,
            policy=policy,
            demand=demand,
            claim=body.claim,
            annual_spend=body.annual_spend,
            tenure_years=body.tenure,
            audience=body.audience,
            promised=body.promised,
            reason=body.reason,
            extra_threats=body.threats,
        )
    else:
        assert demand is not None
        request = RelentRequest(
            demand=demand,
            policy=policy,
            claim=body.claim,
            annual_spend=body.annual_spend,
            tenure_years=body.tenure,
            threats=frozenset(body.threats),
            audience=body.audience,
            promised=body.promised,
            reason=body.reason,
        )
    settings = engine.settings.relent if isinstance(engine.settings, Playbook) else None
    advice = advise_relent(request, settings, engine=engine, customer_name=body.name)
    return {**advice.to_dict(), "request": request.to_dict()}
