"""API keys of the HTTP service: who holds each one, their role and team, and checking a token.

A token reads ``cl_<prefix>_<secret>``: ``prefix`` is 8 lowercase hex characters that name the
key in lists, logs and ``calmline keys revoke``; ``secret`` is 43 URL-safe characters from
:mod:`secrets`. Only the SHA-256 of the whole token is stored, so a copy of the database gives
no working key, and a lost token cannot be shown again: revoke it and create another.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from calmline.errors import InputError, StoreError, UnknownKey
from calmline.store import models
from calmline.store.db import Store
from calmline.store.models import NAME_CHARS
from calmline.store.queries import check_text

log = logging.getLogger("calmline.store")

#: What every token starts with, so a leaked one is easy to recognise (and to search for).
TOKEN_START = "cl_"
PREFIX_CHARS = 8
#: Bytes of randomness in the secret part (secrets.token_urlsafe: 43 characters).
SECRET_BYTES = 32
_TOKEN = re.compile(r"cl_([0-9a-f]{8})_([A-Za-z0-9_-]{32,128})")
_PREFIX = re.compile(r"(?:cl_)?([0-9a-f]{8})(?:_.*)?", re.S)
#: Longer than any token calmline makes: refused before hashing or matching.
_MAX_TOKEN_CHARS = 256
#: Compared with when no key has the prefix, so an unknown prefix costs the same work.
_NO_HASH = hashlib.sha256(b"calmline: no such key").hexdigest()
#: How many fresh prefixes to try when one is taken (one in four billion each time).
_PREFIX_ATTEMPTS = 5


class Role(StrEnum):
    """What a key may do in the HTTP service (docs/service.md lists the routes of each)."""

    AGENT = "agent"
    TRAINER = "trainer"
    MANAGER = "manager"
    ADMIN = "admin"


def check_role(role: object) -> Role:
    """``role`` as a Role, or an InputError listing the roles."""
    if isinstance(role, str) and role.strip().lower() in {r.value for r in Role}:
        return Role(role.strip().lower())
    roles = ", ".join(r.value for r in Role)
    raise InputError(f"role: {role!r} is none of {roles}")


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A key as stored: never its token, which only its holder has."""

    id: int
    #: the public part of the token, e.g. "3f9a0c1e" of "cl_3f9a0c1e_..."
    prefix: str
    #: the agent or person the key belongs to
    name: str
    role: Role
    #: the team a manager sees (and the team of an agent's conversations), if any
    team: str | None
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @classmethod
    def from_row(cls, row: models.ApiKey) -> ApiKey:
        return cls(
            id=row.id,
            prefix=row.prefix,
            name=row.name,
            role=Role(row.role),
            team=row.team,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
            last_used_at=row.last_used_at,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "prefix": self.prefix,
            "name": self.name,
            "role": self.role.value,
            "team": self.team,
            "created_at": self.created_at.isoformat(),
            "revoked_at": _iso(self.revoked_at),
            "last_used_at": _iso(self.last_used_at),
        }


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def token_hash(token: str) -> str:
    """The SHA-256 (hex) of a token: what is stored instead of it."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_prefix(token: object) -> str | None:
    """The prefix of a well-formed token (None for anything else)."""
    if not isinstance(token, str) or len(token) > _MAX_TOKEN_CHARS:
        return None
    match = _TOKEN.fullmatch(token)
    return match.group(1) if match else None


class KeyStore(Store):
    """The API keys in the calmline database."""

    def create(self, name: str, role: Role | str, team: str | None = None) -> tuple[ApiKey, str]:
        """A new key for ``name`` and its token, which is not stored and cannot be shown again.

        A manager needs a team; a team given to another role is kept too (an agent's team
        goes with their conversations).
        """
        name = check_text(name, "key name", NAME_CHARS)
        checked_role = check_role(role)
        checked_team = None if team is None else check_text(team, "team", NAME_CHARS)
        if checked_role is Role.MANAGER and checked_team is None:
            raise InputError("team: a manager's key needs the team whose incidents they see")
        with self._database.writing(f"creating an API key for {name!r}") as session:
            prefix = self._free_prefix(session)
            token = f"{TOKEN_START}{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
            row = models.ApiKey(
                prefix=prefix,
                secret_hash=token_hash(token),
                name=name,
                role=checked_role.value,
                team=checked_team,
                created_at=self._clock(),
            )
            session.add(row)
            session.flush()
            key = ApiKey.from_row(row)
        log.info("API key %s created (%s)", key.prefix, key.role.value)
        return key, token

    def verify(self, token: str) -> ApiKey | None:
        """The key of ``token``; None when it is malformed, unknown or revoked.

        Never raises on what a client sends (any string, any length, any script); only a
        database failure is a StoreError. The secret is compared in constant time.
        """
        prefix = token_prefix(token)
        if prefix is None:
            return None
        with self._database.reading("checking an API key") as session:
            row = session.scalars(
                sa.select(models.ApiKey).where(models.ApiKey.prefix == prefix)
            ).one_or_none()
        expected = row.secret_hash if row is not None else _NO_HASH
        matches = hmac.compare_digest(token_hash(token), expected)
        if row is None or not matches or row.revoked_at is not None:
            return None
        return ApiKey.from_row(row)

    def touch(self, key_id: int) -> None:
        """Record that the key was used now; a failure is logged, never raised."""
        try:
            with self._database.writing(f"recording the use of API key {key_id}") as session:
                session.execute(
                    sa.update(models.ApiKey)
                    .where(models.ApiKey.id == key_id)
                    .values(last_used_at=self._clock())
                )
        except StoreError as exc:
            log.warning("could not record the use of API key %s: %s", key_id, exc.message)

    def revoke(self, prefix: str) -> ApiKey:
        """Revoke the key: its token stops working at once. Revoking again changes nothing.

        ``prefix`` may be given as ``3f9a0c1e``, ``cl_3f9a0c1e`` or the whole token.
        """
        wanted = _prefix_of(prefix)
        with self._database.writing(f"revoking API key {wanted}") as session:
            row = session.scalars(
                sa.select(models.ApiKey).where(models.ApiKey.prefix == wanted).with_for_update()
            ).one_or_none()
            if row is None:
                raise UnknownKey(f"no API key {wanted!r}; `calmline keys list --all` shows them")
            if row.revoked_at is None:
                row.revoked_at = self._clock()
                session.flush()
                log.info("API key %s revoked", row.prefix)
            return ApiKey.from_row(row)

    def list(self, *, include_revoked: bool = False) -> tuple[ApiKey, ...]:
        """The keys, oldest first; revoked ones only when asked."""
        query = sa.select(models.ApiKey).order_by(models.ApiKey.created_at, models.ApiKey.id)
        if not include_revoked:
            query = query.where(models.ApiKey.revoked_at.is_(None))
        with self._database.reading("listing API keys") as session:
            return tuple(ApiKey.from_row(row) for row in session.scalars(query))

    def get(self, prefix: str) -> ApiKey:
        """One key by its prefix (revoked or not); UnknownKey when there is none."""
        wanted = _prefix_of(prefix)
        with self._database.reading(f"reading API key {wanted}") as session:
            row = session.scalars(
                sa.select(models.ApiKey).where(models.ApiKey.prefix == wanted)
            ).one_or_none()
        if row is None:
            raise UnknownKey(f"no API key {wanted!r}; `calmline keys list --all` shows them")
        return ApiKey.from_row(row)

    # ----- inside a transaction -------------------------------------------------------------

    @staticmethod
    def _free_prefix(session: Session) -> str:
        for _ in range(_PREFIX_ATTEMPTS):
            prefix = secrets.token_hex(PREFIX_CHARS // 2)
            taken = session.scalar(sa.select(sa.func.count()).where(models.ApiKey.prefix == prefix))
            if not taken:
                return prefix
        raise StoreError(  # pragma: no cover - five 32-bit collisions in a row
            f"no free API key prefix after {_PREFIX_ATTEMPTS} tries"
        )


def _prefix_of(text: object) -> str:
    """The prefix named by ``text`` (a prefix, ``cl_<prefix>`` or a whole token)."""
    if not isinstance(text, str) or len(text) > _MAX_TOKEN_CHARS:
        raise UnknownKey("no API key has this prefix: give it as `calmline keys list` shows it")
    match = _PREFIX.fullmatch(text.strip())
    if match is None:
        raise UnknownKey(
            f"no API key {text.strip()!r}: a key's prefix is {PREFIX_CHARS} characters "
            "0-9 and a-f, as `calmline keys list` shows it"
        )
    return match.group(1)
