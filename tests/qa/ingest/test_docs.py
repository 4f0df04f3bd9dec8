"""docs/qa-formats.md cannot drift from the example files and the readers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from calmline.errors import ArchiveError
from calmline.qa.ingest import FORMATS, detect_format
from tests.qa.ingest.conftest import EXAMPLES, ROOT

PAGE = (ROOT / "docs" / "qa-formats.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("path", sorted(EXAMPLES.iterdir()), ids=lambda p: p.name)
def test_each_example_is_shown_unchanged(path: Path) -> None:
    content = path.read_text(encoding="utf-8").rstrip("\n")
    assert f"\n{content}\n```" in PAGE, f"{path.name} differs from docs/qa-formats.md"
    assert f"`docs/qa-formats/{path.name}`" in PAGE


def test_every_format_has_its_row_and_section() -> None:
    for name in FORMATS:
        assert f"| `{name}` |" in PAGE, name


def test_the_python_example_prints_what_it_says(capsys: pytest.CaptureFixture[str]) -> None:
    code = re.search(r"```python\n(.*?)```", PAGE, flags=re.S)
    assert code is not None
    import os

    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        exec(compile(code.group(1), "docs/qa-formats.md", "exec"), {})
    finally:
        os.chdir(cwd)
    out = capsys.readouterr().out
    comment = re.search(r"print\(item\)\s+# (.*)", code.group(1))
    assert comment is not None and comment.group(1) in out


def test_the_documented_error_is_the_real_one(tmp_path: Path) -> None:
    shown = re.search(r"\$ calmline qa tickets.xml .*\n(tickets.xml: .*)\n", PAGE)
    assert shown is not None
    path = tmp_path / "tickets.xml"
    path.write_text('<?xml version="1.0"?>\n<tickets/>\n')
    with pytest.raises(ArchiveError) as caught:
        detect_format(path)
    assert caught.value.message.replace(str(path), "tickets.xml") == shown.group(1)


def test_the_error_never_echoes_the_file_text(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("Call Jane Doe on 555-0100, she is furious\nmore\n")
    with pytest.raises(ArchiveError) as caught:
        detect_format(path)
    assert "Jane" not in caught.value.message and "555" not in caught.value.message
