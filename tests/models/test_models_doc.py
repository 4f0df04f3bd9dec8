"""docs/models.md shows what calmline does, and names every setting, option, file key and error."""

from __future__ import annotations

import io
import json
import re
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from calmline.core.settings import ModelSettings
from calmline.errors import ModelError
from calmline.models import load_models
from calmline.models.card import PACKAGE_DATA
from calmline.models.linear import FEATURES_VERSION
from calmline.rules.b3_condescending import CondescendingParams

ROOT = Path(__file__).parents[2]
DOC = (ROOT / "docs" / "models.md").read_text(encoding="utf-8")


def section(heading: str) -> str:
    start = DOC.index(f"\n## {heading}\n")
    end = DOC.find("\n## ", start + 1)
    return DOC[start : end if end > 0 else len(DOC)]


def test_the_python_example_runs_and_its_comments_are_what_it_gives() -> None:
    code = DOC.split("```python", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(code, "docs/models.md", "exec"), namespace)
    shown = re.findall(r"^(\w+) = .*\n# (.+)$", code, flags=re.M)
    assert len(shown) >= 5
    for name, comment in shown:
        assert repr(namespace[name]) == comment, (
            f"docs/models.md: {name} is now {namespace[name]!r}"
        )


def test_every_setting_is_documented_with_its_default() -> None:
    part = section("Settings")
    for name, field in ModelSettings.model_fields.items():
        default = json.dumps(field.default)
        assert f"| `{name}` | `{default}` |" in part, f"models.{name} (default {default})"
    threshold = CondescendingParams.model_fields["impolite_threshold"].default
    assert f"| `impolite_threshold` | `{threshold}` |" in part
    assert "| `impolite_message` |" in part
    assert "models: {enabled: false}" in section("Turning it off")


def test_the_yaml_example_is_a_valid_playbook() -> None:
    from calmline.playbook.loader import load_playbook

    block = section("Settings").split("```yaml", 1)[1].split("```", 1)[0]
    playbook = load_playbook(text=block.encode())
    assert playbook.models.insult_threshold == 0.9


def test_every_option_of_the_training_script_is_documented() -> None:
    from calmline.models import train

    out = io.StringIO()
    with redirect_stdout(out), pytest.raises(SystemExit):
        train.main(["--help"])
    options = set(re.findall(r"(--[a-z][a-z-]+)", out.getvalue())) - {"--help"}
    assert options == {"--data", "--out", "--seed", "--check"}
    part = section("Training it again")
    for option in options:
        assert f"| `{option}" in part, option
    for code in ("**0**", "**1**", "**2**"):
        assert code in part
    assert "python -m calmline.models.card --check" in part


def test_every_key_of_the_model_json_is_documented() -> None:
    shipped = json.loads((PACKAGE_DATA / "calmline-text.json").read_text(encoding="utf-8"))
    part = section("The files")
    for key in shipped:
        assert f"`{key}`" in part, key
    for key in shipped["heads"][0]:
        assert f"`{key}`" in part, f"heads[].{key}"
    for key in shipped["features"]:
        assert f"`{key}`" in part, f"features.{key}"


def test_the_error_examples_are_the_messages_calmline_gives() -> None:
    where = "calmline/models/data/calmline-text"
    head = {"name": "offensive", "bias": 0, "platt_a": 1, "platt_b": 0, "threshold": 0.5}
    good_meta = json.dumps({"features_version": FEATURES_VERSION, "heads": [head]}).encode()
    old_meta = json.dumps({"features_version": FEATURES_VERSION - 1, "heads": [head]}).encode()

    def npz(array: np.ndarray) -> bytes:
        out = io.BytesIO()
        np.savez(out, weights=array)
        return out.getvalue()

    from calmline.models import features as feats

    cases = [
        (npz(np.zeros((feats.N_FEATURES, 1), np.float16)), old_meta),
        (npz(np.array([{}], dtype=object)), good_meta),
        (npz(np.full((feats.N_FEATURES, 1), np.nan, np.float16)), good_meta),
    ]
    part = section("Errors")
    for weights, meta in cases:
        with pytest.raises(ModelError) as caught:
            load_models(weights, meta, where=where)
        message = (
            str(caught.value)
            .replace(f"version {FEATURES_VERSION - 1}", "version 1")
            .replace(f"version {FEATURES_VERSION}", "version 2")
        )
        assert message in part, message
    assert "`model_invalid`" in part and "`training_data_invalid`" in part


def test_readme_and_the_playbook_docs_link_here() -> None:
    assert "(docs/models.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(models.md)" in (ROOT / "docs" / "playbook.md").read_text(encoding="utf-8")
