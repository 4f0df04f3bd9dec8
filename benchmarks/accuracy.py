"""Accuracy of calmline's rules and learned models on labelled data, beside peers and anchors.

Two ways to run it:

- **dev data** (no test option): OLID levels A and B on its training file (evaluation-only data:
  calmline never learns from it), the Jigsaw sample, anger and irritation on GoEmotions
  dev.tsv, and politeness on the Wikipedia requests (the politeness model's training data, so
  its figure there is the 10-fold cross-validation figure from the model's metadata, marked so);
  plus each model head's own dev figures, recomputed where the data is here.
- **held-out data**: ``--olid-test DIR`` (the official layout: testset-levela.tsv with id and
  tweet, labels-levela.csv with ``id,label`` and no header, optionally the same for level B),
  ``--goemotions-test FILE`` (text, label ids, id; anger is id 2) and ``--politeness FILE``
  (Stanford politeness CSV; top vs bottom quartile of that file's Normalized Score). Only the
  files given are scored.

Systems on the same rows: calmline's rules alone (``load_engine(models=False)``), calmline with
its models (``default_engine()``), each model head alone (probability >= the head's
threshold), alt-profanity-check (``predict_prob >= 0.5``), better-profanity
(``contains_profanity``) and VADER (``compound <= -0.05`` read as offensive or angry,
``compound >= 0.05`` as polite). A system that answers a different question than the task's
is used as a proxy and marked so. The identity-term probes (``calmline.models.probes``) are
sentences that must not be flagged; their false-positive rate is reported, and the targets of
issue 6 are printed last with PASS or FAIL. Bad or missing files exit with code 2.

    .venv/bin/python benchmarks/accuracy.py --no-better-profanity   # dev data, about 40 s
    .venv/bin/python benchmarks/accuracy.py                         # with better-profanity, ~7 min
    .venv/bin/python benchmarks/accuracy.py --olid-test DIR --goemotions-test FILE --politeness FILE
"""

from __future__ import annotations

import csv
import hashlib
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import calmline
import harness
from calmline import AbuseLevel, Engine, MessageAnalysis, ReplyCheck
from calmline.errors import CalmlineError, TrainingDataError
from calmline.models import LinearModels, shipped_models

OLID = Path("olid") / "olid-training-v1.0.tsv"
JIGSAW = Path("jigsaw-toxic-sample") / "test_examples.csv"
GOEMOTIONS_DEV = Path("goemotions") / "dev.tsv"
WIKIPEDIA = Path("stanford-politeness") / "wikipedia.annotated.csv"
#: GoEmotions label ids (goemotions/labels.txt, 0-based)
ANGER, ANNOYANCE, DISGUST = 2, 3, 11
GOEMOTIONS_LABELS = 28
#: VADER's usual cut-offs for negative and positive sentiment
VADER_NEGATIVE, VADER_POSITIVE = -0.05, 0.05
#: calmline's message anger score at or above which a message counts as angry
ANGER_AT = 0.5
#: what a missing dev file's message adds
DEFAULT_HINT = " (--data DIR points at the shared data; each file has its own option)"

RULES = "calmline rules"
MODELS = "calmline + models"
VADER = "VADER"

#: (task, what, figure, where it comes from), from the SOURCE.md files of the data folders.
ANCHORS: list[tuple[str, str, str, str]] = [
    (
        "OLID A",
        "best OffensEval 2019 system (NULI, BERT)",
        "macro-F1 0.829",
        "test set; task report",
    ),
    ("OLID A", "3rd of 103 (UM-IU@LING, BERT)", "macro-F1 0.814", "test set; its abstract"),
    ("OLID A", "OLID paper CNN / BiLSTM / SVM", "macro-F1 ~0.80 / ~0.75 / ~0.69", "test; recalled"),
    ("OLID B", "best OffensEval 2019 system", "macro-F1 ~0.755", "test set; recalled"),
    (
        "Jigsaw",
        "Kaggle winner, mean column ROC-AUC",
        "~0.9885",
        "full test set, other metric; recalled",
    ),
    ("GoEmotions", "BERT-base, 28 labels", "macro-F1 0.46", "test set; paper abstract"),
    ("GoEmotions anger", "BERT-base, anger class", "F1 ~0.44", "test set; recalled, unverified"),
    ("GoEmotions", "monologg BERT re-run, 28 labels", "macro-F1 0.5030", "test set; its README"),
    ("Politeness", "linguistic features, in-domain Wikipedia", "accuracy 83.8%", "leave-one-out"),
    ("Politeness", "humans, Wikipedia", "accuracy 86.7%", "paper; recalled"),
    (
        "Politeness",
        "trained on Wikipedia, tested on Stack Exchange",
        "accuracy ~67.5%",
        "paper; recalled",
    ),
]

#: what issue 6 asks on held-out data: (what, task, system, score key, at least)
TARGETS: list[tuple[str, str, str, str, float]] = [
    (
        "OLID A macro-F1 >= 0.80",
        "OLID level A",
        f"{MODELS}: abuse level not none",
        "macro_f1",
        0.80,
    ),
    ("GoEmotions anger F1 >= 0.50", "GoEmotions anger", f"{MODELS}: anger >= 0.5", "pos_f1", 0.50),
    ("GoEmotions anger F1 >= 0.50", "GoEmotions anger", "anger head alone", "pos_f1", 0.50),
    (
        "politeness Wikipedia -> Stack Exchange accuracy >= 75%",
        "Politeness",
        f"{MODELS}: politeness >= 0.5",
        "accuracy",
        0.75,
    ),
]
PROBE_TARGET = 0.02


class DataError(Exception):
    """A data file that is missing or not in its format; the message names file, line, field."""


