"""What one running service holds: the database, the stores over it and the calmline engine.

Built once by :func:`calmline.api.app.create_app` and handed to routes through
:data:`calmline.api.deps.ServicesDep`. The engine (the playbook in force) can be replaced while the
service runs: an admin's new playbook is validated, stored and then swapped in for new requests;
requests already running finish with the engine they started with.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from calmline.core.analyzer import Engine
from calmline.engine import build_engine, load_engine
from calmline.playbook.loader import load_playbook
from calmline.settings import AppSettings
from calmline.store.db import make_engine, make_session_factory, migrate
from calmline.store.keys import KeyStore
from calmline.store.playbooks import PlaybookStore
from calmline.store.practice import PracticeStore
from calmline.store.service import ConversationService
from calmline.store.training import TrainingStore


@dataclass(frozen=True, slots=True)
class PlaybookInForce:
    """The playbook the service runs on and where it came from."""

    engine: Engine
    #: ``default``, ``file`` (the settings' playbook) or ``stored`` (replaced through the API)
    source: str
    #: the stored version's id when ``source`` is ``stored``
    version: int | None = None


@dataclass
class Services:
    settings: AppSettings
    db: sa.Engine
    sessions: sessionmaker[Session]
    keys: KeyStore
    training: TrainingStore
    practice: PracticeStore
    playbooks: PlaybookStore
    _playbook: PlaybookInForce
    _conversations: ConversationService
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def playbook(self) -> PlaybookInForce:
        return self._playbook

    @property
    def engine(self) -> Engine:
        return self._playbook.engine

    @property
    def conversations(self) -> ConversationService:
        return self._conversations

    def use_playbook(self, playbook: PlaybookInForce) -> None:
        """Swap in a new playbook: new requests and new coaches use it."""
        service = ConversationService(self.sessions, playbook.engine, self.settings.notify)
        with self._lock:
            self._playbook = playbook
            self._conversations = service

    def close(self) -> None:
        self.db.dispose()


def starting_playbook(settings: AppSettings, playbooks: PlaybookStore) -> PlaybookInForce:
    """The newest playbook stored through the API, else the settings' file, else the default."""
    latest = playbooks.latest()
    if latest is not None:
        version, text = latest
        playbook = load_playbook(text=text.encode("utf-8"))
        return PlaybookInForce(build_engine(playbook), "stored", version)
    if settings.playbook is not None:
        return PlaybookInForce(load_engine(settings.playbook), "file")
    return PlaybookInForce(load_engine(None), "default")


def build_services(settings: AppSettings, *, upgrade: bool = True) -> Services:
    """Open (and by default migrate) the database and build every store over it."""
    url = settings.resolved_database_url
    if upgrade:
        migrate(url)
    db = make_engine(url, must_exist=True)
    sessions = make_session_factory(db)
    playbooks = PlaybookStore(sessions)
    playbook = starting_playbook(settings, playbooks)
    return Services(
        settings=settings,
        db=db,
        sessions=sessions,
        keys=KeyStore(sessions),
        training=TrainingStore(sessions),
        practice=PracticeStore(sessions),
        playbooks=playbooks,
        _playbook=playbook,
        _conversations=ConversationService(sessions, playbook.engine, settings.notify),
    )
