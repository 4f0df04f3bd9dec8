"""The Detector base: lexicons + patterns + context words in, explained Signals out.

A detector declares the lexicons it reads (their words live in the playbook) and turns the
hits of one shared scan into signals. Each signal carries the words that triggered it and a
one-line explanation, so every score can be traced back. Learned models plug in as
:class:`EvidenceSource` objects that add evidence to signals without callers changing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import re2
from pydantic import BaseModel, ValidationError

from calmline.core.matcher import Hit, Hits
from calmline.core.settings import DetectorSettings
from calmline.core.text import TextView
from calmline.core.types import Signal, Span


class SettingsProblem(ValueError):
    """A detector or rule was given settings it cannot use; ``path`` says which key."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.detail = message


def validate_params(model: type[BaseModel] | None, params: Mapping[str, Any], path: str) -> Any:
    """Validate a ``params`` block with a component's own pydantic model."""
    if model is None:
        if params:
            raise SettingsProblem(path, f"takes no params, got {sorted(params)}")
        return None
    try:
        return model.model_validate(dict(params))
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise SettingsProblem(f"{path}.{where}" if where else path, err["msg"]) from None


@dataclass(slots=True)
class Scan:
    """One message being analysed: its tokens, the lexicon hits and the signals found so far."""

    view: TextView
    hits: Hits
    names: Sequence[str] = ()
    signals: list[Signal] = field(default_factory=list)

    def found(self, signal_type: str) -> list[Signal]:
        return [s for s in self.signals if s.type == signal_type]


class Detector:
    """Base class of a detector: one family of signals, one file, its words in the playbook.

    Subclasses set ``name`` (the playbook key), ``signal_types``, ``lexicon_names`` and
    implement :meth:`detect`. ``always_run`` detectors run even when no lexicon word is in
    the message (shouting, amounts); the others are skipped for speed.
    """

    name: ClassVar[str] = ""
    signal_types: ClassVar[tuple[str, ...]] = ()
    lexicon_names: ClassVar[tuple[str, ...]] = ()
    always_run: ClassVar[bool] = False
    Params: ClassVar[type[BaseModel] | None] = None

    def __init__(self, settings: DetectorSettings, key: str | None = None) -> None:
        self.key = key or self.name
        self.settings = settings
        self.principle = settings.principle
        self.threshold = settings.threshold
        path = f"detectors.{self.key}"
        unknown = set(settings.lexicons) - set(self.lexicon_names) if self.lexicon_names else set()
        if unknown:
            raise SettingsProblem(
                f"{path}.lexicons",
                f"unknown lexicon(s) {sorted(unknown)}; this detector reads "
                f"{list(self.lexicon_names)}",
            )
        self.params: Any = validate_params(self.Params, settings.params, f"{path}.params")
        self.patterns: list[tuple[str, Any, float]] = []
        for i, pattern in enumerate(settings.patterns):
            try:
                compiled = re2.compile(pattern.regex)
            except Exception as exc:  # re2 raises its own error type
                raise SettingsProblem(
                    f"{path}.patterns.{i}.regex",
                    f"not a valid RE2 expression (no look-arounds or back-references): {exc}",
                ) from None
            self.patterns.append((pattern.name, compiled, pattern.weight))

    def lexicons(self) -> Iterator[tuple[str, str, Mapping[str, float]]]:
        """The (owner, lexicon name, phrases) this detector wants matched."""
        for name, phrases in self.settings.lexicons.items():
            yield self.key, name, phrases

    def wants(self, scan: Scan) -> bool:
        """Whether to run on this message (skip quickly when none of its words are present)."""
        return self.always_run or bool(self.patterns) or self.key in scan.hits.owners()

    def triggers(self) -> frozenset[str] | None:
        """The owners (detectors, by key) of which one at least must have a lexicon hit in a
        message for :meth:`wants` to be true there, so that the engine need not ask on the
        many messages with none; None when it must always ask.

        A subclass that overrides :meth:`wants` says its own triggers, or is always asked.
        """
        if self.always_run or self.patterns or type(self).wants is not Detector.wants:
            return None
        return frozenset({self.key})

    def hits(self, scan: Scan, lexicon: str, owner: str | None = None) -> list[Hit]:
        return scan.hits.get(owner or self.key, lexicon)

    def detect(self, scan: Scan) -> Iterable[Signal]:  # pragma: no cover - abstract
        raise NotImplementedError

    def pattern_signals(self, scan: Scan, signal_type: str, explanation: str) -> Iterator[Signal]:
        """Signals for the playbook's extra regex patterns (RE2, linear-time)."""
        for pattern_name, compiled, weight in self.patterns:
            for m in compiled.finditer(scan.view.text):
                span = (m.start(), m.end())
                if span[0] == span[1] or scan.view.quoted(span):
                    continue
                yield self.signal(
                    signal_type, span, weight, explanation, scan.view, evidence=(pattern_name,)
                )

    def signal(
        self,
        signal_type: str,
        span: Span,
        score: float,
        explanation: str,
        view: TextView,
        *,
        evidence: Iterable[str] = (),
        detail: Mapping[str, Any] | None = None,
    ) -> Signal:
        return Signal(
            type=signal_type,
            principle=self.principle,
            span=span,
            score=max(0.0, min(1.0, score)),
            explanation=explanation,
            text=view.slice(span),
            evidence=tuple(evidence),
            detail=dict(detail or {}),
        )


class LexiconDetector(Detector):
    """A detector defined only in YAML: every phrase of its lexicons reports ``signal``.

    Negated and quoted phrases are ignored; the score is the phrase's weight.
    """

    name = "lexicon"

    def __init__(self, settings: DetectorSettings, key: str | None = None) -> None:
        super().__init__(settings, key)
        signal = settings.params.get("signal") if isinstance(settings.params, dict) else None
        self.emits = str(signal or f"custom.{self.key}")

    def detect(self, scan: Scan) -> Iterator[Signal]:
        view = scan.view
        explanation = self.settings.explanation or f"matches the team word list {self.key!r}"
        for lexicon in self.settings.lexicons:
            for hit in self.hits(scan, lexicon):
                span = view.span_of(hit.first, hit.last)
                if view.negated(hit.first) or view.quoted(span):
                    continue
                if hit.weight >= self.threshold:
                    yield self.signal(
                        self.emits, span, hit.weight, explanation, view, evidence=(hit.phrase,)
                    )
        yield from self.pattern_signals(scan, self.emits, explanation)


class LexiconParams(BaseModel):
    signal: str


LexiconDetector.Params = LexiconParams


#: the evidence type that adds to a message's anger score instead of to a signal
ANGER_EVIDENCE = "anger"


@dataclass(frozen=True, slots=True)
class Evidence:
    """Evidence from a learned model for a signal type (``span`` None means the whole message),
    or for the message's anger score (type :data:`ANGER_EVIDENCE`)."""

    signal_type: str
    score: float
    explanation: str
    span: Span | None = None


class EvidenceSource(Protocol):
    """Anything that adds evidence to signals, such as the shipped model
    (``calmline.models.evidence``)."""

    name: str

    def evidence(self, view: TextView) -> Iterable[Evidence]: ...

    def politeness(self, text: str) -> float | None:
        """The probability that an agent's draft reads as polite, or None if not known."""
        ...