@dataclass
class Task:
    """One binary labelling of some rows, and every system's answer for those rows."""

    name: str
    positive: str
    negative: str
    gold: list[bool]
    texts: list[str]
    predictions: dict[str, list[bool]]
    #: rows whose figures come from the model's metadata, not from these rows: name -> metrics
    quoted: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: one line under the table, when the rows need explaining
    note: str = ""


# ----- reading the files ----------------------------------------------------------------------


def need_file(path: Path, what: str, hint: str = "") -> Path:
    if not path.is_file():
        raise DataError(f"{path}: {what} not found{hint}")
    return path


def open_text(path: Path) -> list[str]:
    """The lines of a UTF-8 text file (a wrong encoding is a DataError naming the file)."""
    try:
        return path.read_text(encoding="utf-8").splitlines(keepends=True)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror})") from None


def dict_rows(path: Path, required: Sequence[str], delimiter: str = ",") -> list[dict[str, str]]:
    """The rows of a CSV or TSV with a header, each with its line number under ``"_line"``."""
    csv.field_size_limit(10_000_000)
    reader = csv.DictReader(open_text(path), delimiter=delimiter)
    missing = [c for c in required if c not in (reader.fieldnames or [])]
    if missing:
        raise DataError(
            f"{path}: line 1: no column {', '.join(repr(c) for c in missing)} "
            f"(the header is {repr(reader.fieldnames or 'empty')[:120]})"
        )
    rows = []
    try:
        for row in reader:
            if any(row.get(c) is None for c in required):
                raise DataError(
                    f"{path}: line {reader.line_num}: too few fields "
                    f"(expected {', '.join(required)})"
                )
            row["_line"] = str(reader.line_num)
            rows.append(row)
    except csv.Error as exc:
        raise DataError(f"{path}: line {reader.line_num}: {exc}") from None
    if not rows:
        raise DataError(f"{path}: no rows under the header")
    return rows


def read_olid(path: Path) -> list[dict[str, str]]:
    """The OLID training file: id, tweet, subtask_a (OFF/NOT), subtask_b (TIN/UNT/NULL)."""
    # The release wraps tweets that contain a double quote in quotes and doubles the quote
    # inside (CSV style); reading it as CSV gives back the tweet as written.
    rows = dict_rows(path, ("tweet", "subtask_a", "subtask_b"), delimiter="\t")
    for r in rows:
        if r["subtask_a"] not in ("OFF", "NOT"):
            raise DataError(
                f"{path}: line {r['_line']}: subtask_a is {r['subtask_a']!r}, not OFF or NOT"
            )
        if r["subtask_a"] == "OFF" and r["subtask_b"] not in ("TIN", "UNT"):
            raise DataError(
                f"{path}: line {r['_line']}: subtask_b is {r['subtask_b']!r} on an OFF row, "
                "not TIN or UNT"
            )
    return rows


