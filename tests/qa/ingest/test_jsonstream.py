"""The streaming JSON scanner cuts out the same values json.loads reads, across buffer edges."""

from __future__ import annotations

import io
import json
import random
from typing import Any

import pytest

from calmline.qa.ingest import jsonstream
from calmline.qa.ingest.jsonstream import JsonStream, JsonSyntaxError, decode, json_records


def random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(7 if depth < 4 else 4)
    if kind == 0:
        return rng.randrange(-1000, 1000)
    if kind == 1:
        return rng.choice([None, True, False, 1.5e-3])
    if kind in (2, 3):
        return "".join(rng.choice('ab"\\/{}[],: é\n\t😀') for _ in range(rng.randrange(12)))
    if kind == 4:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {
        str(random_value(rng, 3)): random_value(rng, depth + 1) for _ in range(rng.randrange(4))
    }


@pytest.mark.parametrize("chunk", [1, 3, 64, 1 << 20])
def test_values_match_json_loads(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(jsonstream, "_CHUNK", chunk)
    rng = random.Random(7)
    values = [random_value(rng) for _ in range(150)]
    data = "\n".join(json.dumps(v, ensure_ascii=rng.random() < 0.5) for v in values).encode()
    stream = JsonStream(io.BytesIO(data))
    read = []
    while stream.peek() is not None:
        read.append(decode(stream.value(1 << 20)))
    assert read == values


def test_a_value_over_the_limit_is_dropped_but_the_next_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(jsonstream, "_CHUNK", 16)
    data = json.dumps([{"big": "z" * 500}, {"small": 1}]).encode()
    stream = JsonStream(io.BytesIO(data))
    values = list(stream.items(100))
    assert values[0].data is None and values[0].size > 500
    assert decode(values[1]) == {"small": 1}


def test_wrapper_records_and_line_numbers() -> None:
    data = (
        b'{"type": "page", "tickets": [\n {"id": 1},\n {"id": 2}\n], "users": [{"id": 9}]}\n'
        b'{"id": 3}\n'
    )
    records = list(
        json_records(
            io.BytesIO(data), wrapper_keys={"tickets"}, wanted={"tickets"}, bare=True, limit=999
        )
    )
    assert [(r.container, r.value.line, decode(r.value)) for r in records] == [
        ("tickets", 2, {"id": 1}),
        ("tickets", 3, {"id": 2}),
        (None, 5, {"id": 3}),
    ]


def test_a_missing_comma_is_a_syntax_error_with_its_line() -> None:
    with pytest.raises(JsonSyntaxError) as caught:
        list(
            json_records(
                io.BytesIO(b'[\n{"a": 1}\n{"b": 2}]'),
                wrapper_keys=(),
                wanted=(),
                bare=True,
                limit=99,
            )
        )
    assert caught.value.line == 3 and "',' or ']'" in caught.value.message


def test_a_broken_element_is_cut_out_and_the_next_one_read() -> None:
    data = b'[{"a": 1,}, {"b": "\xff"}, {"c": [1, 2]}]'
    values = list(JsonStream(io.BytesIO(data)).items(1000))
    assert len(values) == 3
    with pytest.raises(jsonstream.BadValue, match="not valid JSON"):
        decode(values[0])
    with pytest.raises(jsonstream.BadValue, match="not valid UTF-8 \\(byte 20 of the file\\)"):
        decode(values[1])
    assert decode(values[2]) == {"c": [1, 2]}
