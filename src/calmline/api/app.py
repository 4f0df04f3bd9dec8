"""``create_app(settings)``: calmline's HTTP service (REST API v1, WebSocket, web UI, metrics).

The database is opened (and migrated, unless ``upgrade=False``) when the app is created, so a
misconfigured service fails at start with a clear message rather than on the first request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from calmline import __version__
from calmline.api import problems
from calmline.api.deps import KeyCache, RateLimiter
from calmline.api.hub import Hub
from calmline.api.metrics import Metrics
from calmline.api.middleware import ServiceMiddleware
from calmline.api.routes import (
    analyze,
    conversations,
    health,
    incidents,
    me,
    pages,
    playbook,
    relent,
    scorecards,
    training,
    ws,
)
from calmline.api.services import Services, build_services
from calmline.settings import AppSettings

DESCRIPTION = """\
calmline reads customer messages, checks agents' drafts against the team's playbook before they
are sent, runs the boundary protocol for abusive contacts, and trains agents with simulated
customers. Every `/v1/` route needs an API key (`Authorization: Bearer cl_...`, made with
`calmline keys create`); errors are RFC 9457 problem documents.
"""


def create_app(
    settings: AppSettings | None = None,
    *,
    services: Services | None = None,
    upgrade: bool = True,
) -> FastAPI:
    """The service for ``settings`` (default: from the environment)."""
    if settings is None:
        from calmline.settings import load_settings

        settings = load_settings()
    serve = settings.serve
    rate_limiter = RateLimiter(serve.rate_limit, serve.rate_limit_storage)
    built = services if services is not None else build_services(settings, upgrade=upgrade)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if services is None:
            built.close()

    app = FastAPI(
        title="calmline",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/v1/openapi.json",
        # Swagger UI and ReDoc load scripts from a CDN: off, the OpenAPI document is enough.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.services = built
    app.state.key_cache = KeyCache(serve.key_cache_seconds)
    app.state.rate_limiter = rate_limiter
    app.state.metrics = Metrics() if serve.metrics else None
    app.state.hub = Hub()

    problems.install(app)
    app.include_router(health.router)
    app.include_router(analyze.router)
    for area in (me, relent, conversations, incidents, training, playbook, scorecards):
        app.include_router(area.router)
    app.include_router(ws.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    app.add_middleware(
        ServiceMiddleware,
        max_body_bytes=serve.max_body_bytes,
        metrics=app.state.metrics,
        log_format=serve.log_format,
        log_bodies=serve.log_bodies,
    )
    return app
