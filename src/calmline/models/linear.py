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
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np

from calmline.errors import ModelError
from calmline.models import features as feats

#: the version of :mod:`calmline.models.features` a model file must have been trained with
FEATURES_VERSION = 3
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
        self._zero = [0.0] * k
        # Scoring is plain Python over small tuples: a few numpy calls per message cost more
        # than the sums they do, and crowd the rules' code out of the CPU's caches.
        #: each word met: its summed weights (its own and its character n-grams') and, last,
        #: how many features it has; a row each, filled as words are met
        self._rows: dict[str, int] = {}
        self._words: list[str] = []
        self._values: list[tuple[float, ...]] = []
        #: the weights of each pair of neighbouring words met (and 1.0, its one feature), by
        #: the rows of its two words
        self._pairs: dict[int, tuple[float, ...]] = {}
        # The service reads messages in several threads at once: the caches above change
        # together (a row index must match its values), so one reader at a time.
        self._lock = threading.Lock()

    # ----- scoring -----------------------------------------------------------------------

    def _row(self, word: str) -> int:
        """A new row for ``word`` (the caller has made room)."""
        rows = self._rows
        row = rows[word] = len(rows)
        self._words.append(word)
        slots = feats.word_slots(word)
        summed = self.weights[slots].sum(axis=0, dtype=np.float64).tolist()
        self._values.append((*summed, float(len(slots))))
        return row

    def _pair(self, key: int) -> tuple[float, ...]:
        """The weights of the pair of rows ``key`` (``first * size + second``)."""
        first, second = divmod(key, _WORD_CACHE)
        slot = feats.pair_slot(self._words[first], self._words[second])
        found = self._pairs[key] = (*self.weights[slot].astype(np.float64).tolist(), 1.0)
        return found

    def raw_scores(self, text: str) -> list[float]:
        """``w . x`` for every head (before bias and calibration)."""
        return self._raw(feats.words(text))

    def raw_words(self, words: list[str]) -> list[float]:
        """:meth:`raw_scores` of a text already split by :func:`features.words`."""
        return self._raw(words)

    def _raw(self, ws: list[str]) -> list[float]:
        if not ws:
            return self._zero
        with self._lock:
            return self._raw_locked(ws)

    def _raw_locked(self, ws: list[str]) -> list[float]:
        rows = self._rows
        seq = [rows.get(w, -1) for w in ws]
        if -1 in seq:
            if len(rows) + len(ws) > _WORD_CACHE:
                if len(ws) > _WORD_CACHE // 2:
                    return self._raw_uncached(ws)
                # bounded memory: start again (pairs are keyed by rows, so they go too)
                rows.clear()
                self._words.clear()
                self._values.clear()
                self._pairs.clear()
                seq = [-1] * len(ws)
            for i, w in enumerate(ws):
                if seq[i] < 0:
                    seq[i] = rows.get(w, -1)
                    if seq[i] < 0:
                        seq[i] = self._row(w)
        values = self._values
        vectors = [values[r] for r in dict.fromkeys(seq)]
        if len(seq) > 1:
            size = _WORD_CACHE
            known = self._pairs
            keys = dict.fromkeys([a * size + b for a, b in pairwise(seq)])
            if len(known) + len(keys) > _PAIR_CACHE:
                known.clear()
            get = known.get
            for key in keys:
                found = get(key)
                vectors.append(found if found is not None else self._pair(key))
        sums = [sum(column) for column in zip(*vectors, strict=True)]
        scale = 1.0 / math.sqrt(sums.pop())
        return [x * scale for x in sums]

    def _raw_uncached(self, ws: list[str]) -> list[float]:
        """:meth:`_raw` straight from the weights, for a text with more distinct words than
        the rows hold."""
        slots: list[int] = []
        for w in dict.fromkeys(ws):
            slots.extend(feats.word_slots(w))
        slots.extend(feats.pair_slot(a, b) for a, b in dict.fromkeys(pairwise(ws)))
        total = self.weights[slots].sum(axis=0, dtype=np.float64) / math.sqrt(len(slots))
        return [float(x) for x in total]

    def predict(self, text: str) -> dict[str, float]:
        """Each head's calibrated probability for ``text``."""
        return self.predict_words(feats.words(text))

    def predict_words(self, words: list[str], *, only: Head | None = None) -> dict[str, float]:
        """:meth:`predict` of a text already split by :func:`features.words` (or one head)."""
        raw = self._raw(words)
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
        import hashlib
        import zipfile

        digest = meta.get("weights_sha256")
        if digest is not None and hashlib.sha256(npz).hexdigest() != digest:
            raise ModelError(
                f"{where}.npz does not match the checksum in {where}.json: the file was changed "
                "or damaged after training"
            )
        try:
            data = np.load(io.BytesIO(npz), allow_pickle=False)
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise ValueError("it is a bare array, not an .npz archive with 'weights'")
            with data:
                weights = data["weights"]
        except (ValueError, KeyError, OSError, EOFError, TypeError, zipfile.BadZipFile) as exc:
            raise ModelError(f"{where}.npz cannot be read: {exc}") from None
        if not np.issubdtype(weights.dtype, np.floating):
            raise ModelError(f"{where}.npz: weights are {weights.dtype}, not floating point")
        try:
            return cls(weights, heads, meta)
        except ModelError as exc:
            raise ModelError(f"{where}.npz: {exc}") from None
