"""Loading playbooks: the shipped default, a team's file over it, errors that say file:line: key.

A team file has the same layout as the default. Mappings merge key by key (so a team adds
words to a lexicon or changes one threshold); lists and single values replace. A phrase
given weight 0 is switched off. ``extends: none`` makes a file stand alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

import yaml
from pydantic import ValidationError

from calmline.errors import PlaybookError, ProtocolError
from calmline.playbook.schema import Playbook

MAX_PLAYBOOK_BYTES = 5_000_000
_DEFAULT_PACKAGE = "calmline.playbook"


class _StrictLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses duplicate keys instead of keeping the last one."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping",
                node.start_mark,
                f"found the key {key!r} twice (first on line {seen[key].start_mark.line + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass
class _Source:
    name: str
    text: str
    data: dict[str, Any]


def _parse(name: str, raw: bytes) -> _Source:
    if len(raw) > MAX_PLAYBOOK_BYTES:
        raise PlaybookError(
            f"{name}: the file is {len(raw):,} bytes; a playbook may be at most "
            f"{MAX_PLAYBOOK_BYTES:,}",
            source=name,
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PlaybookError(
            f"{name}: not valid UTF-8 at byte {exc.start} ({exc.reason})", source=name
        ) from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else name
        raise PlaybookError(f"{where}: not valid YAML: {exc.problem}", source=name) from None
    except yaml.YAMLError as exc:
        raise PlaybookError(f"{name}: not valid YAML: {exc}", source=name) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PlaybookError(
            f"{name}: a playbook is a mapping of sections (principles, detectors, rules ...), "
            f"got {type(data).__name__}",
            source=name,
        )
    return _Source(name, text, data)


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _default_sources() -> list[_Source]:
    root = resources.files(_DEFAULT_PACKAGE).joinpath("default")
    sources: list[_Source] = []

    def walk(node: Any, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            if child.is_dir():
                walk(child, f"{prefix}{child.name}/")
            elif child.name.endswith(".yaml"):
                sources.append(_parse(f"default/{prefix}{child.name}", child.read_bytes()))

    walk(root, "")
    return sources


def _line_of(source: _Source, path: Iterable[Any]) -> int | None:
    """The line of a key path in a source file (None when it is not there)."""
    try:
        node: yaml.Node | None = yaml.compose(source.text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    line = None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if str(key_node.value) == str(part):
                    line = key_node.start_mark.line + 1
                    node = value_node
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _has_path(data: Any, path: Iterable[Any]) -> bool:
    for part in path:
        found = (isinstance(data, Mapping) and part in data) or (
            isinstance(data, list) and isinstance(part, int) and part < len(data)
        )
        if not found:
            return False
        data = data[part]
    return True


def _describe(errors: list[Any], sources: list[_Source]) -> list[str]:
    problems = []
    for err in errors:
        loc = list(err["loc"])
        key = ".".join(str(p) for p in loc) or "(top level)"
        origin = next((s for s in reversed(sources) if _has_path(s.data, loc)), None)
        if origin is None and loc:
            origin = next((s for s in reversed(sources) if _has_path(s.data, loc[:-1])), None)
        where = origin.name if origin else sources[-1].name
        line = _line_of(origin, loc) if origin else None
        if line:
            where = f"{where}:{line}"
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; see docs/playbook.md for the layout)"
        elif err["type"] == "missing":
            message = "required key is missing"
        got = err.get("input")
        shown = (
            ""
            if err["type"] in ("missing", "extra_forbidden") or isinstance(got, (dict, list))
            else f" (got {got!r})"
        )
        problems.append(f"{where}: {key}: {message}{shown}")
    return problems


def _validate(data: dict[str, Any], sources: list[_Source]) -> Playbook:
    try:
        playbook = Playbook.model_validate(data, context={"defer_references": True})
    except ValidationError as exc:
        errors = exc.errors()
        _raise(_describe(errors, sources), sources, _error_class(e["loc"][:1] for e in errors))
    playbook._origin = sources
    references = playbook.reference_problems()
    if references:
        _raise(
            [f"{describe_location(playbook, path)}: {path}: {msg}" for path, msg in references],
            sources,
            _error_class((path.split(".", 1)[0],) for path, _ in references),
        )
    return playbook


def _error_class(sections: Iterable[tuple[Any, ...]]) -> type[PlaybookError]:
    """ProtocolError when every problem is in the boundary protocol, else PlaybookError."""
    return ProtocolError if all(s == ("protocol",) for s in sections) else PlaybookError


def _raise(
    problems: list[str], sources: list[_Source], error: type[PlaybookError] = PlaybookError
) -> NoReturn:
    head = (
        problems[0]
        if len(problems) == 1
        else f"{len(problems)} problems in the playbook:\n  " + "\n  ".join(problems)
    )
    raise error(head, source=sources[-1].name if sources else "", problems=problems)


def describe_location(playbook: Playbook, dotted: str) -> str:
    """'file:line' of a dotted key path of a loaded playbook (best effort)."""
    sources: list[_Source] = playbook._origin
    loc: list[Any] = [int(p) if p.isdigit() else p for p in dotted.split(".")]
    for cut in range(len(loc), 0, -1):
        origin = next((s for s in reversed(sources) if _has_path(s.data, loc[:cut])), None)
        if origin is not None:
            line = _line_of(origin, loc[:cut])
            return f"{origin.name}:{line}" if line else origin.name
    return sources[-1].name if sources else "<playbook>"


def read_playbook_sources(
    path: str | Path | None = None, text: bytes | None = None
) -> tuple[dict[str, Any], list[_Source]]:
    """The merged raw data of the default playbook and, when given, a team file over it."""
    sources = _default_sources()
    data: dict[str, Any] = {}
    team: _Source | None = None
    if text is not None:
        team = _parse(str(path or "<playbook>"), text)
    elif path is not None:
        p = Path(path)
        try:
            raw = p.read_bytes()
        except FileNotFoundError:
            raise PlaybookError(f"{p}: no such playbook file", source=str(p)) from None
        except IsADirectoryError:
            raise PlaybookError(
                f"{p}: is a folder; give the playbook's YAML file", source=str(p)
            ) from None
        except OSError as exc:
            raise PlaybookError(f"{p}: cannot read it ({exc.strerror})", source=str(p)) from None
        team = _parse(str(p), raw)
    if team is not None:
        extends = team.data.pop("extends", "default")
        if extends not in ("default", "none"):
            raise PlaybookError(
                f"{team.name}: extends: expected 'default' or 'none' (got {extends!r})",
                source=team.name,
            )
        if extends == "none":
            sources = []
        sources.append(team)
    for source in sources:
        data = _merge(data, source.data)
    return data, sources


def load_playbook(path: str | Path | None = None, *, text: bytes | None = None) -> Playbook:
    """The default playbook, or a team's file merged over it (``text`` for in-memory YAML).

    Raises :class:`PlaybookError` naming the file, line and key path of every problem.
    """
    data, sources = read_playbook_sources(path, text)
    return _validate(data, sources)
