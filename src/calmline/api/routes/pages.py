"""The web UI: sign-in with a key (a cookie), and the HTML pages of agents, trainers and managers.

Pages are rendered on the server from the services (autoescaped Jinja2); what a page does after
loading goes through the ``/v1`` JSON API from the scripts in ``web/static/js``. A page asked for
without a valid sign-in redirects to ``/login?next=<path>`` (only a path on this site is kept, so
the sign-in cannot be used to send someone elsewhere). Every page carries a strict
Content-Security-Policy: scripts and styles only from this site, nothing inline.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import jinja2
from fastapi import APIRouter, Body, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from pydantic import Field

from calmline import errors
from calmline.api import access
from calmline.api.deps import KEY_COOKIE, KeyCache, ServicesDep
from calmline.api.schemas.common import Request as RequestBody
from calmline.api.services import Services
from calmline.store.keys import ApiKey, Role

#: The package folder with ``templates/`` and ``static/``.
WEB_DIR = Path(__file__).resolve().parents[2] / "web"
STATIC_DIR = WEB_DIR / "static"

#: Sent with every page: no inline script or style, no framing, forms only to this site.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Pages hold customers' words: not for shared caches or the back-forward cache of a
    # signed-out browser.
    "Cache-Control": "no-store",
}

#: How long the sign-in cookie lasts (a long shift); the key itself may last longer.
COOKIE_SECONDS = 12 * 60 * 60

#: Where each role lands after sign-in.
HOME_OF = {
    Role.AGENT: "/agent",
    Role.TRAINER: "/trainer",
    Role.MANAGER: "/manager",
    Role.ADMIN: "/manager",
}

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(WEB_DIR / "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates = Jinja2Templates(env=_environment)

router = APIRouter(include_in_schema=False)


class SessionCreate(RequestBody):
    key: str = Field(min_length=1, max_length=512, description="an API key, cl_...")


def _when(at: datetime | None) -> str:
    """``2026-11-30 14:05 UTC`` for a page (the full ISO time stays in ``datetime=``)."""
    if at is None:
        return ""
    return at.strftime("%Y-%m-%d %H:%M %Z").strip()


_environment.filters["when"] = _when


def secured(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path on this site, else None: no scheme, no host, no ``//``
    or backslash trick that a browser would read as another site."""
    if not target or len(target) > 2000:
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return None
    if target.startswith(("/login", "/ui/")):
        return None
    return target


def signed_in(request: Request, services: Services) -> ApiKey | None:
    """The key in the sign-in cookie, when it is valid."""
    token = request.cookies.get(KEY_COOKIE)
    if not token or len(token) > 512:
        return None
    cache: KeyCache = request.app.state.key_cache
    key = cache.verify(token, services)
    if key is not None:
        request.state.key_prefix = key.prefix
    return key


def to_login(request: Request) -> Response:
    here = request.url.path
    if request.url.query:
        here += "?" + request.url.query
    target = safe_next(here)
    location = "/login" if target is None else "/login?next=" + quote(target, safe="/")
    return secured(RedirectResponse(location, status_code=303))


def render(
    request: Request,
    template: str,
    key: ApiKey | None,
    *,
    status_code: int = 200,
    state: Mapping[str, Any] | None = None,
    **context: Any,
) -> Response:
    """``template`` with the signed-in key; ``state`` goes to the page's script as JSON in a
    ``data-state`` attribute (autoescaped like any other text)."""
    page = templates.TemplateResponse(
        request,
        template,
        {
            "key": key,
            "home": HOME_OF.get(key.role) if key is not None else None,
            "state_json": json.dumps(state or {}, ensure_ascii=False, default=str),
            **context,
        },
        status_code=status_code,
    )
    return secured(page)


def problem_page(request: Request, key: ApiKey | None, status: int, message: str) -> Response:
    return render(request, "problem.html", key, status_code=status, status=status, message=message)


def guarded(request: Request, services: Services, *roles: Role) -> ApiKey | Response:
    """The signed-in key when its role may see the page, else the response to send instead
    (the sign-in page, or a 403 page naming the roles that may)."""
    key = signed_in(request, services)
    if key is None:
        return to_login(request)
    allowed = {*roles, Role.ADMIN}
    if key.role not in allowed:
        names = ", ".join(sorted(r.value for r in allowed))
        return problem_page(
            request, key, 403, f"This page is for {names}; you are signed in as {key.role}."
        )
    return key


# ----- signing in and out --------------------------------------------------------------------


@router.post("/ui/session", status_code=204, summary="Sign in to the web UI with a key")
def sign_in(
    body: Annotated[SessionCreate, Body()], services: ServicesDep, request: Request
) -> Response:
    cache: KeyCache = request.app.state.key_cache
    key = cache.verify(body.key.strip(), services)
    if key is None:
        raise HTTPException(401, "this key is unknown or revoked; check it and try again")
    response = Response(status_code=204)
    response.set_cookie(
        KEY_COOKIE,
        body.key.strip(),
        max_age=COOKIE_SECONDS,
        path="/",
        httponly=True,
        samesite="strict",
        secure=services.settings.serve.secure_cookies,
    )
    return secured(response)


@router.post("/ui/logout", status_code=204, summary="Sign out of the web UI")
def sign_out(services: ServicesDep) -> Response:
    response = Response(status_code=204)
    response.delete_cookie(
        KEY_COOKIE,
        path="/",
        httponly=True,
        samesite="strict",
        secure=services.settings.serve.secure_cookies,
    )
    return secured(response)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, services: ServicesDep, next: str | None = None) -> Response:
    key = signed_in(request, services)
    target = safe_next(next)
    return render(
        request,
        "login.html",
        key,
        next_path=target or (HOME_OF[key.role] if key is not None else "/"),
    )


