"""docs/storage.md stays true: its Python example runs and shows what it says."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from calmline.store.models import Base
from calmline.store.service import ConversationService

DOC = Path(__file__).parents[2] / "docs" / "storage.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_the_service_example_runs_and_its_comments_are_true(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the example's relative sqlite:///calmline.db lands here
    (example,) = [b for b in python_blocks(DOC.read_text("utf-8")) if "ConversationService" in b]
    namespace: dict[str, Any] = {}
    exec(compile(example, "docs/storage.md", "exec"), namespace)
    checked = 0
    assert (tmp_path / "calmline.db").is_file()
    for line in example.splitlines():
        expression, _, shown = line.partition("  #")
        shown = shown.split("until")[0].strip()
        if (
            shown[:1] not in ("'", "[", "(")
            or re.match(r"\s*\w+ = ", expression)
            or not expression.strip()
        ):
            continue  # only the comments that show a value
        value = eval(expression.strip(), namespace)
        assert repr(value) == shown, f"{expression.strip()} gives {value!r}, the doc says {shown}"
        checked += 1
    assert checked == 4


def test_every_table_and_column_is_in_the_doc() -> None:
    text = DOC.read_text("utf-8")
    tables = text[text.index("## The tables") : text.index("## Personal data")]
    for table in Base.metadata.sorted_tables:
        row = next(line for line in tables.splitlines() if line.startswith(f"| `{table.name}`"))
        for column in table.columns:
            if column.name == "id" or (
                table.name == "conversations" and column.name == "external_id"
            ):
                continue
            wanted = "conversation_id" if column.name == "conversation_id" else column.name
            assert f"`{wanted}`" in row, f"{table.name}.{column.name} is not in docs/storage.md"


def test_every_service_method_is_in_the_doc() -> None:
    text = DOC.read_text("utf-8")
    public = [n for n in vars(ConversationService) if not n.startswith("_")]
    for name in public:
        assert f"`{name}(" in text or f"/ `{name}(" in text, name