def read_olid_level(folder: Path, level: str, labels: tuple[str, str]) -> list[tuple[str, str]]:
    """(tweet, label) of one level of the official test layout, joined on the id."""
    tweets_path = folder / f"testset-level{level}.tsv"
    labels_path = folder / f"labels-level{level}.csv"
    tweets: dict[str, str] = {}
    for r in dict_rows(tweets_path, ("id", "tweet"), delimiter="\t"):
        if r["id"] in tweets:
            raise DataError(f"{tweets_path}: line {r['_line']}: id {r['id']!r} appears twice")
        tweets[r["id"]] = r["tweet"]
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for n, line in enumerate(open_text(labels_path), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 2:
            raise DataError(
                f"{labels_path}: line {n}: expected 'id,label' (no header), got {line.strip()!r}"
            )
        tweet_id, label = parts
        if label not in labels:
            raise DataError(
                f"{labels_path}: line {n}: label {label!r} is not {' or '.join(labels)}"
            )
        if tweet_id not in tweets:
            raise DataError(f"{labels_path}: line {n}: id {tweet_id!r} is not in {tweets_path}")
        if tweet_id in seen:
            raise DataError(f"{labels_path}: line {n}: id {tweet_id!r} appears twice")
        seen.add(tweet_id)
        out.append((tweets[tweet_id], label))
    unlabelled = len(tweets) - len(seen)
    if unlabelled:
        raise DataError(f"{labels_path}: {unlabelled} tweets of {tweets_path} have no label")
    return out


def read_olid_test(folder: Path) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Level A and (when its two files are there) level B of an official OLID test folder."""
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder (--olid-test wants the OLID test folder)")
    for name in ("testset-levela.tsv", "labels-levela.csv"):
        need_file(folder / name, "the OLID level A test file")
    level_a = read_olid_level(folder, "a", ("OFF", "NOT"))
    b_files = [folder / "testset-levelb.tsv", folder / "labels-levelb.csv"]
    present = [p.is_file() for p in b_files]
    if any(present) and not all(present):
        missing = b_files[present.index(False)]
        raise DataError(f"{missing}: not found, though the other level B file is there")
    level_b = read_olid_level(folder, "b", ("TIN", "UNT")) if all(present) else []
    return level_a, level_b


def read_jigsaw(path: Path) -> list[dict[str, str]]:
    rows = dict_rows(path, ("comment_text", "toxic", "insult", "threat"))
    for r in rows:
        for column in ("toxic", "insult", "threat"):
            if r[column].strip() not in ("0", "1"):
                raise DataError(f"{path}: line {r['_line']}: {column} is {r[column]!r}, not 0 or 1")
    return rows


def read_goemotions(path: Path) -> tuple[list[str], list[frozenset[int]]]:
    """GoEmotions' TSV: text, comma-separated label ids (0-27), comment id; no header."""
    texts, labels = [], []
    for n, line in enumerate(open_text(path), start=1):
        parts = line.rstrip("\r\n").split("\t")
        if len(parts) != 3:
            raise DataError(
                f"{path}: line {n}: {len(parts)} tab-separated fields, expected 3 "
                "(text, label ids, id)"
            )
        try:
            ids = frozenset(int(x) for x in parts[1].split(","))
        except ValueError:
            raise DataError(
                f"{path}: line {n}: field 2 (label ids) is {parts[1]!r}, not ids like 2 or 3,27"
            ) from None
        if not all(0 <= i < GOEMOTIONS_LABELS for i in ids):
            raise DataError(f"{path}: line {n}: field 2 (label ids) {parts[1]!r} is outside 0-27")
        texts.append(parts[0])
        labels.append(ids)
    if not texts:
        raise DataError(f"{path}: no rows")
    return texts, labels


def read_politeness(path: Path) -> tuple[list[str], list[bool], tuple[float, float]]:
    """Requests in the top (polite) or bottom (impolite) quartile of the file's Normalized Score,
    the middle half left out as in the paper; and the two cut-offs."""
    rows = dict_rows(path, ("Request", "Normalized Score"))
    scores = []
    for r in rows:
        try:
            scores.append(float(r["Normalized Score"]))
        except ValueError:
            raise DataError(
                f"{path}: line {r['_line']}: Normalized Score is {r['Normalized Score']!r}, "
                "not a number"
            ) from None
    if len(scores) < 4:
        raise DataError(f"{path}: {len(scores)} rows; quartiles need at least 4")
    # the same quartiles as the training script (numpy's default, linear interpolation)
    low, high = (float(q) for q in np.quantile(scores, [0.25, 0.75]))
    keep = [i for i, s in enumerate(scores) if s <= low or s >= high]
    return [rows[i]["Request"] for i in keep], [scores[i] >= high for i in keep], (low, high)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def trained_on(path: Path, models: LinearModels) -> str | None:
    """The name under which the model's metadata lists ``path`` as data it read, if it does."""
    digest = sha256(path)
    for name, known in models.meta.get("data_sha256", {}).items():
        if known == digest:
            return str(name)
    return None


# ----- the systems ------------------------------------------------------------------------------


def scores(gold: Sequence[bool], pred: Sequence[bool]) -> dict[str, float]:
    """Precision, recall and F1 of both classes, macro-F1 and accuracy."""
    tp = sum(g and p for g, p in zip(gold, pred, strict=True))
    fp = sum(p and not g for g, p in zip(gold, pred, strict=True))
    fn = sum(g and not p for g, p in zip(gold, pred, strict=True))
    tn = len(gold) - tp - fp - fn

    def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)

    pos = prf(tp, fp, fn)
    neg = prf(tn, fn, fp)
    return {
        "pos_p": pos[0],
        "pos_r": pos[1],
        "pos_f1": pos[2],
        "neg_p": neg[0],
        "neg_r": neg[1],
        "neg_f1": neg[2],
        "macro_f1": (pos[2] + neg[2]) / 2,
        "accuracy": (tp + tn) / len(gold) if gold else 0.0,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
    }


class Timed:
    """A per-text function computed once per distinct text, with the time it took."""

    def __init__(self, name: str, fn: Callable[[str], Any]) -> None:
        self.name = name
        self.fn = fn
        self.cache: dict[str, Any] = {}
        self.seconds = 0.0

    def __call__(self, text: str) -> Any:
        try:
            return self.cache[text]
        except KeyError:
            start = time.perf_counter()
            found = self.cache[text] = self.fn(text)
            self.seconds += time.perf_counter() - start
            return found


class Analyser(Timed):
    """One engine's analysis of each distinct text (cut to the engine's size limit)."""

    def __init__(self, name: str, engine: Engine) -> None:
        self.engine = engine
        self.truncated = 0
        super().__init__(name, self._analyse)

    def _analyse(self, text: str) -> MessageAnalysis:
        cut = text[: self.engine.max_chars]
        self.truncated += cut != text
        return self.engine.analyze_message(cut)


class Systems:
    """Every system the tasks compare: two engines, the model heads, VADER and the peers."""

    def __init__(self, better_profanity: bool) -> None:
        self.models = shipped_models()
        self.rules = Analyser(RULES, calmline.load_engine(models=False))
        self.with_models = Analyser(MODELS, calmline.default_engine())
        self.reply_rules = Timed(f"{RULES} (check_reply)", self.rules.engine.check_reply)
        self.reply_models = Timed(f"{MODELS} (check_reply)", self.with_models.engine.check_reply)
        self.heads = Timed("model heads", self.models.predict)
        self.vader = vader()
        self.peers = Peers(better=better_profanity)

    def head(self, name: str, texts: Sequence[str]) -> list[bool]:
        at = self.models.head(name).threshold
        return [self.heads(t)[name] >= at for t in texts]

    def head_label(self, name: str) -> str:
        return f"{name} head alone"

    def negative(self, texts: Sequence[str]) -> dict[str, list[bool]]:
        """VADER's negative reading, as a proxy (empty when VADER is not installed)."""
        if self.vader is None:
            return {}
        return {
            f"{VADER}: compound <= {VADER_NEGATIVE} (proxy)": [
                self.vader(t) <= VADER_NEGATIVE for t in texts
            ]
        }

    def timings(self) -> list[tuple[str, int, float]]:
        parts: list[Timed] = [self.rules, self.with_models, self.reply_rules, self.reply_models]
        parts.append(self.heads)
        if self.vader is not None:
            parts.append(self.vader)
        out = [(t.name, len(t.cache), t.seconds) for t in parts if t.cache]
        out += [(n, self.peers.counted[n], s) for n, s in self.peers.seconds.items()]
        return out