@router.get("/", response_class=HTMLResponse)
def home(request: Request, services: ServicesDep) -> Response:
    key = signed_in(request, services)
    if key is None:
        return to_login(request)
    return secured(RedirectResponse(HOME_OF[key.role], status_code=303))


# ----- agents ---------------------------------------------------------------------------------


@router.get("/agent", response_class=HTMLResponse)
def agent_home(request: Request, services: ServicesDep) -> Response:
    key = guarded(request, services, Role.AGENT)
    if isinstance(key, Response):
        return key
    if key.role is Role.ADMIN:
        conversations = services.conversations.conversations(limit=100)
    else:
        found = services.conversations.conversations(agent=key.name, team=key.team, limit=100)
        conversations = tuple(c for c in found if access.sees_conversation(key, c))
    return render(request, "agent_list.html", key, section="agent", conversations=conversations)


def _conversation_state(services: Services, cid: str, key: ApiKey) -> dict[str, Any]:
    conversation = services.conversations.get_conversation(cid)
    stored = services.conversations.events(cid)
    events = [
        {"seq": e.seq, "event": e.event.to_dict(), "guidance": e.guidance.to_dict()} for e in stored
    ]
    return {
        "conversation": conversation.to_dict(),
        "events": events,
        "me": key.name,
    }


@router.get("/agent/{cid}", response_class=HTMLResponse)
def agent_console(cid: str, request: Request, services: ServicesDep) -> Response:
    key = guarded(request, services, Role.AGENT)
    if isinstance(key, Response):
        return key
    try:
        conversation = access.visible_conversation(
            key, services.conversations.get_conversation(cid)
        )
    except (errors.UnknownConversation, errors.InputError):
        return problem_page(request, key, 404, "There is no such conversation.")
    return render(
        request,
        "agent_console.html",
        key,
        section="agent",
        conversation=conversation,
        state=_conversation_state(services, cid, key),
    )


# ----- training -------------------------------------------------------------------------------


@router.get("/trainer", response_class=HTMLResponse)
def trainer_home(request: Request, services: ServicesDep) -> Response:
    key = guarded(request, services, Role.AGENT, Role.TRAINER)
    if isinstance(key, Response):
        return key
    trainee = key.name if key.role is Role.AGENT else None
    sessions = services.practice.list(trainee=trainee, limit=50)
    return render(
        request,
        "trainer_list.html",
        key,
        section="trainer",
        sessions=sessions,
        state={"me": key.name, "role": key.role.value},
    )


def _practice_page(request: Request, services: Services, sid: str, template: str) -> Response:
    key = guarded(request, services, Role.AGENT, Role.TRAINER)
    if isinstance(key, Response):
        return key
    try:
        record = access.visible_practice(key, services.practice.get(sid))
    except (errors.UnknownPractice, errors.InputError):
        return problem_page(request, key, 404, "There is no such practice session.")
    return render(
        request,
        template,
        key,
        section="trainer",
        practice=record,
        state={"id": record.id, "scenario": record.scenario, "trainee": record.trainee},
    )


@router.get("/trainer/{sid}", response_class=HTMLResponse)
def trainer_chat(sid: str, request: Request, services: ServicesDep) -> Response:
    return _practice_page(request, services, sid, "trainer_chat.html")


@router.get("/trainer/{sid}/debrief", response_class=HTMLResponse)
def trainer_debrief(sid: str, request: Request, services: ServicesDep) -> Response:
    return _practice_page(request, services, sid, "trainer_debrief.html")


# ----- managers -------------------------------------------------------------------------------


def _team_of(key: ApiKey) -> str | None:
    return None if key.role is Role.ADMIN else key.team


@router.get("/manager", response_class=HTMLResponse)
def manager_home(request: Request, services: ServicesDep) -> Response:
    key = guarded(request, services, Role.MANAGER)
    if isinstance(key, Response):
        return key
    if key.role is Role.MANAGER and key.team is None:
        return problem_page(request, key, 403, "A manager's key needs a team.")
    found = services.conversations.incidents(team=_team_of(key), limit=200)
    # Unacknowledged first, each group newest first (the store's order).
    incidents = sorted(found, key=lambda i: i.acknowledged)
    return render(
        request,
        "manager_incidents.html",
        key,
        section="incidents",
        incidents=incidents,
        open_count=sum(1 for i in incidents if not i.acknowledged),
    )


@router.get("/manager/incidents/{iid}", response_class=HTMLResponse)
def manager_incident(iid: int, request: Request, services: ServicesDep) -> Response:
    key = guarded(request, services, Role.MANAGER)
    if isinstance(key, Response):
        return key
    try:
        incident = access.visible_incident(key, services.conversations.incident(iid))
    except errors.UnknownIncident:
        return problem_page(request, key, 404, "There is no such incident.")
    return render(
        request,
        "manager_incident.html",
        key,
        section="incidents",
        incident=incident,
        record=incident.data,
        state={"id": incident.id},
    )


@router.get("/manager/scorecards", response_class=HTMLResponse)
def manager_scorecards(request: Request, services: ServicesDep) -> Response:
    key = guarded(request, services, Role.MANAGER)
    if isinstance(key, Response):
        return key
    return render(
        request,
        "manager_scorecards.html",
        key,
        section="scorecards",
        state={"team": _team_of(key)},
    )
