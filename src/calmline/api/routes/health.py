"""``GET /healthz`` (no key: for load balancers) and ``GET /metrics`` (Prometheus)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from calmline import __version__
from calmline.api.deps import ServicesDep
from calmline.api.metrics import CONTENT_TYPE, Metrics

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Is the service up and its database reachable?")
def healthz(services: ServicesDep) -> Any:
    """200 with ``{"status": "ok"}`` when the database answers, else 503. Needs no key and
    says nothing about the data."""
    try:
        with services.db.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable", "version": __version__},
            status_code=503,
        )
    return {
        "status": "ok",
        "database": "ok",
        "version": __version__,
        "playbook": services.playbook.source,
    }


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=True)
def metrics(request: Request) -> Response:
    """Request latency histograms, findings and signal counters, open WebSocket sessions."""
    collected: Metrics | None = request.app.state.metrics
    if collected is None:
        return Response("metrics are off (CALMLINE_SERVE__METRICS=false)\n", status_code=404)
    return Response(collected.render(), media_type=CONTENT_TYPE)
