"""Where the ingest tests find their archives: the documented examples and hostile fixtures."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).parents[3]
EXAMPLES = ROOT / "docs" / "qa-formats"
DATA = Path(__file__).parent / "data"
