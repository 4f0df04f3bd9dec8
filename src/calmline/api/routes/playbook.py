"""The playbook in force: read it, check a new one, and (admins) replace it while running.

A replacement is checked completely (schema, references, protocol, every detector and rule
built) before anything changes; an invalid one is a 422 listing each problem with its file,
line and key, and the service keeps the playbook it had. A valid one is stored (it survives a
restart) and swapped in: new requests and new coaches use it at once.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from calmline.api.deps import Admin, AnyRole, ServicesDep, Trainer
from calmline.api.schemas.playbook import (
    PlaybookPublic,
    PlaybookReplace,
    PlaybookText,
    PlaybookVersionPublic,
    ValidationPublic,
)
from calmline.api.services import PlaybookInForce
from calmline.core.analyzer import Engine
from calmline.engine import build_engine, rule_classes
from calmline.errors import PlaybookError
from calmline.playbook.loader import load_playbook
from calmline.playbook.schema import Playbook

router = APIRouter(prefix="/v1/playbook", tags=["playbook"])

#: The name problems in a sent playbook are reported under.
SENT_NAME = "playbook.yaml"


def engine_of(text: str) -> Engine:
    """The engine of a team playbook's YAML text; PlaybookError with every problem."""
    return build_engine(load_playbook(SENT_NAME, text=text.encode("utf-8", "surrogatepass")))


def describe(playbook: Playbook) -> dict[str, Any]:
    classes = rule_classes()
    rules = []
    for rule_id, settings in playbook.rules.items():
        cls = classes.get(rule_id)
        rules.append(
            {
                "id": rule_id,
                "principle": settings.principle,
                "severity": settings.severity.value,
                "enabled": settings.enabled,
                "summary": cls.doc().summary if cls is not None else settings.message,
            }
        )
    return {
        "name": playbook.name,
        "principles": [
            {"id": p.id, "group": p.group, "title": p.title, "summary": p.summary}
            for p in playbook.principles
        ],
        "rules": rules,
        "signals": [
            {
                "detector": key,
                "principle": settings.principle,
                "enabled": settings.enabled,
                "threshold": settings.threshold,
            }
            for key, settings in playbook.detectors.items()
        ],
    }


@router.get("", response_model=PlaybookPublic, summary="The playbook in force")
def read(services: ServicesDep, _key: AnyRole) -> Any:
    """Where it came from (default, the settings' file, or stored through this API) and its
    principles, rules and signal detectors."""
    in_force = services.playbook
    playbook = in_force.engine.settings
    described = describe(playbook) if isinstance(playbook, Playbook) else {}
    return {"source": in_force.source, "version": in_force.version, **described}


@router.post("/validate", response_model=ValidationPublic, summary="Check a playbook")
def validate(body: PlaybookText, _key: Trainer) -> Any:
    """Whether the YAML would be accepted as the playbook, and every problem if not. Changes
    nothing."""
    try:
        engine_of(body.yaml)
    except PlaybookError as exc:
        return {"valid": False, "problems": exc.problems}
    return {"valid": True, "problems": []}


@router.put("", response_model=PlaybookVersionPublic, summary="Replace the playbook")
def replace(body: PlaybookReplace, services: ServicesDep, key: Admin) -> Any:
    """Check, store and put in force a new playbook (YAML over the default, as a team file).
    422 ``playbook_invalid`` with ``problems`` when it is not valid; nothing changes then."""
    engine = engine_of(body.yaml)
    version = services.playbooks.save(body.yaml, key.name, body.note)
    services.use_playbook(PlaybookInForce(engine, "stored", version))
    return {"version": version, "source": "stored"}
