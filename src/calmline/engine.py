"""Wiring: turn a validated playbook into a running Engine with its detectors and rules.

Built-in detectors and rules are found through the ``calmline.detectors`` and
``calmline.rules`` entry points, the same way a plugin package adds its own.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

from calmline.core.analyzer import Engine
from calmline.core.detector import Detector, LexiconDetector, SettingsProblem
from calmline.core.rule import ReplyRule
from calmline.errors import PlaybookError
from calmline.models import shipped_models
from calmline.models.evidence import ModelEvidence
from calmline.playbook.loader import describe_location, load_playbook
from calmline.playbook.schema import Playbook


@cache
def _entry_points(group: str) -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=group)}


@cache
def _load(ep: EntryPoint) -> type:
    cls: type = ep.load()
    return cls


def detector_classes() -> dict[str, type[Detector]]:
    """Every detector class by playbook key, from the ``calmline.detectors`` entry points."""
    return {name: _load(ep) for name, ep in _entry_points("calmline.detectors").items()}


def rule_classes() -> dict[str, type[ReplyRule]]:
    """Every reply rule class by rule id, from the ``calmline.rules`` entry points."""
    return {name: _load(ep) for name, ep in _entry_points("calmline.rules").items()}


def build_engine(playbook: Playbook, *, models: bool | None = None) -> Engine:
    """An Engine for a validated playbook; settings a component refuses raise PlaybookError.

    ``models`` says whether the shipped model adds its evidence (default: the playbook's
    ``models.enabled``); False gives the rules alone.
    """
    detectors: list[Detector] = []
    rules: list[ReplyRule] = []
    known_detectors = _entry_points("calmline.detectors")
    known_rules = _entry_points("calmline.rules")
    try:
        for key, settings in playbook.detectors.items():
            ep = known_detectors.get(key)
            cls: type[Detector]
            if ep is None:
                if "signal" not in settings.params:
                    raise SettingsProblem(
                        f"detectors.{key}",
                        "no built-in detector has this name; a word-list detector needs "
                        f"params.signal (built-in: {', '.join(sorted(known_detectors))})",
                    )
                cls = LexiconDetector
            else:
                cls = _load(ep)
            detectors.append(cls(settings, key))
        for rule_id, rule_settings in playbook.rules.items():
            rule_ep = known_rules.get(rule_id)
            if rule_ep is None:
                raise SettingsProblem(
                    f"rules.{rule_id}",
                    f"no rule has this id (rules: {', '.join(sorted(known_rules))})",
                )
            rules.append(_load(rule_ep)(rule_settings))
    except SettingsProblem as exc:
        where = describe_location(playbook, exc.path)
        raise PlaybookError(
            f"{where}: {exc.path}: {exc.detail}", source=where.split(":")[0]
        ) from None
    detectors.sort(key=lambda d: getattr(d, "order", 50))
    use_models = playbook.models.enabled if models is None else models
    evidence = [ModelEvidence(shipped_models(), playbook.models)] if use_models else []
    return Engine(playbook, detectors, rules, evidence)


def load_engine(path: str | Path | None = None, *, models: bool | None = None) -> Engine:
    """Load a playbook (the default when ``path`` is None) and build its engine (``models``
    as in :func:`build_engine`)."""
    return build_engine(load_playbook(path), models=models)


@cache
def default_engine() -> Engine:
    """The engine of the shipped default playbook, built once per process."""
    return load_engine(None)
