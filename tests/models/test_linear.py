"""Reading model files: good files load, and every kind of bad file is a ModelError naming it."""

from __future__ import annotations

import io
import json
import math
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from calmline.errors import CalmlineError, ModelError
from calmline.models import features as feats
from calmline.models import load_models, shipped_models
from calmline.models.linear import FEATURES_VERSION, LinearModels

WHERE = "team/models/custom-text"
HEAD = {"name": "offensive", "bias": -1.0, "platt_a": 1.0, "platt_b": 0.0, "threshold": 0.5}


def npz(**arrays: Any) -> bytes:
    out = io.BytesIO()
    np.savez_compressed(out, **arrays)
    return out.getvalue()


def meta(**changes: Any) -> bytes:
    base: dict[str, Any] = {"features_version": FEATURES_VERSION, "heads": [dict(HEAD)]}
    base.update(changes)
    return json.dumps(base).encode()


def weights(dtype: Any = np.float16, shape: tuple[int, ...] = (feats.N_FEATURES, 1)) -> np.ndarray:
    w = np.zeros(shape, dtype=dtype)
    if shape[0] == feats.N_FEATURES:
        w[feats.slot("w:idiot")] = 4.0
    return w


GOOD_NPZ = npz(weights=weights())


def test_a_good_file_loads_and_scores() -> None:
    model = load_models(GOOD_NPZ, meta(), where=WHERE)
    assert model.names == ("offensive",)
    assert model.head("offensive").threshold == 0.5
    calm = model.predict("where is my parcel")["offensive"]
    rude = model.predict("idiot")["offensive"]
    # one feature of weight 4 among "idiot"'s word and n-gram slots, then the bias and sigmoid
    n = len(feats.features("idiot"))
    assert rude == pytest.approx(1 / (1 + math.exp(-(-1.0 + 4.0 / math.sqrt(n)))), rel=1e-5)
    assert calm == pytest.approx(1 / (1 + math.exp(1.0)))
    assert model.predict("") == {"offensive": calm}


def test_the_shipped_model_has_its_heads_and_metadata() -> None:
    model = shipped_models()
    assert set(model.names) == {"offensive", "anger", "irritation", "politeness"}
    assert model.weights.shape == (feats.N_FEATURES, 4)
    assert set(model.meta["metrics"]) == set(model.names)
    assert model.meta["features_version"] == FEATURES_VERSION
    assert shipped_models() is model  # read once per process


def _corrupt_zip() -> bytes:
    flipped = bytearray(GOOD_NPZ)
    flipped[len(flipped) // 2] ^= 0xFF
    return bytes(flipped)


def _raw_npy() -> bytes:
    out = io.BytesIO()
    np.save(out, weights())
    return out.getvalue()


BAD_NPZ: dict[str, Callable[[], bytes]] = {
    "not a zip at all": lambda: b"these are not weights" * 10,
    "a pickled object array": lambda: npz(weights=np.array([{"w": 1}, None], dtype=object)),
    "a pickle instead of npz": lambda: pickle.dumps({"weights": weights()}),
    "NaN weights": lambda: npz(weights=np.full((feats.N_FEATURES, 1), np.nan, np.float16)),
    "infinite weights": lambda: npz(weights=np.full((feats.N_FEATURES, 1), np.inf, np.float32)),
    "too few slots": lambda: npz(weights=weights(shape=(1000, 1))),
    "one dimension": lambda: npz(weights=np.zeros(feats.N_FEATURES, np.float16)),
    "more columns than heads": lambda: npz(weights=weights(shape=(feats.N_FEATURES, 2))),
    "no weights array": lambda: npz(other=weights()),
}


@pytest.mark.parametrize("case", list(BAD_NPZ))
def test_a_bad_npz_is_a_model_error_naming_the_file(case: str) -> None:
    with pytest.raises(ModelError, match=f"^{WHERE}.npz") as caught:
        load_models(BAD_NPZ[case](), meta(), where=WHERE)
    assert caught.value.code == "model_invalid"
    assert isinstance(caught.value, CalmlineError)


CORRUPT_NPZ: dict[str, Callable[[], bytes]] = {
    "truncated": lambda: GOOD_NPZ[: len(GOOD_NPZ) // 2],
    "empty": lambda: b"",
    "a byte changed inside": _corrupt_zip,
    "a bare .npy": _raw_npy,
    "text instead of numbers": lambda: npz(weights=np.full((feats.N_FEATURES, 1), "a")),
}


@pytest.mark.parametrize("case", list(CORRUPT_NPZ))
def test_a_corrupt_npz_is_a_model_error_naming_the_file(case: str) -> None:
    with pytest.raises(ModelError, match=f"^{WHERE}.npz"):
        load_models(CORRUPT_NPZ[case](), meta(), where=WHERE)


BAD_JSON: dict[str, bytes] = {
    "not JSON": b"{features_version: 2",
    "not UTF-8": b'{"name": "\xff"}',
    "a list": b"[]",
    "no features version": json.dumps({"heads": [HEAD]}).encode(),
    "another features version": meta(features_version=FEATURES_VERSION + 1),
    "no heads": json.dumps({"features_version": FEATURES_VERSION}).encode(),
    "heads not a list": meta(heads=7),
    "a head without a threshold": meta(heads=[{k: v for k, v in HEAD.items() if k != "threshold"}]),
    "a head with a text bias": meta(heads=[{**HEAD, "bias": "high"}]),
}


@pytest.mark.parametrize("case", list(BAD_JSON))
def test_bad_metadata_is_a_model_error_naming_the_file(case: str) -> None:
    with pytest.raises(ModelError, match=f"^{WHERE}.json"):
        load_models(GOOD_NPZ, BAD_JSON[case], where=WHERE)


def test_a_model_for_other_features_says_to_train_again() -> None:
    with pytest.raises(ModelError, match=r"features version .*train it again"):
        load_models(GOOD_NPZ, meta(features_version=FEATURES_VERSION - 1), where=WHERE)


def test_numpy_never_unpickles(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loader asks numpy for no pickles, whatever the file holds."""
    seen: list[Any] = []
    real = np.load

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("allow_pickle"))
        return real(*args, **kwargs)

    monkeypatch.setattr(np, "load", spy)
    LinearModels.from_bytes(GOOD_NPZ, meta(), where=WHERE)
    assert seen == [False]


def test_threads_reading_at_once_get_the_answers_one_thread_gets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The service reads messages in several threads: the word caches must stay consistent,
    even while they are emptied for being full (a tiny cache here, so that happens often)."""
    import threading

    from calmline.models import linear, shipped_models

    shipped = shipped_models()
    texts = [
        f"message {i}: you are {w} and my parcel {i % 7} is late again"
        for i, w in enumerate(["useless", "great", "slow", "kind", "awful", "helpful"] * 20)
    ]
    expected = [
        LinearModels(shipped.weights, shipped.heads, shipped.meta).predict(t) for t in texts
    ]
    monkeypatch.setattr(linear, "_WORD_CACHE", 40)
    monkeypatch.setattr(linear, "_PAIR_CACHE", 40)
    model = LinearModels(shipped.weights, shipped.heads, shipped.meta)
    problems: list[str] = []

    def read() -> None:
        try:
            for _ in range(5):
                for text, want in zip(texts, expected, strict=True):
                    got = model.predict(text)
                    if any(abs(got[k] - want[k]) > 1e-9 for k in want):
                        problems.append(f"{text}: {got} != {want}")
        except Exception as exc:  # an IndexError when rows and values fall out of step
            problems.append(repr(exc))

    threads = [threading.Thread(target=read) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not problems, problems[:3]
