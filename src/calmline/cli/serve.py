"""`calmline serve`: run the HTTP service (API v1, live guidance, web UI) on uvicorn.

Listens on 127.0.0.1:8000 with the SQLite database in the data directory unless told otherwise
(``CALMLINE_SERVE__HOST``, ``CALMLINE_DATABASE_URL``, ... or a settings file). The database is
created or migrated at start. When no API key exists yet, an admin key is made and shown once,
so a fresh install can sign in to the web UI straight away.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from calmline.cli import _input_errors, err, out
from calmline.settings import AppSettings, load_settings

#: Logging for the service: calmline's access log and errors on stderr, one line each.
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def _configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger("calmline")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False


def _settings(settings_file: Path | None, host: str | None, port: int | None) -> AppSettings:
    settings = load_settings(settings_file)
    changes: dict[str, object] = {}
    if host is not None:
        changes["host"] = host
    if port is not None:
        changes["port"] = port
    if changes:
        serve = settings.serve.model_copy(update=changes)
        settings = settings.model_copy(update={"serve": serve})
    return settings


def serve(
    host: Annotated[
        str | None,
        typer.Option(
            help="Address to listen on (default 127.0.0.1; CALMLINE_SERVE__HOST).",
            show_default=False,
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            min=1, max=65535, help="Port (default 8000; CALMLINE_SERVE__PORT).", show_default=False
        ),
    ] = None,
    settings_file: Annotated[
        Path | None,
        typer.Option(
            "--settings",
            metavar="FILE",
            help="A settings file of CALMLINE_X=value lines, over the environment.",
            show_default=False,
        ),
    ] = None,
    first_key: Annotated[
        bool,
        typer.Option(
            "--first-key/--no-first-key",
            help="When no API key exists, create an admin key and show it once.",
        ),
    ] = True,
) -> None:
    """Run the service: REST API v1, live guidance over WebSocket, and the web UI."""
    import uvicorn

    from calmline.api import create_app
    from calmline.store.keys import Role

    with _input_errors():
        settings = _settings(settings_file, host, port)
        app = create_app(settings)
        services = app.state.services
        token = None
        if first_key and not services.keys.list(include_revoked=True):
            _key, token = services.keys.create("admin", Role.ADMIN)
    address = f"http://{settings.serve.host}:{settings.serve.port}"
    out.print(Text.assemble(("calmline ", "bold"), f"serving on {address}"))
    out.print(f"  web UI:   {address}/   API: {address}/v1/   OpenAPI: {address}/v1/openapi.json")
    out.print(f"  playbook: {services.playbook.source}")
    if token is not None:
        out.print(
            Text.assemble(
                ("  first start: ", "yellow"),
                "an admin API key was created. It is shown only this once:",
            )
        )
        out.print(f"  {token}")
        out.print("  Sign in to the web UI with it; make more with 'calmline keys create'.")
    if settings.serve.host not in ("127.0.0.1", "localhost", "::1"):
        err.print(
            Text.assemble(
                ("warning: ", "yellow"),
                f"listening on {settings.serve.host}: other machines can reach "
                "this service; put it behind HTTPS",
            )
        )
    _configure_logging()
    uvicorn.run(
        app,
        host=settings.serve.host,
        port=settings.serve.port,
        access_log=False,
        log_level="warning",
        server_header=False,
        ws_max_size=settings.serve.max_body_bytes,
    )
