"""``POST /v1/analyze`` (a customer message) and ``POST /v1/check`` (an agent's draft)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from calmline.api.deps import AnyRole, ServicesDep
from calmline.api.metrics import Metrics
from calmline.api.schemas.analysis import AnalyzeCreate, CheckCreate
from calmline.api.schemas.common import AnalysisPublic, CheckPublic, TurnCreate
from calmline.core.types import Role, Turn

router = APIRouter(prefix="/v1", tags=["analysis"])
T = TypeVar("T")


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


#: Texts up to this many characters (a draft and its context together) are read on the event
#: loop: a trip to a worker thread costs more than reading them (about 1 ms per 1,000
#: characters). Longer ones go to a worker thread, so one large body never holds up the
#: other requests.
INLINE_CHARS = 2000


async def _run(size: int, work: Callable[[], T]) -> T:
    if size <= INLINE_CHARS:
        return work()
    return await run_in_threadpool(work)


@router.post("/analyze", response_model=AnalysisPublic, summary="Read a customer message")
async def analyze(
    body: AnalyzeCreate, services: ServicesDep, _key: AnyRole, request: Request
) -> Any:
    """Every signal in one customer message, with its anger (0-1) and abuse level."""
    engine = services.engine
    analysis = await _run(
        len(body.text), lambda: engine.analyze_message(body.text, names=tuple(body.names))
    )
    metrics = _metrics(request)
    if metrics is not None:
        metrics.count_signals(analysis.signals)
    return analysis.to_dict()


@router.post("/check", response_model=CheckPublic, summary="Check a draft before it is sent")
async def check(body: CheckCreate, services: ServicesDep, _key: AnyRole, request: Request) -> Any:
    """The draft's findings against the playbook, each with a rewrite, and the good behaviours
    it shows. ``blocked`` is true when a finding has severity ``block``: do not send it."""
    engine = services.engine
    size = len(body.draft) + sum(len(t.text) for t in body.context)
    result = await _run(
        size,
        lambda: engine.check_reply(
            body.draft, turns_of(body.context), customer_name=body.customer_name
        ),
    )
    metrics = _metrics(request)
    if metrics is not None:
        metrics.count_findings(result.findings)
    return result.to_dict()
