"""docs/api.md documents every route of the OpenAPI document, and nothing the app does not serve."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import FastAPI

DOC = Path(__file__).parents[2] / "docs" / "api.md"
HEADING = re.compile(r"^### `(GET|POST|PUT|PATCH|DELETE) (/[^`]*)`$", re.M)


def documented() -> dict[tuple[str, str], str]:
    """Each endpoint heading of docs/api.md and its section's text."""
    text = DOC.read_text(encoding="utf-8")
    found = list(HEADING.finditer(text))
    sections = {}
    for number, match in enumerate(found):
        end = found[number + 1].start() if number + 1 < len(found) else len(text)
        sections[(match.group(1), match.group(2))] = text[match.end() : end]
    return sections


def served(app: FastAPI) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }


def test_every_route_in_the_openapi_document_is_in_api_md(app: FastAPI) -> None:
    missing = served(app) - set(documented())
    assert not missing, f"routes without a section in docs/api.md: {sorted(missing)}"


def test_api_md_documents_no_route_the_app_does_not_serve(app: FastAPI) -> None:
    stale = set(documented()) - served(app)
    assert not stale, f"sections of docs/api.md for routes the app does not serve: {sorted(stale)}"


def test_each_section_has_roles_and_a_curl_example(app: FastAPI) -> None:
    for (method, path), section in documented().items():
        where = f"{method} {path}"
        if path.startswith("/v1/"):
            assert "Roles: " in section, f"{where}: say which roles may use it"
        else:
            assert "No key." in section, f"{where}: say that it needs no key"
        assert "```sh\ncurl " in section, f"{where}: give a curl example"


def test_every_problem_code_in_api_md_is_a_real_one() -> None:
    from calmline.api.problems import HTTP_CODES
    from calmline.errors import CalmlineError

    def subclasses(cls: type[CalmlineError]) -> list[type[CalmlineError]]:
        return [s for c in cls.__subclasses__() for s in (c, *subclasses(c))]

    known = {c.code for c in subclasses(CalmlineError)} | set(HTTP_CODES.values())
    known.add("body_unreadable")
    table = DOC.read_text(encoding="utf-8").split("## Errors", 1)[1].split("## Analysis", 1)[0]
    codes = set(re.findall(r"\| \d{3} \| ([^|]+) \|", table))
    named = {code.strip("` ") for cell in codes for code in cell.split(",")}
    assert named, "the errors table lists no codes"
    assert named <= known, sorted(named - known)
