"""The body of ``GET /v1/me``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from calmline.api.schemas.common import Public


class MePublic(Public):
    name: str = Field(description="whom the key belongs to", examples=["Ana"])
    role: Literal["agent", "trainer", "manager", "admin"]
    team: str | None
    prefix: str = Field(description="the key's public id", examples=["3f9a0c1e"])