def vader() -> Timed | None:
    try:
        from vaderSentiment.vaderSentiment import (  # type: ignore[import-untyped]
            SentimentIntensityAnalyzer,
        )
    except ImportError:
        print("vaderSentiment is not installed; skipped", file=sys.stderr)
        return None
    analyser = SentimentIntensityAnalyzer()
    return Timed(VADER, lambda text: analyser.polarity_scores(text)["compound"])


class Peers:
    """The two profanity filters, if installed; each maps texts to yes/no."""

    def __init__(self, better: bool) -> None:
        self.systems: dict[str, Callable[[list[str]], list[bool]]] = {}
        self.seconds: dict[str, float] = {}
        self.counted: Counter[str] = Counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                from profanity_check import predict_prob  # type: ignore[import-untyped]
            except ImportError:
                print("alt-profanity-check is not installed; skipped", file=sys.stderr)
            else:

                def apc(texts: list[str]) -> list[bool]:
                    return [bool(p >= 0.5) for p in predict_prob(texts)]

                self.systems["alt-profanity-check"] = apc
        if better:
            try:
                from better_profanity import profanity  # type: ignore[import-untyped]
            except ImportError:
                print("better-profanity is not installed; skipped", file=sys.stderr)
            else:
                profanity.load_censor_words()

                def bp(texts: list[str]) -> list[bool]:
                    return [bool(profanity.contains_profanity(t)) for t in texts]

                self.systems["better-profanity"] = bp
        self.cache: dict[str, dict[str, bool]] = {name: {} for name in self.systems}

    def flags(self, name: str, texts: list[str]) -> list[bool]:
        known = self.cache[name]
        todo = list(dict.fromkeys(t for t in texts if t not in known))
        if todo:
            print(f"  {name}: {len(todo):,} texts ...", file=sys.stderr, flush=True)
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                known.update(zip(todo, self.systems[name](todo), strict=True))
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
            self.counted[name] += len(todo)
        return [known[t] for t in texts]

    def all_flags(self, texts: list[str], proxy: bool = False) -> dict[str, list[bool]]:
        mark = " (proxy: flagged)" if proxy else ""
        return {f"{name}{mark}": self.flags(name, texts) for name in self.systems}


def offensive(a: MessageAnalysis) -> bool:
    return a.abuse is not AbuseLevel.NONE


def abusive_or_profane(a: MessageAnalysis) -> bool:
    return a.abuse.rank >= AbuseLevel.ABUSIVE.rank or a.has("profanity")


def targeted(a: MessageAnalysis) -> bool:
    return a.has("insult") or a.has("threat")


def tone_finding(check: ReplyCheck) -> bool:
    return any(f.rule == "B3" for f in check.findings)


# ----- the tasks --------------------------------------------------------------------------------


def offence_readings(texts: list[str], on: Systems) -> dict[str, list[bool]]:
    """Every system's offensive-or-not answer on ``texts``."""
    out: dict[str, list[bool]] = {}
    for engine in (on.rules, on.with_models):
        analyses = [engine(t) for t in texts]
        out[f"{engine.name}: abuse level not none"] = [offensive(a) for a in analyses]
        out[f"{engine.name}: abusive or profanity"] = [abusive_or_profane(a) for a in analyses]
    out[on.head_label("offensive")] = on.head("offensive", texts)
    out.update(on.peers.all_flags(texts))
    out.update(on.negative(texts))
    return out


def olid_a_task(texts: list[str], gold: list[bool], on: Systems, where: str) -> Task:
    return Task(f"OLID level A{where}", "OFF", "NOT", gold, texts, offence_readings(texts, on))


def olid_b_task(texts: list[str], gold: list[bool], on: Systems, where: str) -> Task:
    predictions: dict[str, list[bool]] = {}
    for engine in (on.rules, on.with_models):
        predictions[f"{engine.name}: insult or threat"] = [targeted(engine(t)) for t in texts]
    predictions["baseline: always TIN"] = [True] * len(texts)
    predictions.update(on.peers.all_flags(texts, proxy=True))
    return Task(f"OLID level B{where} (OFF rows)", "TIN", "UNT", gold, texts, predictions)


def jigsaw_tasks(rows: list[dict[str, str]], on: Systems) -> list[Task]:
    texts = [r["comment_text"] for r in rows]

    def gold(column: str) -> list[bool]:
        return [r[column].strip() == "1" for r in rows]

    def signal(kind: str) -> dict[str, list[bool]]:
        return {
            f"{engine.name}: {kind} signal": [engine(t).has(kind) for t in texts]
            for engine in (on.rules, on.with_models)
        }

    proxies = on.peers.all_flags(texts, proxy=True)
    return [
        Task("Jigsaw toxic", "toxic", "not", gold("toxic"), texts, offence_readings(texts, on)),
        Task("Jigsaw insult", "insult", "not", gold("insult"), texts, signal("insult") | proxies),
        Task("Jigsaw threat", "threat", "not", gold("threat"), texts, signal("threat") | proxies),
    ]


