"""The playbook file format: principles, engine settings and scripted lines (pydantic)."""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from pydantic import Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from calmline.core.settings import EngineSettings, Settings, Template, check_template
from calmline.playbook.pacing import PacingSettings
from calmline.playbook.protocol import PROTOCOL_STEPS, ProtocolDefinition
from calmline.playbook.relent import RelentSettings


class Principle(Settings):
    """One principle of the playbook; every rule, score and template cites its id."""

    id: str = Field(pattern=r"^[A-E][1-9]$")
    group: Literal["A", "B", "C", "D", "E"]
    title: str = Field(min_length=3, max_length=120)
    summary: str = Field(min_length=3, max_length=600)

    @model_validator(mode="after")
    def _group_matches(self) -> Principle:
        if self.id[0] != self.group:
            raise ValueError(f"principle {self.id} is listed under group {self.group}")
        return self


class Scripts(Settings):
    """Scripted lines, several variants each, with placeholders such as {name_comma}."""

    protocol: dict[str, list[Template]] = Field(
        default_factory=dict, description="Boundary protocol steps D1-D5, variants each"
    )
    apology: list[Template] = Field(default_factory=list, description="B5 apologies")
    bad_news: list[Template] = Field(default_factory=list, description="C3 bad news")
    invitation: list[Template] = Field(default_factory=list, description="B4 invitations")
    bargain: list[Template] = Field(default_factory=list, description="E1 bargain offers")
    grant: list[Template] = Field(default_factory=list, description="E2 granting a demand")

    @field_validator("protocol")
    @classmethod
    def _steps(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = set(value) - set(PROTOCOL_STEPS)
        if unknown:
            raise ValueError(f"unknown protocol step(s) {sorted(unknown)}; steps are D1-D5")
        for step, lines in value.items():
            if len(lines) < 2:
                raise ValueError(f"step {step} needs at least two variants, got {len(lines)}")
            for line in lines:
                check_template(line)
        return value

    @field_validator("apology", "bad_news", "invitation", "bargain", "grant")
    @classmethod
    def _lines(cls, value: list[str]) -> list[str]:
        if value and len(value) < 2:
            raise ValueError("give at least two variants so replies do not sound canned")
        return [check_template(t) for t in value]


class Playbook(EngineSettings):
    """A whole playbook: what the engine runs on plus the principles and scripts it cites."""

    version: Literal[1] = 1
    name: str = Field(default="default", max_length=80)
    principles: list[Principle] = Field(min_length=1)
    scripts: Scripts = Field(default_factory=Scripts)
    pacing: PacingSettings = Field(default_factory=PacingSettings)
    relent: RelentSettings = Field(default_factory=RelentSettings)
    #: the boundary protocol (D1-D5); the default is default/coaching/protocol.yaml
    protocol: ProtocolDefinition
    #: the files it was read from (for error messages that name file and line)
    _origin: list[Any] = PrivateAttr(default_factory=list)

    def reference_problems(self) -> list[tuple[str, str]]:
        """(key path, problem) for every principle id cited but not defined, duplicates, and
        everything that makes the boundary protocol unsound."""
        counts = Counter(p.id for p in self.principles)
        problems = [
            (f"principles.{i}.id", f"{p.id} is listed more than once")
            for i, p in enumerate(self.principles)
            if counts[p.id] > 1
        ]
        for kind, items in (
            ("detectors", self.detectors),
            ("rules", self.rules),
            ("credits", self.credits),
        ):
            for key, item in items.items():
                if item.principle not in counts:
                    problems.append(
                        (
                            f"{kind}.{key}.principle",
                            f"{item.principle} is not a principle of this playbook",
                        )
                    )
        problems += [(f"protocol.{path}", msg) for path, msg in self.protocol.problems()]
        return problems

    @model_validator(mode="after")
    def _protocol_scripts(self) -> Playbook:
        # the protocol renders its own lines (a premature end's rewrite) from these scripts
        self.protocol.attach_scripts(self.scripts.protocol)
        return self

    @model_validator(mode="after")
    def _references(self, info: ValidationInfo) -> Playbook:
        if info.context and info.context.get("defer_references"):
            return self  # the loader reports them itself, with file and line
        problems = self.reference_problems()
        if problems:
            raise ValueError("; ".join(f"{path}: {msg}" for path, msg in problems))
        return self

    def principle(self, pid: str) -> Principle:
        for p in self.principles:
            if p.id == pid:
                return p
        raise KeyError(pid)
