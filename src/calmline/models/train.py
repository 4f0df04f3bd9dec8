"""Train the shipped models again from the labelled data: ``python -m calmline.models.train``.

    python -m calmline.models.train --data ../shared/data           # the package's files
    python -m calmline.models.train --data ../shared/data --out DIR # writes them elsewhere
    python -m calmline.models.train --data ../shared/data --check   # compares, writes nothing

It reads only the data sets whose licence lets a shipped model learn from them (see
``../shared/data/README.md``): Davidson et al. (MIT), GoEmotions (Apache-2.0) and the
Wikipedia half of the Stanford Politeness Corpus (CC BY 4.0). Evaluation-only data (OLID,
SemEval, ...) is never opened here; ``benchmarks/accuracy.py`` scores the result on it.

Every split is seeded, the solver is deterministic and the files are written without
timestamps, so the same data and seed give the same bytes. Needs the ``train`` extra
(scikit-learn and scipy); inference does not.

Heads (one column each of one weight matrix over :mod:`calmline.models.features`):

- ``offensive``: hateful or offensive vs neither (Davidson), with clean GoEmotions comments
  as extra negatives; trained on 80 % of Davidson, calibrated and scored on the other 20 %.
- ``anger``: GoEmotions' anger label; trained on train.tsv, calibrated and scored on dev.tsv.
- ``irritation``: anger, annoyance or disgust (GoEmotions), the milder end of the scale;
  with ``anger`` it gives the intensity (see :mod:`calmline.models.evidence`).
- ``politeness``: top vs bottom quartile of the Wikipedia requests' politeness score;
  scored by 10-fold cross-validation, then trained on all of them.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import random
import sys
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from calmline.errors import ModelError
from calmline.errors import TrainingDataError as DataError
from calmline.models import features as feats
from calmline.models.linear import FEATURES_VERSION, Head, LinearModels

SEED = 13
PACKAGE_DATA = Path(__file__).parent / "data"
MODEL_NAME = "calmline-text"

#: the only data a shipped model may learn from, with what the card must say about each
TRAINABLE: dict[str, dict[str, str]] = {
    "davidson-hate-offensive": {
        "files": "labeled_data.csv",
        "license": "MIT",
        "attribution": "Davidson, Warmsley, Macy, Weber. Automated Hate Speech Detection and "
        "the Problem of Offensive Language. ICWSM 2017. github.com/t-davidson/"
        "hate-speech-and-offensive-language",
    },
    "goemotions": {
        "files": "train.tsv dev.tsv labels.txt",
        "license": "Apache-2.0",
        "attribution": "Demszky et al. GoEmotions: A Dataset of Fine-Grained Emotions. ACL "
        "2020. github.com/google-research/google-research/tree/master/goemotions",
    },
    "stanford-politeness": {
        "files": "wikipedia.annotated.csv",
        "license": "CC BY 4.0",
        "attribution": "Danescu-Niculescu-Mizil, Sudhof, Jurafsky, Leskovec, Potts. A "
        "computational approach to politeness with application to social factors. ACL 2013.",
    },
}

#: GoEmotions label ids (labels.txt, 0-based)
ANGER, ANNOYANCE, DISGUST = 2, 3, 11
#: clean GoEmotions comments added to the offensive head's negatives
CLEAN_NEGATIVES = 5_000

#: regularisation (inverse strength) per head, chosen on the dev data named in the docstring
C_VALUES = {"offensive": 8.0, "anger": 16.0, "irritation": 8.0, "politeness": 8.0}


@dataclass
class Split:
    """The texts and labels of one head: what it trains on and what it is scored on."""

    train_texts: list[str]
    train_labels: np.ndarray
    dev_texts: list[str]
    dev_labels: np.ndarray
    #: where the dev rows come from, for the card
    dev_name: str
    rows: dict[str, int] = field(default_factory=dict)
    #: 10-fold cross-validation instead of a fixed dev split (small data)
    cross_validate: bool = False


# ----- reading the data ----------------------------------------------------------------------


def _file(data: Path, folder: str, name: str) -> Path:
    path = data / folder / name
    if not path.is_file():
        raise DataError(f"{path}: missing; --data must be the folder of ../shared/data")
    return path


def _csv_rows(path: Path, required: Sequence[str]) -> list[dict[str, str]]:
    csv.field_size_limit(10_000_000)
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in required if c not in (reader.fieldnames or [])]
            if missing:
                raise DataError(f"{path}: no column {', '.join(missing)}")
            return list(reader)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 ({exc})") from None


def read_davidson(data: Path) -> tuple[list[str], np.ndarray]:
    """Tweets and whether coders found them hateful or offensive (class 0 or 1)."""
    path = _file(data, "davidson-hate-offensive", "labeled_data.csv")
    texts, labels = [], []
    for i, row in enumerate(_csv_rows(path, ("class", "tweet")), start=2):
        if row["class"] not in ("0", "1", "2"):
            raise DataError(f"{path}: row {i}: class {row['class']!r} is not 0, 1 or 2")
        texts.append(row["tweet"])
        labels.append(row["class"] != "2")
    return texts, np.array(labels)


def read_goemotions(data: Path, split: str) -> tuple[list[str], list[frozenset[int]]]:
    path = _file(data, "goemotions", f"{split}.tsv")
    texts, labels = [], []
    with path.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh, start=1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                raise DataError(f"{path}: line {i}: expected text, labels, id (3 columns)")
            try:
                ids = frozenset(int(x) for x in parts[1].split(","))
            except ValueError:
                raise DataError(f"{path}: line {i}: labels {parts[1]!r} are not ids") from None
            texts.append(parts[0])
            labels.append(ids)
    names = _file(data, "goemotions", "labels.txt").read_text(encoding="utf-8").split()
    if names[ANGER] != "anger" or names[ANNOYANCE] != "annoyance" or names[DISGUST] != "disgust":
        raise DataError("goemotions/labels.txt: ids 2, 3 and 11 are not anger, annoyance, disgust")
    return texts, labels


def read_politeness(path: Path) -> tuple[list[str], np.ndarray]:
    """Requests in the top (polite) or bottom (impolite) quartile of their politeness score;
    the middle half is left out, as in the paper's binary task."""
    rows = _csv_rows(path, ("Request", "Normalized Score"))
    try:
        scores = np.array([float(r["Normalized Score"]) for r in rows])
    except ValueError as exc:
        raise DataError(f"{path}: a Normalized Score is not a number ({exc})") from None
    low, high = np.quantile(scores, [0.25, 0.75])
    keep = [i for i, s in enumerate(scores) if s <= low or s >= high]
    return [rows[i]["Request"] for i in keep], np.array([scores[i] >= high for i in keep])


