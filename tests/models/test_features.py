"""The features every model reads: the same everywhere, blind to identity terms, linear in time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from calmline.models import features as feats
from calmline.models import shipped_models

TEXTS = [
    "You are USELESS!!! Where is my refund?",
    "I'm a gay Muslim woman and my parcel is late",
    "stooopid idiots @acme_help http://acme.example/help &amp; don&#39;t care",
    "Café crème, naïve résumé — ünïcödé ✓",
    "",
]


def test_the_same_text_gives_the_same_slots_in_another_process() -> None:
    here = [sorted(feats.features(t).items()) for t in TEXTS]
    script = (
        "import json, sys\n"
        "from calmline.models import features as f\n"
        "texts = json.loads(sys.stdin.read())\n"
        "print(json.dumps([sorted(f.features(t).items()) for t in texts]))\n"
    )
    for seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", script],
            input=json.dumps(TEXTS),
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        there = [[tuple(pair) for pair in text] for text in json.loads(done.stdout)]
        assert there == here, f"PYTHONHASHSEED={seed} gives other slots"


def test_slots_are_in_range_and_a_word_has_its_pieces() -> None:
    counts = feats.features("refund")
    assert all(0 <= s < feats.N_FEATURES for s in counts)
    assert feats.slot("w:refund") in counts
    assert feats.slot(" re") in counts and feats.slot("nd ") in counts
    assert feats.pair_slot("my", "refund") in feats.features("my refund")


@pytest.mark.parametrize("term", sorted(t for t in feats.IDENTITY_TERMS if "-" not in t))
def test_an_identity_term_never_produces_a_feature(term: str) -> None:
    without = feats.features("my parcel is late")
    for spelt in (term, term.upper(), term.title()):
        assert feats.features(spelt) == {}, spelt
        assert feats.features(f"my {spelt} parcel is late") == without, spelt
        assert feats.words(f"As a {spelt} customer") == ["as", "a", "customer"]


def test_hyphenated_and_possessive_identity_terms_produce_no_feature() -> None:
    assert feats.words("a non-binary customer") == ["a", "customer"]
    assert feats.words("the women's changing room") == ["the", "changing", "room"]


def test_entities_handles_and_links_are_folded() -> None:
    same = [
        ("you & me", "you &amp; me"),
        ("don't <b>", "don&#39;t &lt;b&gt;"),
        ("@acme_help where is it", "@someone_else where is it"),
        ("see http://a.example/x?y=1 now", "see www.other.example/page now"),
        ("see url now", "see https://b.example now"),
    ]
    for plain, folded in same:
        assert feats.features(plain) == feats.features(folded), (plain, folded)
    assert feats.words("@acme_help hi") == ["user", "hi"]
    assert "acme_help" not in " ".join(feats.words("@acme_help hi"))


# ----- hostile input --------------------------------------------------------------------------

N = 200_000
HOSTILE = {
    "one long word": "a" * N,
    "punctuation": "!?" * (N // 2),
    "quoted letters": "'a" * (N // 2),
    "entities": "&amp;" * (N // 5),
    "handles": "@a" * (N // 2),
    "distinct words": " ".join(f"w{i}" for i in range(N // 8)),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_input_is_read_in_linear_time(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The work (hashed slots) grows with the length, never faster, and even 200,000 characters
    take well under a few seconds (a quadratic step would take minutes)."""
    calls = 0
    real_slot = feats.slot

    def counting(feature: str) -> int:
        nonlocal calls
        calls += 1
        return real_slot(feature)

    monkeypatch.setattr(feats, "slot", counting)
    text = HOSTILE[name]
    work = []
    for size in (len(text) // 4, len(text) // 2, len(text)):
        calls = 0
        started = time.perf_counter()
        feats.features(text[:size])
        elapsed = time.perf_counter() - started
        work.append(calls)
        assert elapsed < 10, f"{name}: {size} characters took {elapsed:.1f} s"
    # hashing at most ~3 slots per character, and doubling the text at most doubles the work
    assert work[-1] <= 3 * len(text) + 100
    assert work[2] <= 2.2 * work[1] + 100 and work[1] <= 2.2 * work[0] + 100, work


@pytest.mark.parametrize("name", list(HOSTILE))
def test_the_model_scores_hostile_input_quickly(name: str) -> None:
    model = shipped_models()
    started = time.perf_counter()
    probs = model.predict(HOSTILE[name])
    assert time.perf_counter() - started < 20
    assert all(0.0 <= p <= 1.0 for p in probs.values())
