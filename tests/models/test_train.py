"""The training script on a tiny data folder: repeatable bytes, --check, and clear errors.

``tests/models/data`` holds a few dozen rows per file, written for these tests in the formats
of ``../shared/data`` (Davidson's CSV, GoEmotions' TSV and labels, the politeness CSV).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sklearn", reason="training needs the train extra (scikit-learn)")

from calmline.models import MODEL_FILE, load_models
from calmline.models import features as feats
from calmline.models import train as training
from calmline.models.card import CARD_FILE, render_card

DATA = Path(__file__).parent / "data"
FILES = (f"{MODEL_FILE}.npz", f"{MODEL_FILE}.json", CARD_FILE)
#: hash slots for these tests: a fit's cost grows with the slots, not the rows (2**18 slots
#: take about 15 s per training run even on this tiny data; 2**12 take a few seconds)
SMALL_HASH_BITS = 12


@pytest.fixture(scope="module", autouse=True)
def small_hash() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(feats, "HASH_BITS", SMALL_HASH_BITS)
        mp.setattr(feats, "N_FEATURES", 1 << SMALL_HASH_BITS)
        mp.setattr(feats, "_MASK", (1 << SMALL_HASH_BITS) - 1)
        assert max(feats.features("a check that the smaller hash took")) < 1 << SMALL_HASH_BITS
        yield


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Any]]:
    """One training run written to a folder, and the model it trained (for the check tests)."""
    out = tmp_path_factory.mktemp("model")
    models: list[Any] = []
    real = training.train_all

    def keep(*args: Any, **kwargs: Any) -> Any:
        models.append(real(*args, **kwargs))
        return models[-1]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(training, "train_all", keep)
        assert training.main(["--data", str(DATA), "--out", str(out)]) == 0
    yield out, models[0]


def test_training_writes_the_model_and_its_card(trained: tuple[Path, Any]) -> None:
    out, _ = trained
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    model = load_models(
        (out / f"{MODEL_FILE}.npz").read_bytes(), (out / f"{MODEL_FILE}.json").read_bytes()
    )
    assert set(model.names) == {"offensive", "anger", "irritation", "politeness"}
    assert model.weights.shape == (1 << SMALL_HASH_BITS, 4)
    assert model.meta["data_sha256"].keys() == {
        "davidson-hate-offensive/labeled_data.csv",
        "goemotions/train.tsv",
        "goemotions/dev.tsv",
        "goemotions/labels.txt",
        "stanford-politeness/wikipedia.annotated.csv",
    }
    card = (out / CARD_FILE).read_text(encoding="utf-8")
    npz_size = (out / f"{MODEL_FILE}.npz").stat().st_size
    assert render_card(card, model, npz_size) == card, "the card differs read back from the files"
    for name in model.names:
        assert f"| `{name}` | {model.meta['metrics'][name]['rows']} |" in card


def test_a_second_run_gives_the_same_bytes(trained: tuple[Path, Any], tmp_path: Path) -> None:
    out, _ = trained
    assert training.main(["--data", str(DATA), "--out", str(tmp_path)]) == 0
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name


def test_check_passes_on_the_same_files_and_fails_after_a_changed_byte(
    trained: tuple[Path, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out, model = trained
    for name in FILES:
        shutil.copy(out / name, tmp_path / name)
    # the training itself is repeatable (the test above); reuse its model to keep this quick
    monkeypatch.setattr(training, "train_all", lambda *args, **kwargs: model)
    assert training.main(["--data", str(DATA), "--out", str(tmp_path), "--check"]) == 0
    for name in FILES:
        target = tmp_path / name
        good = target.read_bytes()
        changed = bytearray(good)
        changed[len(changed) // 2] ^= 0x01
        target.write_bytes(bytes(changed))
        capsys.readouterr()
        assert training.main(["--data", str(DATA), "--out", str(tmp_path), "--check"]) == 1
        assert str(target) in capsys.readouterr().err
        assert target.read_bytes() == bytes(changed), "--check wrote a file"
        target.write_bytes(good)


@pytest.mark.parametrize(
    "missing",
    [
        "davidson-hate-offensive/labeled_data.csv",
        "goemotions/dev.tsv",
        "goemotions/labels.txt",
        "stanford-politeness/wikipedia.annotated.csv",
    ],
)
def test_a_missing_file_exits_2_naming_it(
    missing: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    (data / missing).unlink()
    out = tmp_path / "out"
    assert training.main(["--data", str(data), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(data / missing) in err
    assert not out.exists()


def test_a_malformed_file_exits_2_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    davidson = data / "davidson-hate-offensive" / "labeled_data.csv"
    davidson.write_text(davidson.read_text().replace(",1,you are", ",7,you are"))
    assert training.main(["--data", str(data), "--out", str(tmp_path / "out")]) == 2
    assert str(davidson) in capsys.readouterr().err
