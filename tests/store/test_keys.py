"""API keys: created with a token shown once, checked by hash, revoked, listed; on SQLite and
PostgreSQL."""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from calmline.errors import InputError, StoreError, UnknownKey
from calmline.store import models
from calmline.store.db import make_engine, make_session_factory
from calmline.store.keys import ApiKey, KeyStore, Role, token_prefix
from tests.store.helpers import T0

TOKEN = re.compile(r"cl_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")


@pytest.fixture
def keys(sessions: sessionmaker[Session]) -> KeyStore:
    return KeyStore(sessions, clock=lambda: T0)


def test_a_new_key_reads_back_with_its_token(keys: KeyStore) -> None:
    key, token = keys.create("Sam Okafor", Role.AGENT, team="north")
    assert TOKEN.fullmatch(token), token
    assert token.startswith(f"cl_{key.prefix}_")
    assert (key.name, key.role, key.team) == ("Sam Okafor", Role.AGENT, "north")
    assert (key.created_at, key.revoked_at, key.last_used_at) == (T0, None, None)
    assert keys.verify(token) == key
    assert keys.get(key.prefix) == key
    assert key.to_dict() == {
        "id": key.id,
        "prefix": key.prefix,
        "name": "Sam Okafor",
        "role": "agent",
        "team": "north",
        "created_at": T0.isoformat(),
        "revoked_at": None,
        "last_used_at": None,
    }


def test_only_the_hash_of_the_token_is_stored(
    keys: KeyStore, sessions: sessionmaker[Session]
) -> None:
    key, token = keys.create("Sam", "agent")
    secret = token.split("_", 2)[2]
    with sessions() as session:
        row = session.get(models.ApiKey, key.id)
        assert row is not None
        values = [str(getattr(row, c.name)) for c in models.ApiKey.__table__.columns]
    assert row.secret_hash == hashlib.sha256(token.encode()).hexdigest()
    assert not any(secret in value or token in value for value in values)


def test_every_token_is_new(keys: KeyStore) -> None:
    made = [keys.create(f"agent {n}", "agent") for n in range(20)]
    assert len({token for _, token in made}) == 20
    assert len({key.prefix for key, _ in made}) == 20


@pytest.mark.parametrize("role", ["agent", "trainer", "admin", "ADMIN", " Trainer ", Role.ADMIN])
def test_a_role_is_given_by_name(keys: KeyStore, role: str) -> None:
    key, _ = keys.create("Robin", role)
    assert key.role.value == str(role).strip().lower()


@pytest.mark.parametrize("role", ["boss", "", None, 3])
def test_an_unknown_role_is_refused_naming_the_roles(keys: KeyStore, role: object) -> None:
    with pytest.raises(InputError, match="agent, trainer, manager, admin"):
        keys.create("Robin", role)  # type: ignore[arg-type]
    assert keys.list(include_revoked=True) == ()


def test_a_manager_needs_a_team(keys: KeyStore) -> None:
    with pytest.raises(InputError, match="manager's key needs the team"):
        keys.create("Morgan Lee", Role.MANAGER)
    key, _ = keys.create("Morgan Lee", Role.MANAGER, team="north")
    assert key.team == "north"


def test_the_database_refuses_a_manager_without_a_team_too(
    sessions: sessionmaker[Session],
) -> None:
    row = models.ApiKey(
        prefix="0123abcd", secret_hash="0" * 64, name="x", role="manager", created_at=T0
    )
    with pytest.raises(sa.exc.IntegrityError), sessions.begin() as session:
        session.add(row)


def test_the_database_refuses_an_unknown_role_too(sessions: sessionmaker[Session]) -> None:
    row = models.ApiKey(
        prefix="0123abcd", secret_hash="0" * 64, name="x", role="boss", created_at=T0
    )
    with pytest.raises(sa.exc.IntegrityError), sessions.begin() as session:
        session.add(row)


@pytest.mark.parametrize(
    ("name", "team"),
    [
        ("", None),
        ("   ", None),
        ("x" * 201, None),
        ("a\x00b", None),
        ("Sam", ""),
        ("Sam", "\ud800"),
    ],
)
def test_names_and_teams_are_checked(keys: KeyStore, name: str, team: str | None) -> None:
    with pytest.raises(InputError):
        keys.create(name, "agent", team=team)


def test_names_are_stripped(keys: KeyStore) -> None:
    key, _ = keys.create("  Sam Okafor ", "agent", team=" north ")
    assert (key.name, key.team) == ("Sam Okafor", "north")


def test_a_revoked_key_no_longer_verifies(keys: KeyStore) -> None:
    key, token = keys.create("Sam", "agent")
    other, other_token = keys.create("Jo", "agent")
    revoked = keys.revoke(key.prefix)
    assert revoked.revoked and revoked.revoked_at == T0
    assert keys.verify(token) is None
    assert keys.verify(other_token) == other
    # revoking again changes nothing
    assert keys.revoke(key.prefix) == revoked


