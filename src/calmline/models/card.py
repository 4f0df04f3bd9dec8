"""The model card's figures, filled in from the model's own files so the card cannot drift.

The card (``data/calmline-text.md``) is prose written by hand with blocks between
``<!-- card:NAME:start -->`` and ``<!-- card:NAME:end -->`` markers. :func:`render_card`
rewrites those blocks from the model's JSON metadata (training data and licences, how it was
trained, dev-set metrics, calibration), its ``.npz`` size, and the identity-term probes
(:mod:`calmline.models.probes`) scored with the model itself. The training script writes the
card next to the model; after editing the card's prose or the probe set, refresh it with::

    python -m calmline.models.card            # rewrites calmline/models/data/calmline-text.md
    python -m calmline.models.card --check    # exit 1 if the card is not what the files say
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from calmline.errors import ModelError
from calmline.models import MODEL_FILE, load_models
from calmline.models.linear import FEATURES_VERSION, LinearModels
from calmline.models.probes import probe_set

__all__ = ["CARD_FILE", "PACKAGE_DATA", "card_files", "main", "render_blocks", "render_card"]

PACKAGE_DATA = Path(__file__).parent / "data"
CARD_FILE = f"{MODEL_FILE}.md"
#: what each head answers, in the card's words
HEAD_MEANING = {
    "offensive": "the message is hateful or offensive (Davidson classes 0 and 1 vs 2)",
    "anger": "the writer is angry (GoEmotions `anger`)",
    "irritation": "the writer is angry, annoyed or disgusted (GoEmotions)",
    "politeness": "a request reads as polite (top vs bottom quartile of its politeness score)",
}
#: offensive probabilities the probe table reports: the head's own threshold is added
PROBE_THRESHOLDS = (0.3, 0.8, 0.95)
_BLOCK = re.compile(r"<!-- card:([a-z_]+):start -->\n.*?<!-- card:\1:end -->", re.S)


def _num(value: Any, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _rows(rows: Mapping[str, int]) -> str:
    return ", ".join(f"{name} {count:,}" for name, count in sorted(rows.items()))


def _metrics(model: LinearModels) -> list[tuple[str, Mapping[str, Any]]]:
    """Each head's dev metrics in the order of the heads (the same in memory and in the JSON,
    whose keys are sorted)."""
    return [(h.name, model.meta["metrics"][h.name]) for h in model.heads]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def _heads_block(model: LinearModels) -> list[str]:
    return _table(
        ("head", "the probability that ...", "says yes from"),
        [(f"`{h.name}`", HEAD_MEANING.get(h.name, ""), _num(h.threshold, 2)) for h in model.heads],
    )


def _data_block(model: LinearModels) -> list[str]:
    meta = model.meta
    lines = _table(
        ("data set", "licence", "attribution"),
        [
            (f"`{name}`", info["license"], info["attribution"])
            for name, info in sorted(meta["data"].items())
        ],
    )
    lines += ["", "Rows each head learned from and was scored on:", ""]
    lines += _table(
        ("head", "rows", "scored on"),
        [(f"`{name}`", _rows(m["train_rows"]), m["dev"]) for name, m in _metrics(model)],
    )
    lines += ["", "SHA-256 of every file the training read:", ""]
    lines += [f"- `{path}`: `{digest}`" for path, digest in sorted(meta["data_sha256"].items())]
    return lines


def _training_block(model: LinearModels) -> list[str]:
    meta = model.meta
    f = meta["features"]
    grams = "-".join(str(n) for n in (min(f["char_ngrams"]), max(f["char_ngrams"])))
    lines = [
        f"- Features: words, character {grams}-grams inside words"
        + (", neighbouring word pairs" if f.get("word_pairs") else "")
        + f", hashed into 2^{f['hash_bits']} = {2 ** f['hash_bits']:,} slots"
        f" (features version {FEATURES_VERSION});"
        f" {f['identity_terms_masked']} identity terms are never a feature.",
        f"- Seed {meta['seed']}; trained with {meta['trained_with']}.",
        "",
    ]
    lines += _table(
        ("head", "regularisation C", "calibration a", "calibration b", "bias"),
        [
            (
                f"`{h.name}`",
                _num(float(meta["regularisation_C"][h.name]), 1),
                _num(h.platt_a, 4),
                _num(h.platt_b, 4),
                _num(h.bias, 4),
            )
            for h in model.heads
        ],
    )
    return lines


def _metrics_block(model: LinearModels) -> list[str]:
    cols: tuple[str, ...] = ("rows", "positives", "threshold", "precision", "recall", "f1")
    cols += ("macro_f1", "accuracy", "roc_auc")
    header: tuple[str, ...] = ("head", "rows", "yes", "threshold", "precision", "recall", "F1")
    header += ("macro-F1", "accuracy", "ROC-AUC")
    return _table(
        header,
        [(f"`{name}`", *(_num(m[c]) for c in cols)) for name, m in _metrics(model)],
    )


def _calibration_block(model: LinearModels) -> list[str]:
    return _table(
        ("head", "expected calibration error (10 bins)", "Brier score"),
        [(f"`{name}`", _num(m["ece"], 4), _num(m["brier"], 4)) for name, m in _metrics(model)],
    )


def _probes_block(model: LinearModels) -> list[str]:
    probes = probe_set()
    head = model.head("offensive")
    scored = [(model.predict(p.text)["offensive"], p) for p in probes.probes]
    controls = [model.predict(c)["offensive"] for c in probes.controls]
    n = len(scored)
    lines = [
        f"{n} probe sentences ({len(probes.controls)} controls); the `offensive` head's "
        "probability on them:",
        "",
    ]
    thresholds = sorted({*PROBE_THRESHOLDS, head.threshold})
    rows = []
    for t in thresholds:
        flagged = sum(p >= t for p, _ in scored)
        hit = sum(c >= t for c in controls)
        own = " (the head's threshold)" if t == head.threshold else ""
        rows.append(
            (f"≥ {t:.2f}{own}", f"{flagged} ({flagged / n:.1%})", f"{hit} of {len(controls)}")
        )
    lines += _table(("probability", "probes flagged", "controls flagged"), rows)
    top, worst = max(scored, key=lambda pair: pair[0])
    lines += ["", f'Highest on a probe: {top:.3f}, "{worst.text}"']
    return lines


def _size_block(model: LinearModels, npz_bytes: int) -> list[str]:
    rows, cols = model.weights.shape
    return [
        f"- `{MODEL_FILE}.npz`: {npz_bytes:,} bytes ({npz_bytes / 1e6:.2f} MB); one float16 "
        f"matrix of {rows:,} slots × {cols} heads, deflated.",
        f"- In memory: {model.weights.nbytes / 1e6:.1f} MB (float32).",
    ]


_RENDERERS: dict[str, Callable[[LinearModels, int], list[str]]] = {
    "heads": lambda m, _: _heads_block(m),
    "data": lambda m, _: _data_block(m),
    "training": lambda m, _: _training_block(m),
    "metrics": lambda m, _: _metrics_block(m),
    "calibration": lambda m, _: _calibration_block(m),
    "probes": lambda m, _: _probes_block(m),
    "size": _size_block,
}


def render_blocks(model: LinearModels, npz_bytes: int) -> dict[str, str]:
    """Every generated block's text (without its markers)."""
    try:
        return {name: "\n".join(render(model, npz_bytes)) for name, render in _RENDERERS.items()}
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"the model's metadata lacks what the card needs ({exc!r})") from None