def _stratified_split(labels: np.ndarray, share: float, seed: int) -> tuple[list[int], list[int]]:
    rng = random.Random(seed)
    train: list[int] = []
    dev: list[int] = []
    for value in (False, True):
        idx = [i for i, y in enumerate(labels) if bool(y) is value]
        rng.shuffle(idx)
        cut = round(len(idx) * share)
        dev.extend(idx[:cut])
        train.extend(idx[cut:])
    return sorted(train), sorted(dev)


def splits(data: Path, seed: int) -> dict[str, Split]:
    """Every head's training and dev data, read from ``data``."""
    d_texts, d_labels = read_davidson(data)
    tr, dv = _stratified_split(d_labels, 0.2, seed)
    g_train, g_train_labels = read_goemotions(data, "train")
    g_dev, g_dev_labels = read_goemotions(data, "dev")
    rough = {ANGER, ANNOYANCE, DISGUST}
    clean = [i for i, ids in enumerate(g_train_labels) if not ids & rough]
    clean = sorted(random.Random(seed).sample(clean, min(CLEAN_NEGATIVES, len(clean))))
    offensive = Split(
        train_texts=[d_texts[i] for i in tr] + [g_train[i] for i in clean],
        train_labels=np.r_[d_labels[tr], np.zeros(len(clean), dtype=bool)],
        dev_texts=[d_texts[i] for i in dv],
        dev_labels=d_labels[dv],
        dev_name="a seeded, stratified 20 % of Davidson et al. (not trained on)",
        rows={
            "davidson train": len(tr),
            "goemotions clean negatives": len(clean),
            "davidson dev": len(dv),
        },
    )

    def goemotions(pick: Callable[[frozenset[int]], bool], what: str) -> Split:
        return Split(
            train_texts=g_train,
            train_labels=np.array([pick(ids) for ids in g_train_labels]),
            dev_texts=g_dev,
            dev_labels=np.array([pick(ids) for ids in g_dev_labels]),
            dev_name=f"GoEmotions dev.tsv ({what})",
            rows={"goemotions train": len(g_train), "goemotions dev": len(g_dev)},
        )

    p_texts, p_labels = read_politeness(
        _file(data, "stanford-politeness", "wikipedia.annotated.csv")
    )
    return {
        "offensive": offensive,
        "anger": goemotions(lambda ids: ANGER in ids, "anger"),
        "irritation": goemotions(lambda ids: bool(ids & rough), "anger, annoyance or disgust"),
        "politeness": Split(
            train_texts=p_texts,
            train_labels=p_labels,
            dev_texts=p_texts,
            dev_labels=p_labels,
            dev_name="10-fold cross-validation on the Wikipedia requests (top vs bottom quartile)",
            rows={"wikipedia requests (top and bottom quartile)": len(p_texts)},
            cross_validate=True,
        ),
    }


