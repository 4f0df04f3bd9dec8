"""Shared fixtures: the default engine, and helpers to read case files."""

from __future__ import annotations

from pathlib import Path

import pytest

from calmline import Engine, default_engine

CASES = Path(__file__).parent / "cases"


@pytest.fixture(scope="session")
def engine() -> Engine:
    return default_engine()
