"""Linear models over hashed features, stored as ``.npz`` (weights) plus JSON (everything else).

Several heads share one feature space and one weight matrix (one column each), so a message is
read once for all of them. Inference is numpy and plain Python; scikit-learn is needed only to
train (:mod:`calmline.models.train`). Nothing is unpickled: ``numpy.load`` runs with
``allow_pickle=False`` and the metadata is JSON.

A head's probability is ``sigmoid(a * (bias + w . x) + b)``, where ``x`` are the features of
:mod:`calmline.models.features` and ``a``, ``b`` are its Platt calibration, fitted on data the
weights were not trained on.
"""

from __future__ import annotations

import json
import math
from itertools import pairwise
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from calmline.errors import ModelError
from calmline.models import features as feats

#: the version of :mod:`calmline.models.features` a model file must have been trained with
FEATURES_VERSION = 2
#: words whose weights are remembered (a bounded cache: cleared when full)
_WORD_CACHE = 50_000
_PAIR_CACHE = 50_000


@dataclass(frozen=True)
class Head:
    """One output of a model file: what it predicts and how its score becomes a probability."""

    name: str
    bias: float
    platt_a: float
    platt_b: float
    #: the probability at or above which the head says yes on its dev data
    threshold: float

    def probability(self, score: float) -> float:
        z = self.platt_a * (self.bias + score) + self.platt_b
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        ez = math.exp(z)
        return ez / (1.0 + ez)


class LinearModels:
    """The heads of one model file, scored together on a text."""

    def __init__(self, weights: np.ndarray, heads: Sequence[Head], meta: Mapping[str, Any]):
        if weights.ndim != 2 or weights.shape != (feats.N_FEATURES, len(heads)):
            raise ModelError(
                f"weights have shape {weights.shape}, expected ({feats.N_FEATURES}, {len(heads)})"
            )
        if not np.all(np.isfinite(weights)):
            raise ModelError("weights hold values that are not finite numbers")
        self.weights = np.ascontiguousarray(weights, dtype=np.float32)
        self.heads = tuple(heads)
        self.names = tuple(h.name for h in self.heads)
        self.meta = dict(meta)
        k = len(self.heads)
        self._zero = np.zeros(k, dtype=np.float64)
        # Each word's summed weights (its own and its character n-grams') and, in the last
        # column, how many features it has: a row of this table, filled as words are met.
        self._table = np.zeros((_WORD_CACHE, k + 1), dtype=np.float64)
        self._rows: dict[str, int] = {}
        self._pairs: dict[tuple[str, str], int] = {}

    # ----- scoring -----------------------------------------------------------------------

    def _row(self, word: str) -> int:
        """A new table row for ``word`` (the caller has made room)."""
        rows = self._rows
        row = rows[word] = len(rows)
        slots = feats.word_slots(word)
        self._table[row, :-1] = self.weights[slots].sum(axis=0, dtype=np.float64)
        self._table[row, -1] = len(slots)
        return row

    def _pair(self, pair: tuple[str, str]) -> int:
        pairs = self._pairs
        if len(pairs) >= _PAIR_CACHE:
            pairs.clear()
        slot = pairs[pair] = feats.pair_slot(*pair)
        return slot

    def raw_scores(self, text: str) -> np.ndarray:
        """``w . x`` for every head (before bias and calibration)."""
        return self._raw(feats.words(text))

    def _raw(self, ws: list[str]) -> np.ndarray:
        if not ws:
            return self._zero
        distinct = list(dict.fromkeys(ws))
        pairs = list(dict.fromkeys(pairwise(ws)))
        if len(distinct) > _WORD_CACHE // 2:
            return self._raw_uncached(distinct, pairs)
        rows = self._rows
        if len(rows) + len(distinct) > _WORD_CACHE:
            rows.clear()  # bounded memory: start the table again
        found = [rows.get(w, -1) for w in distinct]
        if -1 in found:
            found = [r if r >= 0 else self._row(w) for r, w in zip(found, distinct, strict=True)]
        summed = self._table[found].sum(axis=0)
        total = summed[:-1]
        count = summed[-1]
        if pairs:
            known = self._pairs
            slots = [known.get(p, -1) for p in pairs]
            if -1 in slots:
                slots = [s if s >= 0 else self._pair(p) for s, p in zip(slots, pairs, strict=True)]
            total = total + self.weights[slots].sum(axis=0, dtype=np.float64)
            count += len(slots)
        result: np.ndarray = total / math.sqrt(count)
        return result

    def _raw_uncached(self, distinct: list[str], pairs: list[tuple[str, str]]) -> np.ndarray:
        """:meth:`_raw` straight from the weights, for a text with more distinct words than
        the table holds."""
        slots: list[int] = []
        for w in distinct:
            slots.extend(feats.word_slots(w))
        slots.extend(feats.pair_slot(a, b) for a, b in pairs)
        result: np.ndarray = self.weights[slots].sum(axis=0, dtype=np.float64) / math.sqrt(
            len(slots)
        )
        return result

    def predict(self, text: str) -> dict[str, float]:
        """Each head's calibrated probability for ``text``."""
        return self.predict_words(feats.words(text))

    def predict_words(self, words: list[str], *, only: Head | None = None) -> dict[str, float]:
        """:meth:`predict` of a text already split by :func:`features.words` (or one head)."""
        raw = self._raw(words).tolist()
        if only is not None:
            return {only.name: only.probability(raw[self.heads.index(only)])}
        return {h.name: h.probability(s) for h, s in zip(self.heads, raw, strict=True)}

    def head(self, name: str) -> Head:
        for h in self.heads:
            if h.name == name:
                return h
        raise KeyError(name)

    # ----- files -------------------------------------------------------------------------

    @classmethod
    def from_bytes(cls, npz: bytes, meta_json: bytes, *, where: str = "model") -> LinearModels:
        """A model from the bytes of its ``.npz`` and ``.json`` files; bad files raise ModelError
        naming ``where``."""
        import io

        try:
            meta = json.loads(meta_json.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelError(f"{where}.json is not valid JSON: {exc}") from None
        if not isinstance(meta, dict):
            raise ModelError(f"{where}.json must hold an object")
        version = meta.get("features_version")
        if version != FEATURES_VERSION:
            raise ModelError(
                f"{where}.json was trained with features version {version!r}; this calmline "
                f"reads version {FEATURES_VERSION}: train it again "
                "(python -m calmline.models.train)"
            )
        try:
            heads = [
                Head(
                    name=str(h["name"]),
                    bias=float(h["bias"]),
                    platt_a=float(h["platt_a"]),
                    platt_b=float(h["platt_b"]),
                    threshold=float(h["threshold"]),
                )
                for h in meta["heads"]
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(
                f"{where}.json: a head lacks a field or has a bad value ({exc})"
            ) from None
        try:
            with np.load(io.BytesIO(npz), allow_pickle=False) as data:
                weights = data["weights"]
        except (ValueError, KeyError, OSError) as exc:
            raise ModelError(f"{where}.npz cannot be read: {exc}") from None
        try:
            return cls(weights, heads, meta)
        except ModelError as exc:
            raise ModelError(f"{where}.npz: {exc}") from None
