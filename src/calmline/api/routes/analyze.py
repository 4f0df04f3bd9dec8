"""``POST /v1/analyze`` (a customer message) and ``POST /v1/check`` (an agent's draft)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from calmline.api.deps import AnyRole, ServicesDep
from calmline.api.metrics import Metrics
from calmline.api.schemas.analysis import AnalyzeCreate, CheckCreate
from calmline.api.schemas.common import AnalysisPublic, CheckPublic, TurnCreate
from calmline.core.types import Role, Turn

router = APIRouter(prefix="/v1", tags=["analysis"])


def turns_of(context: list[TurnCreate]) -> list[Turn]:
    return [
        Turn(
            Role(t.role),
            t.text,
            timestamp=t.timestamp.timestamp() if t.timestamp is not None else None,
            author=t.author,
        )
        for t in context
    ]


def _metrics(request: Request) -> Metrics | None:
    metrics: Metrics | None = request.app.state.metrics
    return metrics


@router.post("/analyze", response_model=AnalysisPublic, summary="Read a customer message")
def analyze(body: AnalyzeCreate, services: ServicesDep, _key: AnyRole, request: Request) -> Any:
    """Every signal in one customer message, with its anger (0-1) and abuse level."""
    analysis = services.engine.analyze_message(body.text, names=tuple(body.names))
    metrics = _metrics(request)
    if metrics is not None:
        metrics.count_signals(analysis.signals)
    return analysis.to_dict()


@router.post("/check", response_model=CheckPublic, summary="Check a draft before it is sent")
def check(body: CheckCreate, services: ServicesDep, _key: AnyRole, request: Request) -> Any:
    """The draft's findings against the playbook, each with a rewrite, and the good behaviours
    it shows. ``blocked`` is true when a finding has severity ``block``: do not send it."""
    result = services.engine.check_reply(
        body.draft, turns_of(body.context), customer_name=body.customer_name
    )
    metrics = _metrics(request)
    if metrics is not None:
        metrics.count_findings(result.findings)
    return result.to_dict()