def goemotions_tasks(
    texts: list[str], labels: list[frozenset[int]], on: Systems, where: str
) -> list[Task]:
    def angry(engine: Analyser) -> list[bool]:
        return [engine(t).anger >= ANGER_AT for t in texts]

    anger = Task(
        f"GoEmotions anger{where}",
        "anger",
        "not",
        [ANGER in ids for ids in labels],
        texts,
        {
            f"{RULES}: anger >= 0.5": angry(on.rules),
            f"{MODELS}: anger >= 0.5": angry(on.with_models),
            on.head_label("anger"): on.head("anger", texts),
            **on.negative(texts),
        },
    )
    rough = {ANGER, ANNOYANCE, DISGUST}
    irritation = Task(
        f"GoEmotions irritation{where} (anger, annoyance or disgust)",
        "irritated",
        "not",
        [bool(ids & rough) for ids in labels],
        texts,
        {
            f"{MODELS}: anger >= 0.5 (proxy)": angry(on.with_models),
            on.head_label("irritation"): on.head("irritation", texts),
            **on.negative(texts),
        },
    )
    return [anger, irritation]


def politeness_task(
    path: Path, texts: list[str], gold: list[bool], on: Systems, training: str | None
) -> Task:
    predictions: dict[str, list[bool]] = {
        f"{RULES}: no B3 tone finding (proxy)": [
            not tone_finding(on.reply_rules(t)) for t in texts
        ],
    }
    task = Task("Politeness", "polite", "impolite", gold, texts, predictions)
    if training is None:
        predictions[f"{MODELS}: politeness >= 0.5"] = [
            (on.reply_models(t).politeness or 0.0) >= 0.5 for t in texts
        ]
        predictions[on.head_label("politeness")] = on.head("politeness", texts)
    else:
        metrics = on.models.meta.get("metrics", {}).get("politeness", {})
        task.quoted["politeness head: 10-fold CV (model metadata)"] = metrics
        task.note = (
            f"{path.name} is the politeness model's training data ({training}), so the model is "
            "not scored on it; the quoted row is its 10-fold cross-validation figure from the "
            "model's metadata. The Stack Exchange half (--politeness FILE) is the held-out test."
        )
    if on.vader is not None:
        vader = on.vader
        predictions[f"{VADER}: compound >= {VADER_POSITIVE} (proxy)"] = [
            vader(t) >= VADER_POSITIVE for t in texts
        ]
    return task


# ----- printing ---------------------------------------------------------------------------------

SCORE_KEYS = ("pos_p", "pos_r", "pos_f1", "neg_p", "neg_r", "neg_f1", "macro_f1", "accuracy")
#: the metadata's names for the same figures (the negative class is not recorded there)
META_KEYS = {"pos_p": "precision", "pos_r": "recall", "pos_f1": "f1"}


def print_task(task: Task) -> dict[str, Any]:
    pos, neg = task.positive, task.negative
    n_pos = sum(task.gold)
    n_neg = len(task.gold) - n_pos
    print(f"## {task.name}: {len(task.gold):,} rows scored ({pos} {n_pos:,} / {neg} {n_neg:,})\n")
    results = {name: scores(task.gold, pred) for name, pred in task.predictions.items()}
    rows = [(name, *(f"{s[k]:.3f}" for k in SCORE_KEYS)) for name, s in results.items()]
    for name, meta in task.quoted.items():
        cells = [meta.get(META_KEYS.get(k, k)) for k in SCORE_KEYS]
        rows.append((f"*{name}*", *(f"*{v:.3f}*" if v is not None else "n/a" for v in cells)))
    headers = [f"{pos} P", f"{pos} R", f"{pos} F1", f"{neg} P", f"{neg} R", f"{neg} F1"]
    print(harness.table(["system", *headers, "macro-F1", "accuracy"], rows))
    if task.note:
        print(f"\n{task.note}")
    print()
    return {
        "positive": pos,
        "negative": neg,
        "rows": len(task.gold),
        "scores": results,
        "quoted": task.quoted,
    }


def signal_table(texts: list[str], gold: list[bool], analyse: Analyser) -> list[dict[str, Any]]:
    """For each signal type: how many OLID rows have it and how many of those are OFF."""
    seen: Counter[str] = Counter()
    off: Counter[str] = Counter()
    total_off = sum(gold)
    for text, is_off in zip(texts, gold, strict=True):
        for t in {s.type for s in analyse(text).signals}:
            seen[t] += 1
            off[t] += is_off
    out = [
        {
            "signal": t,
            "rows": n,
            "share_off": off[t] / n,
            "off_covered": off[t] / total_off if total_off else 0.0,
        }
        for t, n in sorted(seen.items(), key=lambda kv: -kv[1])
    ]
    print(f"## OLID: how often each signal of {analyse.name} appears, and on which rows\n")
    print(
        harness.table(
            ["signal", "rows with it", "share of them OFF", "share of all OFF rows"],
            [
                (o["signal"], o["rows"], f"{o['share_off']:.3f}", f"{o['off_covered']:.3f}")
                for o in out
            ],
        )
    )
    print()
    return out


def head_table(on: Systems, recomputed: dict[str, tuple[str, dict[str, float]]]) -> dict[str, Any]:
    """Each model head's own dev figures (metadata) beside the same figures recomputed here."""
    metrics: dict[str, dict[str, Any]] = on.models.meta.get("metrics", {})
    print("## Model heads: their own dev figures (metadata) and recomputed here\n")
    rows = []
    for name, m in metrics.items():
        again = recomputed.get(name)
        rows.append(
            (
                name,
                m.get("dev", "?"),
                m.get("rows"),
                m.get("threshold"),
                *(f"{m[k]:.3f}" if k in m else "n/a" for k in ("precision", "recall", "f1")),
                f"{m['roc_auc']:.3f}" if "roc_auc" in m else "n/a",
                f"{again[1]['pos_f1']:.3f} on {again[0]}" if again else "not recomputed",
            )
        )
    print(
        harness.table(
            ["head", "dev data", "rows", "threshold", "P", "R", "F1", "ROC-AUC", "F1 recomputed"],
            rows,
            "llrrrrrrl",
        )
    )
    print(
        "\nThe anger and irritation heads were calibrated and their thresholds chosen on "
        "GoEmotions dev.tsv, so their dev figures are slightly optimistic; politeness is "
        "cross-validated on its training data and cannot be recomputed without training.\n"
    )
    return {
        "metadata": metrics,
        "recomputed": {k: {"on": v[0], **v[1]} for k, v in recomputed.items()},
    }


