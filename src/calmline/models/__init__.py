"""Learned models that ship inside the package, and how they are read.

The models add evidence to the engine's rules (see :mod:`calmline.models.evidence`); they are
trained by :mod:`calmline.models.train` from licensed data only, and described by the model
cards in ``calmline/models/data/*.md``.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from calmline.errors import ModelError
from calmline.models.linear import Head, LinearModels

__all__ = ["MODEL_FILE", "Head", "LinearModels", "load_models", "shipped_models"]

#: the shipped model's file name, without .npz / .json
MODEL_FILE = "calmline-text"


def load_models(npz: bytes, meta: bytes, *, where: str = MODEL_FILE) -> LinearModels:
    """A model from the bytes of its two files (bad files raise ModelError naming ``where``)."""
    return LinearModels.from_bytes(npz, meta, where=where)


@cache
def shipped_models() -> LinearModels:
    """The model shipped in the package, read once per process."""
    folder = resources.files("calmline.models") / "data"
    try:
        npz = (folder / f"{MODEL_FILE}.npz").read_bytes()
        meta = (folder / f"{MODEL_FILE}.json").read_bytes()
    except OSError as exc:
        raise ModelError(
            f"the shipped model calmline/models/data/{MODEL_FILE} is missing ({exc}); "
            "reinstall calmline or train it: python -m calmline.models.train --data DIR"
        ) from None
    return load_models(npz, meta, where=f"calmline/models/data/{MODEL_FILE}")