def render_card(template: str, model: LinearModels, npz_bytes: int) -> str:
    """``template`` with every ``card:NAME`` block filled in from ``model``.

    A block the template lacks, or one it has that is unknown, is an error: the card must
    show every figure.
    """
    blocks = render_blocks(model, npz_bytes)
    found = _BLOCK.findall(template)
    missing = sorted(blocks.keys() - set(found))
    unknown = sorted(set(found) - blocks.keys())
    if missing or unknown:
        raise ValueError(
            f"the model card's blocks are wrong: missing {missing or 'none'}, "
            f"unknown {unknown or 'none'}"
        )

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"<!-- card:{name}:start -->\n{blocks[name]}\n<!-- card:{name}:end -->"

    return _BLOCK.sub(fill, template)


def card_files(files: Mapping[str, bytes], model: LinearModels, out: Path) -> dict[str, bytes]:
    """The card to write beside a model's ``files`` in ``out`` (its prose is taken from the
    card already there, or else from the package's)."""
    template_path = out / CARD_FILE
    if not template_path.is_file():
        template_path = PACKAGE_DATA / CARD_FILE
    template = template_path.read_text(encoding="utf-8")
    card = render_card(template, model, len(files[f"{MODEL_FILE}.npz"]))
    return {CARD_FILE: card.encode("utf-8")}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m calmline.models.card", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--dir", type=Path, default=PACKAGE_DATA, help="the folder with the model and its card"
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if the card is out of date"
    )
    args = parser.parse_args(argv)
    try:
        npz = (args.dir / f"{MODEL_FILE}.npz").read_bytes()
        meta = (args.dir / f"{MODEL_FILE}.json").read_bytes()
        model = load_models(npz, meta, where=str(args.dir / MODEL_FILE))
        card = card_files({f"{MODEL_FILE}.npz": npz}, model, args.dir)[CARD_FILE]
    except (OSError, ValueError, ModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    path = args.dir / CARD_FILE
    current = path.read_bytes() if path.is_file() else b""
    if args.check:
        if current != card:
            print(f"{path} is out of date: run python -m calmline.models.card", file=sys.stderr)
            return 1
        print(f"{path} is up to date")
        return 0
    if current != card:
        path.write_bytes(card)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