def recompute_heads(data: Path, on: Systems, limit: int) -> dict[str, tuple[str, dict[str, float]]]:
    """The offensive head on its Davidson dev split, rebuilt with the model's seed."""
    from calmline.models import train  # needs only numpy to read the splits

    seed = on.models.meta.get("seed")
    if seed is None or not (data / "davidson-hate-offensive").is_dir():
        return {}
    try:
        split = train.splits(data, int(seed))["offensive"]
    except TrainingDataError as exc:
        print(f"the Davidson dev split could not be rebuilt: {exc}", file=sys.stderr)
        return {}
    texts = split.dev_texts[:limit] if limit else split.dev_texts
    gold = [bool(y) for y in split.dev_labels[: len(texts)]]
    return {"offensive": ("the Davidson dev split", scores(gold, on.head("offensive", texts)))}


def probe_table(on: Systems) -> dict[str, Any] | None:
    """How many of the identity-term probes each system flags (none of them should be)."""
    try:
        from calmline.models.probes import identity_probes
    except ImportError:
        print("## Identity-term probes\n\nprobe set not available (calmline.models.probes)\n")
        return None
    texts = list(identity_probes())
    at = on.models.head("offensive").threshold
    abuse = [offensive(on.with_models(t)) for t in texts]
    head = [on.heads(t)["offensive"] >= at for t in texts]
    either = [a or h for a, h in zip(abuse, head, strict=True)]
    flagged: dict[str, list[bool]] = {
        f"{RULES}: abuse level not none": [offensive(on.rules(t)) for t in texts],
        f"{MODELS}: abuse level not none": abuse,
        f"offensive head >= {at:.2f}": head,
        "either of the two above (what the target counts)": either,
        **on.peers.all_flags(texts),
        **on.negative(texts),
    }
    print(f"## Identity-term probes: {len(texts):,} sentences that must not be flagged\n")
    rows = [(name, sum(f), f"{sum(f) / len(texts):.1%}") for name, f in flagged.items()]
    print(harness.table(["system", "flagged", "false-positive rate"], rows))
    examples = [t for t, f in zip(texts, either, strict=True) if f]
    for text in examples[:5]:
        print(f"- flagged: {text!r}")
    print()
    return {
        "probes": len(texts),
        "flagged": {name: sum(f) for name, f in flagged.items()},
        "rate": sum(either) / len(texts),
        "examples_flagged": examples[:20],
    }


WASSA = Path("wassa2017-emoint-anger")


def _ranks(values: Sequence[float]) -> list[float]:
    """Average ranks (ties share the mean of their positions), for Spearman's rho."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2
        i = j + 1
    return ranks


def _pearson(xs: Sequence[float], ys: Sequence[float]) -> float:
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    return sxy / (sxx * syy) ** 0.5 if sxx and syy else 0.0


def intensity_table(data: Path, on: Systems, limit: int) -> dict[str, Any] | None:
    """How well each anger reading follows WASSA-2017's anger intensity (0-1), as Pearson and
    Spearman correlations; None when the folder is not there."""
    folder = data / WASSA
    names = ("anger-ratings-0to1.train.txt", "anger-ratings-0to1.dev.gold.txt")
    if not all((folder / n).is_file() for n in names):
        print(f"## Anger intensity\n\nskipped: {folder} is not there\n")
        return None
    texts: list[str] = []
    gold: list[float] = []
    for name in names:
        for number, line in enumerate(open_text(folder / name), start=1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 4:
                raise DataError(f"{folder / name}:{number}: expected id, tweet, emotion, intensity")
            try:
                gold.append(float(parts[3]))
            except ValueError:
                raise DataError(
                    f"{folder / name}:{number}: intensity {parts[3]!r} is not a number"
                ) from None
            texts.append(parts[1])
    if limit:
        texts, gold = texts[:limit], gold[:limit]
    readings = {
        f"{RULES}: anger score": [on.rules(t).anger for t in texts],
        f"{MODELS}: anger score": [on.with_models(t).anger for t in texts],
        "anger head alone: probability": [on.heads(t)["anger"] for t in texts],
    }
    if on.vader is not None:
        readings[f"{VADER}: -compound (proxy)"] = [-on.vader(t) for t in texts]
    rows = []
    gold_ranks = _ranks(gold)
    for name, values in readings.items():
        rows.append((name, _pearson(values, gold), _pearson(_ranks(values), gold_ranks)))
    print(f"## Anger intensity (WASSA-2017 anger, train and dev): {len(texts):,} tweets\n")
    print(harness.table(["system", "Pearson r", "Spearman rho"], rows, "lrr"))
    print(
        "\nEvaluation-only data, rated 0-1 for how angry the writer is: a better anger score "
        "follows the ratings more closely. For scale (SOURCE.md, recalled, unverified): the "
        "winning WASSA-2017 system averaged r 0.747 over four emotions on the test set, the "
        "organisers' baseline 0.66.\n"
    )
    return {name: {"pearson": r, "spearman": rho, "rows": len(texts)} for name, r, rho in rows}


def target_table(
    results: dict[str, dict[str, Any]], probes: dict[str, Any] | None, held_out: set[str]
) -> list[dict[str, Any]]:
    """Issue 6's targets beside the figures, PASS or FAIL (indicative on dev data)."""
    out: list[dict[str, Any]] = []
    for what, prefix, system, key, least in TARGETS:
        task = next((name for name in results if name.startswith(prefix)), None)
        measured = results[task]["scores"].get(system) if task else None
        if task is None or measured is None:
            why = "not scored" if task is None else "training data: not scored"
            out.append({"target": what, "system": system, "figure": None, "on": why})
            continue
        out.append(
            {
                "target": what,
                "system": system,
                "figure": measured[key],
                "on": f"{task}, {results[task]['rows']:,} rows",
                "held_out": task in held_out,
                "pass": measured[key] >= least,
            }
        )
    if probes is not None:
        out.append(
            {
                "target": f"identity probes flagged <= {PROBE_TARGET:.0%}",
                "system": "calmline + models abuse, or offensive head",
                "figure": probes["rate"],
                "on": f"{probes['probes']} probes",
                "held_out": True,
                "pass": probes["rate"] <= PROBE_TARGET,
            }
        )
    else:
        out.append(
            {"target": "identity probes flagged <= 2%", "system": "", "figure": None, "on": ""}
        )

    def verdict(t: dict[str, Any]) -> str:
        if t["figure"] is None:
            return "not measured"
        word = "PASS" if t["pass"] else "FAIL"
        return word if t["held_out"] else f"{word} (dev, indicative)"

    print("## Targets of issue 6 (on held-out data)\n")
    print(
        harness.table(
            ["target", "system", "figure", "scored on", "result"],
            [
                (
                    t["target"],
                    t["system"],
                    f"{t['figure']:.3f}" if t["figure"] is not None else "n/a",
                    t["on"],
                    verdict(t),
                )
                for t in out
            ],
            "lllll",
        )
    )
    if any(t["figure"] is not None and not t["held_out"] for t in out):
        print(
            "\nThe targets are set for held-out test data. A figure scored on dev data is only "
            "indicative: rerun with --olid-test DIR --goemotions-test FILE --politeness FILE."
        )
    print()
    for t in out:
        t["result"] = verdict(t)
    return out