@pytest.mark.parametrize("form", ["{prefix}", "cl_{prefix}", "{token}", "  {prefix} "])
def test_revoke_takes_the_prefix_in_the_forms_people_copy(keys: KeyStore, form: str) -> None:
    key, token = keys.create("Sam", "agent")
    assert keys.revoke(form.format(prefix=key.prefix, token=token)).revoked


@pytest.mark.parametrize("prefix", ["00000000", "nothex!!", "", "x" * 1000, "0123"])
def test_revoking_an_unknown_key_is_its_own_error(keys: KeyStore, prefix: str) -> None:
    keys.create("Sam", "agent")
    with pytest.raises(UnknownKey, match="no API key") as caught:
        keys.revoke(prefix)
    assert caught.value.code == "key_unknown"
    assert isinstance(caught.value, StoreError)
    with pytest.raises(UnknownKey):
        keys.get(prefix)


def test_the_list_leaves_out_revoked_keys_unless_asked(sessions: sessionmaker[Session]) -> None:
    minutes = iter(range(100))
    keys = KeyStore(sessions, clock=lambda: T0 + timedelta(minutes=next(minutes)))
    first, _ = keys.create("Sam", "agent")
    second, _ = keys.create("Morgan", "manager", team="north")
    third, _ = keys.create("Ada", "admin")
    keys.revoke(second.prefix)
    assert [k.name for k in keys.list()] == ["Sam", "Ada"]
    assert [k.name for k in keys.list(include_revoked=True)] == ["Sam", "Morgan", "Ada"]
    assert all(isinstance(k, ApiKey) for k in keys.list())
    assert (first.id, third.id) == tuple(k.id for k in keys.list())


def test_touch_records_the_last_use(sessions: sessionmaker[Session]) -> None:
    now = [T0]
    keys = KeyStore(sessions, clock=lambda: now[0])
    key, token = keys.create("Sam", "agent")
    now[0] = T0 + timedelta(hours=2)
    keys.touch(key.id)
    used = keys.verify(token)
    assert used is not None and used.last_used_at == T0 + timedelta(hours=2)
    keys.touch(987654)  # an unknown id: nothing to record, no error


def test_touch_never_raises(
    keys: KeyStore, migrated_engine: sa.Engine, caplog: pytest.LogCaptureFixture
) -> None:
    key, _ = keys.create("Sam", "agent")
    with migrated_engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE api_keys")
    with caplog.at_level(logging.WARNING, logger="calmline.store"):
        keys.touch(key.id)
    assert "could not record the use of API key" in caplog.text


def _garbage(token: str) -> list[str]:
    prefix, secret = token[3:11], token[12:]
    return [
        "",
        " ",
        "cl_",
        "Bearer " + token,
        token + " ",
        " " + token,
        token.upper(),
        token[:-1],
        token[:-1] + ("A" if token[-1] != "A" else "B"),
        f"cl_{prefix}_" + "A" * len(secret),
        f"cl_{prefix}_",
        f"cl_{prefix.upper()}_{secret}",
        f"xx_{prefix}_{secret}",
        token + "\x00",
        token.replace("_", "-", 1),
        token + "é",
        f"cl_{prefix}_{secret[:-1]}é",
        "cl_ab€d1234_" + secret,
        "é" * 10_000,
        "x" * 1_000_000,
        token * 1000,
        "\ud800" * 50,
        f"cl_{prefix}_{secret}\ud800",
        "🙂" * 43,
        "cl_00000000_" + secret,
        "'; DROP TABLE api_keys; --",
    ]


def test_verify_returns_none_for_anything_but_a_live_token(keys: KeyStore) -> None:
    key, token = keys.create("Sam", "agent")
    # (a prefix of digits only reads the same in capitals: that one is the token itself)
    for garbage in (g for g in _garbage(token) if g != token):
        assert keys.verify(garbage) is None, repr(garbage[:40])
    for not_text in (None, 12, b"cl_", ["x"], {"token": token}):
        assert keys.verify(not_text) is None  # type: ignore[arg-type]
    assert keys.verify(token) == key  # the real one still works afterwards


def test_token_prefix_reads_only_well_formed_tokens() -> None:
    assert token_prefix("cl_0123abcd_" + "a" * 43) == "0123abcd"
    assert token_prefix("cl_0123abcd_" + "a" * 31) is None
    assert token_prefix("cl_0123abcd_" + "a" * 300) is None
    assert token_prefix("cl_0123ABCD_" + "a" * 43) is None
    assert token_prefix(None) is None


def test_a_database_that_is_not_migrated_is_a_store_error(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with pytest.raises(StoreError, match="calmline db upgrade"):
            KeyStore(make_session_factory(engine))
    finally:
        engine.dispose()