def data_fingerprint(data: Path) -> dict[str, str]:
    """SHA-256 of every file the training read, to record in the model's metadata."""
    out = {}
    for folder, info in TRAINABLE.items():
        for name in info["files"].split():
            content = _file(data, folder, name).read_bytes()
            out[f"{folder}/{name}"] = hashlib.sha256(content).hexdigest()
    return out


# ----- training --------------------------------------------------------------------------------


def matrix(texts: Sequence[str]) -> Any:
    """The scaled feature matrix of ``texts`` (scipy CSR), exactly as inference sees them."""
    from scipy.sparse import csr_matrix

    indices: list[int] = []
    values: list[float] = []
    indptr = [0]
    for text in texts:
        counts = feats.features(text)
        scale = 1.0 / np.sqrt(sum(counts.values())) if counts else 0.0
        indices.extend(counts)
        values.extend(c * scale for c in counts.values())
        indptr.append(len(indices))
    return csr_matrix(
        (np.array(values, dtype=np.float64), np.array(indices, dtype=np.int64), indptr),
        shape=(len(texts), feats.N_FEATURES),
    )


@dataclass
class Trained:
    weights: np.ndarray
    head: Head
    metrics: dict[str, Any]


def _platt(scores: np.ndarray, labels: np.ndarray, balanced: bool) -> tuple[float, float]:
    """Calibration ``sigmoid(a * score + b)`` fitted on held-out scores."""
    from sklearn.linear_model import LogisticRegression

    cal = LogisticRegression(C=1e4, class_weight="balanced" if balanced else None)
    cal.fit(scores.reshape(-1, 1), labels)
    return float(cal.coef_[0, 0]), float(cal.intercept_[0])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-z))
    return out