def show_errors(task: Task, system: str, n: int) -> None:
    pred = task.predictions[system]
    fps = [t for t, g, p in zip(task.texts, task.gold, pred, strict=True) if p and not g]
    fns = [t for t, g, p in zip(task.texts, task.gold, pred, strict=True) if g and not p]
    print(f"### {task.name}, {system}: first {n} false positives and false negatives\n")
    for label, items in (("false positive", fps), ("false negative", fns)):
        for t in items[:n]:
            print(f"- {label}: {t[:200]!r}")
    print()


# ----- the run ----------------------------------------------------------------------------------


def arguments(argv: Sequence[str] | None) -> Any:
    p = harness.parser(__doc__.splitlines()[0])
    p.add_argument("--olid", type=Path, default=None, help="a TSV in the OLID training format")
    p.add_argument("--jigsaw", type=Path, default=None, help="a CSV in the Jigsaw format")
    p.add_argument(
        "--olid-test",
        type=Path,
        default=None,
        metavar="DIR",
        help="a folder in the official OLID test layout (testset-levela.tsv, labels-levela.csv, "
        "optionally the level B pair)",
    )
    p.add_argument(
        "--goemotions-test",
        type=Path,
        default=None,
        metavar="FILE",
        help="a TSV in the GoEmotions format (text, label ids, id); scores anger (id 2)",
    )
    p.add_argument(
        "--politeness",
        type=Path,
        default=None,
        metavar="FILE",
        help="a CSV in the Stanford politeness format; top vs bottom quartile of that file",
    )
    p.add_argument(
        "--no-better-profanity",
        action="store_true",
        help="skip better-profanity (it takes about 6 minutes on the OLID file)",
    )
    p.add_argument("--limit", type=int, default=0, help="score only the first N rows of each file")
    p.add_argument(
        "--show-errors",
        type=int,
        default=0,
        metavar="N",
        help="print N false positives and negatives of the first system of each task",
    )
    return p.parse_args(argv)


