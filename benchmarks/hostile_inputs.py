"""Hostile texts of a chosen length: the inputs that make text engines slow or make them crash.

Shared by benchmarks/adversarial.py (which times them at 10, 50 and 100 KB) and
tests/core/test_adversarial.py (which checks they finish with sane results). Standard
library only, so both can import it.

Every family returns exactly ``size`` characters (code points), built by repeating a unit
and cutting to length, so timings at different sizes compare like with like.
"""

from __future__ import annotations

from collections.abc import Callable


def _fill(unit: str, size: int, head: str = "") -> str:
    """``head`` then ``unit`` repeated, cut to exactly ``size`` characters."""
    if size <= len(head):
        return head[:size]
    body = size - len(head)
    return head + (unit * (body // len(unit) + 1))[:body]


def _nested(size: int) -> str:
    half = size // 2
    return ("(" * half + ")" * half + "(")[:size]


def _mixed_brackets(size: int) -> str:
    third = size // 6
    return ("([{" * third + "}])" * third + "()" * size)[:size]


#: name -> (what it is, how to build it at a given size)
FAMILIES: dict[str, tuple[str, Callable[[int], str]]] = {
    "word_same_letter": ("one word, one letter ('aaaa...')", lambda n: "a" * n),
    "word_mixed": ("one word of mixed letters", lambda n: _fill("fuckidiotwrong", n)),
    "word_stretched": ("a swear word stretched ('fuuuu...ck')", lambda n: _fill("u", n, "f")),
    "a_bang": ("'a!' repeated", lambda n: _fill("a!", n)),
    "f_star": ("'f*' repeated (one masked token)", lambda n: _fill("f*", n)),
    "stars": ("'*' repeated", lambda n: "*" * n),
    "spaced_letters": ("single letters spaced ('f u c k ...')", lambda n: _fill("f u c k ", n)),
    "dotted_letters": ("single letters dotted ('s.h.i.t.')", lambda n: _fill("s.h.i.t.", n)),
    "all_caps": (
        "all-caps abuse",
        lambda n: _fill("THIS IS UNACCEPTABLE YOU USELESS IDIOTS ", n),
    ),
    "single_quotes": ('"\'" repeated', lambda n: "'" * n),
    "double_quotes": ("'\"' repeated", lambda n: '"' * n),
    "quoted_phrases": ("'\"you idiot\" ' repeated", lambda n: _fill('"you idiot" ', n)),
    "curly_quotes": ("curly quotes around words", lambda n: _fill("“you are wrong” ", n)),
    "bangs": ("'!' repeated", lambda n: "!" * n),
    "question_bangs": ("'?!' repeated", lambda n: _fill("?!", n)),
    "nested_brackets": ("'((((...))))'", _nested),
    "mixed_brackets": ("'([{...}])' and '()' runs", _mixed_brackets),
    "combining_marks": ("one letter then combining accents", lambda n: _fill("\u0301", n, "a")),
    "strikethrough": ("letters each with a combining stroke", lambda n: _fill("f\u0336", n)),
    "emoji": ("'😡' repeated (outside the BMP)", lambda n: "😡" * n),
    "emoji_zwj": ("family emoji joined by ZWJ", lambda n: _fill("👨\u200d👩\u200d👧 ", n)),
    "rtl_marks": ("right-to-left marks between words", lambda n: _fill("\u202ekcuf\u202c ", n)),
    "rtl_only": ("'\\u200f' repeated", lambda n: "\u200f" * n),
    "lone_surrogates": ("lone high surrogates", lambda n: "\ud800" * n),
    "mixed_surrogates": ("letters and lone low surrogates", lambda n: _fill("a\udc00", n)),
    "you_repeated": ("'you ' repeated", lambda n: _fill("you ", n)),
    "insult_repeated": ("'you idiot ' repeated", lambda n: _fill("you idiot ", n)),
    "negated_insults": (
        "'you are not an idiot ' repeated",
        lambda n: _fill("you are not an idiot ", n),
    ),
    "agent_phrases": (
        "draft problems repeated",
        lambda n: _fill("Calm down, you are wrong. There is nothing we can do. ", n),
    ),
    "contractions": ("'you're don't can't ' repeated", lambda n: _fill("you're don't can't ", n)),
    "leet": ("'sh!t f4ck @ss ' repeated", lambda n: _fill("sh!t f4ck @ss ", n)),
    "digits": ("one run of digits", lambda n: "7" * n),
    "digit_words": ("numbers with spaces", lambda n: _fill("12345 ", n)),
    "dollars": ("'$' repeated", lambda n: "$" * n),
    "at_signs": ("'@' repeated", lambda n: "@" * n),
    "handles": ("'@user ' repeated", lambda n: _fill("@user ", n)),
    "url_long": ("one very long URL", lambda n: _fill("a", n, "http://")),
    "urls_many": ("many short URLs", lambda n: _fill("https://x.co/a ", n)),
    "emails_many": ("many e-mail addresses", lambda n: _fill("a@b.co ", n)),
    "www_repeated": ("'www.' repeated", lambda n: _fill("www.", n)),
    "newlines": ("'\\n' repeated", lambda n: "\n" * n),
    "spaces": ("' ' repeated", lambda n: " " * n),
    "sentences": ("short sentences", lambda n: _fill("No. ", n)),
    "nul_and_controls": ("NUL and control characters", lambda n: _fill("\x00\x01\x1b[31m", n)),
}


def hostile_inputs(size: int) -> dict[str, str]:
    """Every family built at ``size`` characters."""
    return {name: build(size) for name, (_, build) in FAMILIES.items()}