def binary_metrics(labels: np.ndarray, probs: np.ndarray, threshold: float) -> dict[str, Any]:
    """Precision, recall, F1 of the positive class, macro-F1, accuracy, ROC-AUC, Brier score
    and expected calibration error (10 bins) on held-out rows."""
    from sklearn.metrics import (
        brier_score_loss,
        f1_score,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    pred = probs >= threshold
    bins = np.minimum((probs * 10).astype(int), 9)
    ece = sum(
        abs(probs[bins == b].mean() - labels[bins == b].mean()) * (bins == b).mean()
        for b in range(10)
        if (bins == b).any()
    )
    return {
        "rows": len(labels),
        "positives": int(labels.sum()),
        "threshold": round(threshold, 3),
        "precision": round(float(precision_score(labels, pred, zero_division=0)), 4),
        "recall": round(float(recall_score(labels, pred, zero_division=0)), 4),
        "f1": round(float(f1_score(labels, pred, zero_division=0)), 4),
        "macro_f1": round(float(f1_score(labels, pred, average="macro")), 4),
        "accuracy": round(float((pred == labels).mean()), 4),
        "roc_auc": round(float(roc_auc_score(labels, probs)), 4),
        "brier": round(float(brier_score_loss(labels, probs)), 4),
        "ece": round(float(ece), 4),
    }


def _best_f1_threshold(labels: np.ndarray, probs: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    grid = np.round(np.arange(0.05, 0.96, 0.05), 2)
    return float(max(grid, key=lambda t: (f1_score(labels, probs >= t), -abs(t - 0.5))))


def train_head(name: str, split: Split, seed: int) -> Trained:
    """One head: fit, calibrate on held-out scores, choose its threshold, score it."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    def fit(x: Any, y: np.ndarray) -> Any:
        return LogisticRegression(
            C=C_VALUES[name], class_weight="balanced", max_iter=5000, solver="lbfgs"
        ).fit(x, y)

    x_train = matrix(split.train_texts)
    if split.cross_validate:
        folds = StratifiedKFold(n_splits=10, shuffle=True, random_state=seed)
        dev_scores = cross_val_predict(
            LogisticRegression(C=C_VALUES[name], class_weight="balanced", max_iter=5000),
            x_train,
            split.train_labels,
            cv=folds,
            method="decision_function",
        )
        model = fit(x_train, split.train_labels)
    else:
        model = fit(x_train, split.train_labels)
        dev_scores = model.decision_function(matrix(split.dev_texts))
    labels = split.dev_labels
    # Balanced data (politeness, offensive) keeps the 50/50 reading of a balanced fit; rare
    # labels (anger) are calibrated to how often they really occur in the dev data.
    balanced = name in ("offensive", "politeness")
    a, b = _platt(dev_scores, labels, balanced)
    probs = _sigmoid(a * dev_scores + b)
    threshold = 0.5 if balanced else _best_f1_threshold(labels, probs)
    metrics = binary_metrics(labels, probs, threshold)
    metrics["dev"] = split.dev_name
    metrics["train_rows"] = split.rows
    weights = model.coef_[0].astype(np.float32)
    head = Head(name, float(model.intercept_[0]), a, b, threshold)
    return Trained(weights, head, metrics)


def train_all(data: Path, seed: int = SEED, log: Callable[[str], None] = print) -> LinearModels:
    """Every head trained on ``data``, as one model."""
    started = time.perf_counter()
    by_head = splits(data, seed)
    trained: list[Trained] = []
    for name, split in by_head.items():
        t0 = time.perf_counter()
        trained.append(train_head(name, split, seed))
        m = trained[-1].metrics
        log(
            f"{name:<11} F1 {m['f1']:.3f}  macro-F1 {m['macro_f1']:.3f}  acc {m['accuracy']:.3f}"
            f"  AUC {m['roc_auc']:.3f}  ECE {m['ece']:.3f}  ({time.perf_counter() - t0:.0f} s)"
        )
    import sklearn

    weights = np.stack([t.weights for t in trained], axis=1)
    # float16 is what ships: store exactly what inference will read
    weights = weights.astype(np.float16).astype(np.float32)
    meta: dict[str, Any] = {
        "name": MODEL_NAME,
        "seed": seed,
        "trained_with": f"scikit-learn {sklearn.__version__}, numpy {np.__version__}",
        "training_seconds": round(time.perf_counter() - started, 1),
        "features": {
            "hash_bits": feats.HASH_BITS,
            "char_ngrams": list(feats.CHAR_NGRAMS),
            "word_pairs": True,
            "identity_terms_masked": len(feats.IDENTITY_TERMS),
        },
        "regularisation_C": C_VALUES,
        "data": {
            folder: {"license": info["license"], "attribution": info["attribution"]}
            for folder, info in TRAINABLE.items()
        },
        "data_sha256": data_fingerprint(data),
        "metrics": {t.head.name: t.metrics for t in trained},
    }
    return LinearModels(weights, [t.head for t in trained], meta)


def write_npz(weights: np.ndarray) -> bytes:
    """An ``.npz`` of the weights as float16, with a fixed timestamp so bytes are repeatable."""
    array = io.BytesIO()
    np.lib.format.write_array(array, weights.astype(np.float16), allow_pickle=False)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        info = zipfile.ZipInfo("weights.npy", date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, array.getvalue())
    return out.getvalue()


def files_of(model: LinearModels) -> dict[str, bytes]:
    """The files a model is shipped as: ``<name>.npz`` and ``<name>.json``."""
    meta_obj = dict(model.meta)
    meta_obj["features_version"] = FEATURES_VERSION
    meta_obj["heads"] = [
        {
            "name": h.name,
            "bias": h.bias,
            "platt_a": h.platt_a,
            "platt_b": h.platt_b,
            "threshold": h.threshold,
        }
        for h in model.heads
    ]
    # training time varies from run to run; it is logged, not stored
    meta_obj.pop("training_seconds", None)
    npz = write_npz(model.weights)
    # the loader checks the weights against this, so a changed or damaged file is refused
    meta_obj["weights_sha256"] = hashlib.sha256(npz).hexdigest()
    meta = (json.dumps(meta_obj, indent=2, sort_keys=True) + "\n").encode()
    return {f"{MODEL_NAME}.npz": npz, f"{MODEL_NAME}.json": meta}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m calmline.models.train", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--data", type=Path, required=True, help="the ../shared/data folder")
    parser.add_argument("--out", type=Path, default=PACKAGE_DATA, help="where to write")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--check",
        action="store_true",
        help="train and compare with the files in --out; write nothing (exit 1 if they differ)",
    )
    args = parser.parse_args(argv)
    try:
        import sklearn  # noqa: F401
    except ImportError:
        print("training needs scikit-learn: pip install 'calmline[train]'", file=sys.stderr)
        return 2
    try:
        model = train_all(args.data, args.seed)
    except (DataError, ModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    files = files_of(model)
    # the model card beside them, its tables filled in from this model (calmline.models.card)
    from calmline.models.card import card_files

    files.update(card_files(files, model, args.out))
    if args.check:
        differ = [
            n
            for n, b in files.items()
            if not (args.out / n).is_file() or (args.out / n).read_bytes() != b
        ]
        for n in differ:
            print(f"{args.out / n}: differs from what the training produces", file=sys.stderr)
        if not differ:
            print(f"{args.out}: the shipped model is what the training produces")
        return 1 if differ else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        tmp = args.out / (name + ".tmp")
        tmp.write_bytes(content)
        tmp.replace(args.out / name)
        print(f"wrote {args.out / name} ({len(content) / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
