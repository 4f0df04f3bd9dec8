"""``GET /v1/me``: whom the key belongs to, so a client can show it and pick its pages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from calmline.api.deps import AnyRole
from calmline.api.schemas.me import MePublic

router = APIRouter(prefix="/v1", tags=["keys"])


@router.get("/me", response_model=MePublic, summary="The caller's key")
def me(key: AnyRole) -> Any:
    """The name, role and team of the key the request came with, and its public prefix."""
    return {"name": key.name, "role": key.role.value, "team": key.team, "prefix": key.prefix}
