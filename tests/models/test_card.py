"""The model card in the package is what its model files say, and says what a card must."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from calmline.models import MODEL_FILE, shipped_models
from calmline.models.card import CARD_FILE, PACKAGE_DATA, main, render_blocks, render_card

CARD = PACKAGE_DATA / CARD_FILE
REFRESH = "run `python -m calmline.models.card`"


def shipped_card() -> str:
    return CARD.read_text(encoding="utf-8")


def test_the_card_is_what_the_shipped_files_render() -> None:
    size = (PACKAGE_DATA / f"{MODEL_FILE}.npz").stat().st_size
    rendered = render_card(shipped_card(), shipped_models(), size)
    assert rendered == shipped_card(), f"{CARD} is out of date: {REFRESH}"


def test_the_card_has_every_section_a_card_needs() -> None:
    card = shipped_card()
    for heading in (
        "## Intended use",
        "## Heads",
        "## Training data",
        "## How it was trained",
        "## Dev-set metrics",
        "## Calibration",
        "## Identity-term probes",
        "## Known limits",
        "## Size on disk and inference cost",
    ):
        assert f"\n{heading}\n" in card, heading
    for needle in (
        "Not a moderation verdict",
        "Not for decisions about people",
        "African American English",
        "English only",
        "sarcasm",
        "OLID",
        "python -m calmline.models.train --data ../shared/data",
    ):
        assert needle in card, needle


def test_every_head_licence_and_metric_of_the_metadata_is_on_the_card() -> None:
    model = shipped_models()
    card = shipped_card()
    for folder, info in model.meta["data"].items():
        assert f"| `{folder}` | {info['license']} | {info['attribution']} |" in card
    for name, metrics in model.meta["metrics"].items():
        assert f"| `{name}` | {metrics['rows']} | {metrics['positives']} |" in card
        assert f"| `{name}` | {metrics['ece']:.4f} | {metrics['brier']:.4f} |" in card
    for digest in model.meta["data_sha256"].values():
        assert digest in card


def test_check_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in (f"{MODEL_FILE}.npz", f"{MODEL_FILE}.json", CARD_FILE):
        shutil.copy(PACKAGE_DATA / name, tmp_path / name)
    assert main(["--dir", str(tmp_path), "--check"]) == 0
    card = tmp_path / CARD_FILE
    card.write_text(card.read_text(encoding="utf-8").replace("| `anger` |", "| `rage` |", 1))
    assert main(["--dir", str(tmp_path), "--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert main(["--dir", str(tmp_path)]) == 0
    assert card.read_text(encoding="utf-8") == shipped_card()
    (tmp_path / f"{MODEL_FILE}.json").write_text("{", encoding="utf-8")
    assert main(["--dir", str(tmp_path), "--check"]) == 2
    assert f"{tmp_path / MODEL_FILE}.json is not valid JSON" in capsys.readouterr().err


def test_a_card_without_a_block_is_refused() -> None:
    card = shipped_card()
    blocks = render_blocks(shipped_models(), 1)
    assert set(blocks) == {"heads", "data", "training", "metrics", "calibration", "probes", "size"}
    start = card.index("<!-- card:probes:start -->")
    end = card.index("<!-- card:probes:end -->") + len("<!-- card:probes:end -->")
    with pytest.raises(ValueError, match=r"missing \['probes'\]"):
        render_card(card[:start] + card[end:], shipped_models(), 1)
    with pytest.raises(ValueError, match=r"unknown \['extra'\]"):
        render_card(
            card + "<!-- card:extra:start -->\n<!-- card:extra:end -->\n", shipped_models(), 1
        )
