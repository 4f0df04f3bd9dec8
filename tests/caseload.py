"""Reading the YAML case files (tests as data) into pytest parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

CASES = Path(__file__).parent / "cases"


def _as_case(item: Any, key: str) -> dict[str, Any]:
    return {key: item} if isinstance(item, str) else dict(item)


def load_cases(kind: str, key: str) -> list[Any]:
    """pytest params for every case in cases/<kind>/*.yml: (file id, expectation, case)."""
    params = []
    for path in sorted((CASES / kind).glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        owner = data.get("detector") or data.get("rule")
        default_type = data.get("type")
        for expect in ("fires", "silent"):
            for n, item in enumerate(data.get(expect) or []):
                case = _as_case(item, key)
                case.setdefault("type", default_type)
                case["owner"] = owner
                text = str(case[key])[:40].replace("\n", " ")
                params.append(pytest.param(expect, case, id=f"{path.stem}-{expect}-{n}-{text}"))
    return params
