"""Accuracy on the labelled dev data: OLID levels A and B, and the Jigsaw sample.

- OLID level A (offensive or not): calmline says OFF when the abuse level is not ``none``;
  a second reading says OFF only when the message is abusive (or a safety matter) or has
  profanity in it, so that venting and shouting alone do not count.
- OLID level B, on the OFF rows only (targeted insult or threat vs untargeted profanity):
  calmline says TIN when it finds an ``insult`` or a ``threat.*`` signal, UNT otherwise.
- Jigsaw sample: toxic (as level A, both readings), insult (the ``insult`` signal) and threat
  (any ``threat.*`` signal).

Beside calmline, on the same rows: alt-profanity-check (``predict_prob >= 0.5``) and
better-profanity (``contains_profanity``). They only say "offensive or not", so on level B,
insult and threat their flag is used as a proxy and marked so. The published anchors from
each data folder's SOURCE.md are printed beside; they were measured on the official test
sets, while the OLID file scored here is the training file, so they set the scale and are
not a like-for-like comparison.

    .venv/bin/python benchmarks/accuracy.py                       # about 4 minutes
    .venv/bin/python benchmarks/accuracy.py --no-better-profanity # about 20 seconds
    .venv/bin/python benchmarks/accuracy.py --olid FILE --jigsaw FILE --show-errors 10
"""

from __future__ import annotations

import csv
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import calmline
import harness
from calmline import AbuseLevel, MessageAnalysis

OLID = Path("olid") / "olid-training-v1.0.tsv"
JIGSAW = Path("jigsaw-toxic-sample") / "test_examples.csv"

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
]


@dataclass
class Task:
    """One binary labelling of some rows, and every system's answer for those rows."""

    name: str
    positive: str
    negative: str
    gold: list[bool]
    texts: list[str]
    predictions: dict[str, list[bool]]


def read_olid(path: Path) -> list[dict[str, str]]:
    # The release wraps tweets that contain a double quote in quotes and doubles the quote
    # inside (CSV style); reading it as CSV gives back the tweet as written.
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    bad = [r for r in rows if r.get("subtask_a") not in ("OFF", "NOT")]
    if bad:
        sys.exit(f"{path}: {len(bad)} rows without an OFF/NOT label; is it in the OLID format?")
    return rows


