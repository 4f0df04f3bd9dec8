"""The service under test: ``create_app`` on a fresh migrated database, and a key per role.

``client`` runs on SQLite; ``any_client`` runs each test on SQLite and on PostgreSQL (see
tests/databases.py). ``keys`` maps a role name to a token: ``agent`` (Ana, team north),
``agent2`` (Ben, team south), ``trainer``, ``manager`` (team north), ``manager_south`` and
``admin``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from calmline.api import create_app
from calmline.api.services import Services
from calmline.settings import AppSettings, ServeSettings
from calmline.store.keys import Role

KEY_HOLDERS = {
    "agent": ("Ana", Role.AGENT, "north"),
    "agent2": ("Ben", Role.AGENT, "south"),
    "trainer": ("Tess", Role.TRAINER, None),
    "manager": ("Maya", Role.MANAGER, "north"),
    "manager_south": ("Sol", Role.MANAGER, "south"),
    "admin": ("Root", Role.ADMIN, None),
}


def make_settings(database_url: str, data_dir: Path, **serve: object) -> AppSettings:
    return AppSettings(
        database_url=database_url,
        data_dir=data_dir,
        serve=ServeSettings(**serve),  # type: ignore[arg-type]
    )


def make_keys(services: Services) -> dict[str, str]:
    tokens = {}
    for label, (name, role, team) in KEY_HOLDERS.items():
        _key, token = services.keys.create(name, role, team)
        tokens[label] = token
    return tokens


@pytest.fixture
def app_settings(tmp_path: Path) -> AppSettings:
    return make_settings(f"sqlite:///{tmp_path / 'calmline.db'}", tmp_path)


@pytest.fixture
def app(app_settings: AppSettings) -> Iterator[FastAPI]:
    built = create_app(app_settings)
    yield built
    built.state.services.close()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def keys(app: FastAPI) -> dict[str, str]:
    return make_keys(app.state.services)


@pytest.fixture
def any_client(database_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """A client and keys on each backend (SQLite and PostgreSQL)."""
    built = create_app(make_settings(database_url, tmp_path))
    tokens = make_keys(built.state.services)
    with TestClient(built) as c:
        yield c, tokens
    built.state.services.close()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