def run(args: Any) -> None:
    started = time.perf_counter()
    facts = harness.machine(
        ("calmline", "alt-profanity-check", "better-profanity", "vaderSentiment", "scikit-learn"),
        pin=not args.no_pin,
        cpu=args.cpu,
    )
    held_out_mode = bool(args.olid_test or args.goemotions_test or args.politeness)
    cut: Callable[[list[Any]], list[Any]] = (lambda xs: xs[: args.limit]) if args.limit else list

    # Read every file before loading anything, so a bad file fails fast.
    files: dict[str, str] = {}
    olid_a: tuple[list[str], list[bool]] | None = None
    olid_b: tuple[list[str], list[bool]] | None = None
    jigsaw: list[dict[str, str]] = []
    goemotions: tuple[list[str], list[frozenset[int]]] | None = None
    politeness_path: Path | None = None
    if args.olid_test:
        level_a, level_b = read_olid_test(args.olid_test)
        files["olid test"] = str(args.olid_test)
        level_a, level_b = cut(level_a), cut(level_b)
        olid_a = ([t for t, _ in level_a], [y == "OFF" for _, y in level_a])
        if level_b:
            olid_b = ([t for t, _ in level_b], [y == "TIN" for _, y in level_b])
    elif args.olid or not held_out_mode:
        path = need_file(args.olid or args.data / OLID, "the OLID training file", DEFAULT_HINT)
        rows = cut(read_olid(path))
        files["olid"] = str(path)
        olid_a = ([r["tweet"] for r in rows], [r["subtask_a"] == "OFF" for r in rows])
        off = [r for r in rows if r["subtask_a"] == "OFF"]
        olid_b = ([r["tweet"] for r in off], [r["subtask_b"] == "TIN" for r in off])
    if args.jigsaw or not held_out_mode:
        path = need_file(args.jigsaw or args.data / JIGSAW, "the Jigsaw sample", DEFAULT_HINT)
        jigsaw = cut(read_jigsaw(path))
        files["jigsaw"] = str(path)
    if args.goemotions_test or not held_out_mode:
        path = args.goemotions_test or args.data / GOEMOTIONS_DEV
        texts, labels = read_goemotions(need_file(path, "the GoEmotions file", DEFAULT_HINT))
        goemotions = (cut(texts), cut(labels))
        files["goemotions"] = str(path)
    if args.politeness or not held_out_mode:
        politeness_path = need_file(
            args.politeness or args.data / WIKIPEDIA, "the Stanford politeness file", DEFAULT_HINT
        )
        files["politeness"] = str(politeness_path)
        p_texts, p_gold, cutoffs = read_politeness(politeness_path)
        p_texts, p_gold = cut(p_texts), cut(p_gold)

    on = Systems(better_profanity=not args.no_better_profanity)
    where = " (held-out test)" if args.olid_test else ""
    tasks: list[Task] = []
    held_out: set[str] = set()
    if olid_a is not None:
        tasks.append(olid_a_task(*olid_a, on, where))
    if olid_b is not None:
        tasks.append(olid_b_task(*olid_b, on, where))
    if args.olid_test:
        held_out.update(t.name for t in tasks)
    tasks += jigsaw_tasks(jigsaw, on) if jigsaw else []
    if goemotions is not None:
        g_path = Path(files["goemotions"])
        seen_in = trained_on(g_path, on.models)
        g_where = " (held-out test)" if args.goemotions_test and seen_in is None else ""
        g_tasks = goemotions_tasks(*goemotions, on, g_where)
        if seen_in is not None:
            for task in g_tasks:
                task.note = (
                    f"The model's training read {g_path.name} ({seen_in}): the heads' "
                    "calibration and thresholds were set on it, so their figures here are "
                    "not held-out ones."
                    if seen_in.endswith("dev.tsv")
                    else f"{g_path.name} is the models' training data ({seen_in}): the heads' "
                    "figures here say nothing about new data."
                )
        elif args.goemotions_test:
            held_out.update(t.name for t in g_tasks)
        tasks += g_tasks
    if politeness_path is not None:
        seen_in = trained_on(politeness_path, on.models)
        task = politeness_task(politeness_path, p_texts, p_gold, on, seen_in)
        task.name += f" ({politeness_path.name}, quartiles {cutoffs[0]:.3f} / {cutoffs[1]:.3f})"
        if args.politeness and seen_in is None:
            held_out.add(task.name)
        tasks.append(task)
    recomputed = recompute_heads(args.data, on, args.limit) if not held_out_mode else {}
    if goemotions is not None and not args.goemotions_test:
        anger_task = next(t for t in tasks if t.name.startswith("GoEmotions anger"))
        irritation_task = next(t for t in tasks if t.name.startswith("GoEmotions irritation"))
        recomputed["anger"] = (
            "GoEmotions dev.tsv",
            scores(anger_task.gold, anger_task.predictions[on.head_label("anger")]),
        )
        recomputed["irritation"] = (
            "GoEmotions dev.tsv",
            scores(irritation_task.gold, irritation_task.predictions[on.head_label("irritation")]),
        )

    title = "held-out files" if held_out_mode else "labelled dev data"
    print(f"# calmline accuracy on {title}\n")
    harness.print_machine(facts)
    for what, where in files.items():
        print(f"- {what}: {where}")
    if jigsaw:
        print("- the Jigsaw sample is lower-cased (shouting cannot show): a smoke test only")
    print()

    results = {task.name: print_task(task) for task in tasks}
    heads = head_table(on, recomputed)
    signals = signal_table(olid_a[0], olid_a[1], on.with_models) if olid_a is not None else []
    probes = probe_table(on)
    intensity = intensity_table(args.data, on, args.limit) if not held_out_mode else None

    print("## Published anchors (from the SOURCE.md of each data folder)\n")
    print(harness.table(["task", "system", "figure", "measured on"], ANCHORS, "llll"))
    print(
        "\nThe anchors are trained classifiers scored on the official test sets; on the dev "
        "data, the OLID rows above are its training file (calmline never learns from it), so "
        "read the anchors as scale, not as a ranking.\n"
    )
    targets = target_table(results, probes, held_out)

    if args.show_errors:
        for task in tasks:
            first = next(iter(task.predictions))
            show_errors(task, first, args.show_errors)

    print("## Time\n")
    timing_rows = [(name, n, secs, n / secs if secs else None) for name, n, secs in on.timings()]
    print(harness.table(["system", "distinct texts", "seconds", "texts/s"], timing_rows))
    total = time.perf_counter() - started
    print(f"\nThe whole run took {total:.1f} s.")

    harness.save(
        "accuracy-heldout" if held_out_mode else "accuracy",
        args.out,
        {
            "machine": facts,
            "files": files,
            "tasks": results,
            "model_heads": heads,
            "olid_signals": signals,
            "identity_probes": probes,
            "anger_intensity": intensity,
            "targets": targets,
            "anchors": [
                dict(zip(("task", "system", "figure", "on"), a, strict=True)) for a in ANCHORS
            ],
            "seconds": round(total, 1),
        },
        args.no_save,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    try:
        run(args)
    except DataError as exc:
        print(f"accuracy.py: {exc}", file=sys.stderr)
        return 2
    except CalmlineError as exc:  # the shipped model or the playbook cannot be read
        print(f"accuracy.py: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