def read_jigsaw(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


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


class Analyser:
    """calmline's analysis of each distinct text, computed once and timed."""

    def __init__(self) -> None:
        self.engine = calmline.default_engine()
        self.cache: dict[str, MessageAnalysis] = {}
        self.seconds = 0.0
        self.truncated = 0

    def __call__(self, text: str) -> MessageAnalysis:
        found = self.cache.get(text)
        if found is None:
            cut = text[: self.engine.max_chars]
            self.truncated += cut != text
            start = time.perf_counter()
            found = self.engine.analyze_message(cut)
            self.seconds += time.perf_counter() - start
            self.cache[text] = found
        return found


def offensive(a: MessageAnalysis) -> bool:
    return a.abuse is not AbuseLevel.NONE


def abusive_or_profane(a: MessageAnalysis) -> bool:
    return a.abuse.rank >= AbuseLevel.ABUSIVE.rank or a.has("profanity")


def targeted(a: MessageAnalysis) -> bool:
    return a.has("insult") or a.has("threat")


class Peers:
    """The two profanity filters, if installed; each maps texts to yes/no."""

    def __init__(self, better: bool) -> None:
        self.systems: dict[str, Callable[[list[str]], list[bool]]] = {}
        self.seconds: dict[str, float] = {}
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
        return [known[t] for t in texts]


def olid_tasks(rows: list[dict[str, str]], analyse: Analyser, peers: Peers) -> list[Task]:
    texts = [r["tweet"] for r in rows]
    analyses = [analyse(t) for t in texts]
    a = Task(
        "OLID level A",
        "OFF",
        "NOT",
        [r["subtask_a"] == "OFF" for r in rows],
        texts,
        {
            "calmline: abuse level not none": [offensive(x) for x in analyses],
            "calmline: abusive or profanity": [abusive_or_profane(x) for x in analyses],
        },
    )
    for name in peers.systems:
        a.predictions[name] = peers.flags(name, texts)
    off = [i for i, r in enumerate(rows) if r["subtask_a"] == "OFF"]
    off_texts = [texts[i] for i in off]
    b = Task(
        "OLID level B (OFF rows)",
        "TIN",
        "UNT",
        [rows[i]["subtask_b"] == "TIN" for i in off],
        off_texts,
        {
            "calmline: insult or threat": [targeted(analyses[i]) for i in off],
            "baseline: always TIN": [True] * len(off),
        },
    )
    for name in peers.systems:
        b.predictions[f"{name} (proxy: flagged)"] = peers.flags(name, off_texts)
    return [a, b]


def jigsaw_tasks(rows: list[dict[str, str]], analyse: Analyser, peers: Peers) -> list[Task]:
    texts = [r["comment_text"] for r in rows]
    analyses = [analyse(t) for t in texts]
    flags = {name: peers.flags(name, texts) for name in peers.systems}

    def gold(column: str) -> list[bool]:
        return [r[column].strip() == "1" for r in rows]

    toxic = Task(
        "Jigsaw toxic",
        "toxic",
        "not",
        gold("toxic"),
        texts,
        {
            "calmline: abuse level not none": [offensive(x) for x in analyses],
            "calmline: abusive or profanity": [abusive_or_profane(x) for x in analyses],
            **flags,
        },
    )
    insult = Task(
        "Jigsaw insult",
        "insult",
        "not",
        gold("insult"),
        texts,
        {
            "calmline: insult signal": [x.has("insult") for x in analyses],
            **{f"{n} (proxy: flagged)": f for n, f in flags.items()},
        },
    )
    threat = Task(
        "Jigsaw threat",
        "threat",
        "not",
        gold("threat"),
        texts,
        {
            "calmline: threat.* signal": [x.has("threat") for x in analyses],
            **{f"{n} (proxy: flagged)": f for n, f in flags.items()},
        },
    )
    return [toxic, insult, threat]


def print_task(task: Task) -> dict[str, Any]:
    pos, neg = task.positive, task.negative
    n_pos = sum(task.gold)
    n_neg = len(task.gold) - n_pos
    print(f"## {task.name}: {len(task.gold):,} rows ({pos} {n_pos:,} / {neg} {n_neg:,})\n")
    results = {name: scores(task.gold, pred) for name, pred in task.predictions.items()}
    print(
        harness.table(
            [
                "system",
                f"{pos} P",
                f"{pos} R",
                f"{pos} F1",
                f"{neg} P",
                f"{neg} R",
                f"{neg} F1",
                "macro-F1",
                "accuracy",
            ],
            [
                (
                    name,
                    *(
                        f"{s[k]:.3f}"
                        for k in (
                            "pos_p",
                            "pos_r",
                            "pos_f1",
                            "neg_p",
                            "neg_r",
                            "neg_f1",
                            "macro_f1",
                            "accuracy",
                        )
                    ),
                )
                for name, s in results.items()
            ],
        )
    )
    print()
    return {"positive": pos, "negative": neg, "rows": len(task.gold), "scores": results}


def signal_table(rows: list[dict[str, str]], analyse: Analyser) -> list[dict[str, Any]]:
    """For each signal type: how many OLID rows have it and how many of those are OFF."""
    seen: Counter[str] = Counter()
    off: Counter[str] = Counter()
    total_off = sum(r["subtask_a"] == "OFF" for r in rows)
    for r in rows:
        types = {s.type for s in analyse(r["tweet"]).signals}
        for t in types:
            seen[t] += 1
            off[t] += r["subtask_a"] == "OFF"
    out = [
        {
            "signal": t,
            "rows": n,
            "share_off": off[t] / n,
            "off_covered": off[t] / total_off if total_off else 0.0,
        }
        for t, n in sorted(seen.items(), key=lambda kv: -kv[1])
    ]
    print("## OLID: how often each calmline signal appears, and on which rows\n")
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


def show_errors(task: Task, system: str, n: int) -> None:
    pred = task.predictions[system]
    fps = [t for t, g, p in zip(task.texts, task.gold, pred, strict=True) if p and not g]
    fns = [t for t, g, p in zip(task.texts, task.gold, pred, strict=True) if g and not p]
    print(f"### {task.name}, {system}: first {n} false positives and false negatives\n")
    for label, items in (("false positive", fps), ("false negative", fns)):
        for t in items[:n]:
            print(f"- {label}: {t[:200]!r}")
    print()


def main(argv: Sequence[str] | None = None) -> None:
    p = harness.parser(__doc__.splitlines()[0])
    p.add_argument("--olid", type=Path, default=None, help="a TSV in the OLID training format")
    p.add_argument("--jigsaw", type=Path, default=None, help="a CSV in the Jigsaw format")
    p.add_argument(
        "--no-better-profanity",
        action="store_true",
        help="skip better-profanity (it takes about 3 minutes on the OLID file)",
    )
    p.add_argument("--limit", type=int, default=0, help="score only the first N rows of each file")
    p.add_argument(
        "--show-errors",
        type=int,
        default=0,
        metavar="N",
        help="print N of calmline's false positives and negatives per task",
    )
    args = p.parse_args(argv)

    facts = harness.machine(
        ("calmline", "alt-profanity-check", "better-profanity", "scikit-learn"),
        pin=not args.no_pin,
        cpu=args.cpu,
    )
    olid_path = harness.require(args.olid or args.data / OLID, "the OLID file")
    jigsaw_path = harness.require(args.jigsaw or args.data / JIGSAW, "the Jigsaw sample")
    olid = read_olid(olid_path)
    jigsaw = read_jigsaw(jigsaw_path)
    if args.limit:
        olid, jigsaw = olid[: args.limit], jigsaw[: args.limit]

    analyse = Analyser()
    peers = Peers(better=not args.no_better_profanity)
    tasks = olid_tasks(olid, analyse, peers) + jigsaw_tasks(jigsaw, analyse, peers)

    print("# calmline accuracy on labelled dev data\n")
    harness.print_machine(facts)
    print(
        f"- OLID: {olid_path} ({len(olid):,} rows); Jigsaw: {jigsaw_path} ({len(jigsaw):,} rows, "
        "lower-cased by its publisher, so shouting cannot show; a smoke test only)."
    )
    n = len(analyse.cache)
    print(
        f"- calmline analysed {n:,} distinct texts in {analyse.seconds:.2f} s "
        f"({n / analyse.seconds:,.0f}/s)"
        + (f"; {analyse.truncated} cut to the size limit" if analyse.truncated else "")
        + "."
    )
    for name, secs in peers.seconds.items():
        print(f"- {name}: {secs:.1f} s for the same texts.")
    print()

    results = {task.name: print_task(task) for task in tasks}
    signals = signal_table(olid, analyse)

    print("## Published anchors (from the SOURCE.md of each data folder)\n")
    print(harness.table(["task", "system", "figure", "measured on"], ANCHORS, "llll"))
    print(
        "\nThe anchors are trained classifiers scored on the official test sets; the figures "
        "above are calmline's rules on the training file (calmline was never trained on it), "
        "so read them as scale, not as a ranking."
    )

    if args.show_errors:
        print()
        for task in tasks:
            first = next(iter(task.predictions))
            show_errors(task, first, args.show_errors)

    harness.save(
        "accuracy",
        args.out,
        {
            "machine": facts,
            "files": {"olid": str(olid_path), "jigsaw": str(jigsaw_path)},
            "tasks": results,
            "olid_signals": signals,
            "anchors": [
                dict(zip(("task", "system", "figure", "on"), a, strict=True)) for a in ANCHORS
            ],
        },
        args.no_save,
    )


if __name__ == "__main__":
    main()
