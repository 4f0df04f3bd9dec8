"""Reading a JSON file one value at a time, so an export of any size is read in bounded memory.

The standard library parses whole documents only. This scanner walks the file's bytes with
three linear-time regular expressions (the next structural byte, the end of a string, the end of
a bare scalar), cuts out one value at a time and hands it to :func:`json.loads`. A value longer
than the caller's limit is skipped without being held in memory. It works on bytes: every byte
JSON gives meaning to is ASCII and never part of a multi-byte UTF-8 sequence, so broken UTF-8
is found when a value is decoded, at an exact byte offset.

A file may hold several top-level values one after another (JSON Lines is that case), and a
top-level object may be a *wrapper* whose arrays hold the records (``{"tickets": [...]}``):
:func:`json_records` yields the records of both shapes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from calmline.errors import ArchiveError
from calmline.qa.types import IngestProblem

_CHUNK = 1 << 20
_STRUCTURE = re.compile(rb'["\[\]{}]')
_STRING_END = re.compile(rb'["\\]')
_SCALAR_END = re.compile(rb"[\s,\]}]")
_SPACE = re.compile(rb"[ \t\r\n]*")
#: The longest object key read (keys are field names, not data).
_MAX_KEY_BYTES = 1_000
#: Values skipped are parsed (fast) up to this size, scanned byte by byte beyond it.
_SKIP_WHOLE = 8_000_000


class JsonSyntaxError(Exception):
    """The file's structure is broken at ``offset``: nothing after it can be trusted."""

    def __init__(self, offset: int, line: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset
        self.line = line
        self.message = message


@dataclass(frozen=True, slots=True)
class RawValue:
    """One value cut out of the file: where it starts, and its bytes (None when too long)."""

    offset: int
    line: int
    size: int
    data: bytes | None
    #: the value itself, when the fast path has already parsed it
    parsed: Any = None
    is_parsed: bool = False


class BadValue(Exception):
    """A value that is not valid UTF-8 or not valid JSON."""


def decode(value: RawValue) -> Any:
    """The Python value of a cut-out value; :class:`BadValue` says where it is broken."""
    if value.is_parsed:
        return value.parsed
    assert value.data is not None
    try:
        text = value.data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadValue(
            f"not valid UTF-8 (byte {value.offset + exc.start + 1:,} of the file)"
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadValue(f"not valid JSON: {exc.msg} (line {value.line + exc.lineno - 1})") from None
    except RecursionError:
        raise BadValue("not valid JSON: nested too deeply") from None


class JsonStream:
    """The values of one binary JSON file, read front to back (and re-read after :meth:`seek`)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.buf = b""
        self.pos = 0  # index in buf of the next unread byte
        self.base = 0  # file offset of buf[0]
        self.eof = False
        self._lines = 0  # newlines in the file before buf[_line_pos]
        self._line_pos = 0
        self._decoder = json.JSONDecoder()
        self._last_size = 0
        self._skip_bom()

    def _skip_bom(self) -> None:
        if self.base == 0 and self._fill() and self.buf.startswith(b"\xef\xbb\xbf"):
            self.pos = 3

    # ----- position ---------------------------------------------------------------------------

    def offset(self) -> int:
        return self.base + self.pos

    def line(self) -> int:
        """The 1-based line of the next unread byte (counted incrementally, once per byte)."""
        if self.pos > self._line_pos:
            self._lines += self.buf.count(b"\n", self._line_pos, self.pos)
            self._line_pos = self.pos
        return self._lines + 1

    def seek(self, offset: int, line: int) -> None:
        self.raw.seek(offset)
        self.buf, self.pos, self.base, self.eof = b"", 0, offset, False
        self._lines, self._line_pos = line - 1, 0

    def _trim(self, keep_from: int) -> None:
        """Forget the buffer before ``keep_from`` (counting its newlines first)."""
        if keep_from <= 0:
            return
        if keep_from > self._line_pos:
            self._lines += self.buf.count(b"\n", self._line_pos, keep_from)
            self._line_pos = 0
        else:
            self._line_pos -= keep_from
        self.buf = self.buf[keep_from:]
        self.base += keep_from
        self.pos -= keep_from

    def _fill(self, keep_from: int | None = None) -> bool:
        """Read another chunk, keeping the buffer from ``keep_from`` (default: the unread part)."""
        if self.eof:
            return False
        data = self.raw.read(_CHUNK)
        if not data:
            self.eof = True
            return False
        self._trim(self.pos if keep_from is None else keep_from)
        self.buf += data
        return True

    # ----- tokens -----------------------------------------------------------------------------

    def peek(self) -> int | None:
        """The next non-space byte (not consumed), or None at the end of the file."""
        while True:
            m = _SPACE.match(self.buf, self.pos)
            assert m is not None
            self.pos = m.end()
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._fill():
                return None

    def expect(self, allowed: bytes, what: str) -> int:
        found = self.peek()
        if found is None or found not in allowed:
            shown = "the end of the file" if found is None else repr(chr(found))
            raise JsonSyntaxError(self.offset(), self.line(), f"expected {what}, found {shown}")
        self.pos += 1
        return found

    def value(self, limit: int) -> RawValue:
        """Cut out the next value; its bytes are None (and not kept) when longer than ``limit``."""
        first = self.peek()
        if first is not None and first in b"{[" and limit > 0:
            fast = self._parsed_value(limit)
            if fast is not None:
                return fast
        return self._scanned_value(limit)

    def _parsed_value(self, limit: int) -> RawValue | None:
        """The next object or array parsed by the json module's C scanner from a window of the
        buffer (twice the last value's size, doubled until the value fits). None when the value
        is broken, not UTF-8 or too long: the byte scanner then finds its end and says why."""
        start, line = self.offset(), self.line()
        window = max(1 << 16, 2 * self._last_size)
        while True:
            while len(self.buf) - self.pos < window and self._fill():
                pass
            chunk = self.buf[self.pos : self.pos + window]
            try:
                text = chunk.decode("utf-8")
            except UnicodeDecodeError as exc:
                if exc.start < len(chunk) - 3:
                    return None  # broken UTF-8, not a character cut by the window
                text = chunk[: exc.start].decode("utf-8", errors="replace")
            try:
                parsed, end = self._decoder.raw_decode(text)
            except (json.JSONDecodeError, RecursionError):
                if len(chunk) < window or window > limit:
                    return None  # the whole rest of the file or the limit tried: broken
                window *= 2
                continue
            size = end if len(text) == len(chunk) else len(text[:end].encode("utf-8"))
            if size > limit:
                return None
            self._last_size = size
            data = self.buf[self.pos : self.pos + size]
            self.pos += size
            return RawValue(start, line, size, data, parsed, True)

    def _scanned_value(self, limit: int) -> RawValue:
        first = self.peek()
        if first is None:
            raise JsonSyntaxError(self.offset(), self.line(), "the file ends where a value belongs")
        start, line = self.offset(), self.line()
        i = self.pos
        depth = 0
        in_string = False
        scalar = first not in b'{["'
        dropped = False
        while True:
            buf = self.buf
            end = -1
            if scalar:
                m = _SCALAR_END.search(buf, i)
                if m:
                    end = m.start()
                i = len(buf)
            else:
                while True:
                    if in_string:
                        m = _STRING_END.search(buf, i)
                        if m is None:
                            i = len(buf)
                            break
                        if buf[m.start()] == 0x5C:  # a backslash escapes the next byte
                            if m.start() + 1 >= len(buf):
                                i = m.start()
                                break
                            i = m.start() + 2
                            continue
                        in_string = False
                        i = m.start() + 1
                        if depth == 0:
                            end = i
                            break
                        continue
                    m = _STRUCTURE.search(buf, i)
                    if m is None:
                        i = len(buf)
                        break
                    c = buf[m.start()]
                    i = m.start() + 1
                    if c == 0x22:
                        in_string = True
                    elif c in b"[{":
                        depth += 1
                    else:
                        depth -= 1
                        if depth <= 0:
                            end = i
                            break
            if end >= 0:
                break
            # The value goes on past the buffer: keep it (or drop it when too long), read more.
            if self.base + i - start > limit:
                dropped = True
            keep = i if dropped else self.pos
            if not self._fill(keep_from=keep):
                if scalar:
                    end = len(self.buf)
                    break
                raise JsonSyntaxError(
                    start, line, f"the file ends inside the value that starts on line {line}"
                )
            # _fill dropped the buffer before ``keep``: the scan goes on from the same byte.
            i -= keep
            self.pos = 0
        size = self.base + end - start
        if size == 0:  # a stray ',' ']' or '}' where a value belongs
            raise JsonSyntaxError(start, line, f"expected a value, found {chr(first)!r}")
        if dropped or size > limit:
            self.pos = end
            return RawValue(start, line, size, None)
        data = self.buf[self.pos : end]
        self.pos = end
        return RawValue(start, line, size, data)

    def skip(self) -> None:
        """Pass over the next value: arrays element by element, anything else whole."""
        if self.peek() == ord("["):
            for _ in self.items(_SKIP_WHOLE):
                pass
        else:
            self.value(_SKIP_WHOLE)

    def key(self) -> str:
        raw = self.value(_MAX_KEY_BYTES)
        if raw.data is None or not raw.data.startswith(b'"'):
            raise JsonSyntaxError(raw.offset, raw.line, "expected an object key (a short string)")
        try:
            key = decode(raw)
        except BadValue as exc:
            raise JsonSyntaxError(raw.offset, raw.line, f"object key {exc}") from None
        assert isinstance(key, str)
        return key

    def members(self) -> Iterator[str]:
        """The keys of the object that starts here; the caller reads or skips each value."""
        self.expect(b"{", "an object")
        if self.peek() == ord("}"):
            self.pos += 1
            return
        while True:
            key = self.key()
            self.expect(b":", "':' after an object key")
            yield key
            if self.expect(b",}", "',' or '}' in an object") == ord("}"):
                return

    def items(self, limit: int) -> Iterator[RawValue]:
        """The elements of the array that starts here."""
        self.expect(b"[", "an array")
        if self.peek() == ord("]"):
            self.pos += 1
            return
        while True:
            yield self.value(limit)
            if self.expect(b",]", "',' or ']' in an array") == ord("]"):
                return


@dataclass(frozen=True, slots=True)
class Record:
    """A record of a JSON export: the array it came from (None for a bare object) and its place."""

    container: str | None
    index: int
    value: RawValue


def json_records(
    raw: IO[bytes],
    *,
    wrapper_keys: Collection[str],
    wanted: Collection[str],
    bare: bool,
    limit: int,
) -> Iterator[Record]:
    """The records of a JSON export: the elements of top-level arrays, the elements of the
    ``wanted`` arrays of wrapper objects (objects with any of ``wrapper_keys``), and, when
    ``bare``, top-level objects that are not wrappers. Top-level values may follow one another
    (JSON Lines). Raises :class:`JsonSyntaxError` when the structure breaks.
    """
    stream = JsonStream(raw)
    index = 0
    while (first := stream.peek()) is not None:
        if first == ord("["):
            if not bare:
                stream.skip()
                continue
            for value in stream.items(limit):
                yield Record(None, index, value)
                index += 1
        elif first == ord("{"):
            start, line = stream.offset(), stream.line()
            wrapper = False
            for key in stream.members():
                if key in wrapper_keys:
                    wrapper = True
                if key in wanted and stream.peek() == ord("["):
                    for value in stream.items(limit):
                        yield Record(key, index, value)
                        index += 1
                else:
                    stream.skip()
            if not wrapper and bare:
                # A record, not a wrapper: read it again, whole this time.
                stream.seek(start, line)
                yield Record(None, index, stream.value(limit))
                index += 1
        else:
            value = stream.value(limit)
            if bare:
                yield Record(None, index, value)
                index += 1


def first_keys(raw: IO[bytes], *, enough: Collection[str], most: int = 200) -> tuple[str, set[str]]:
    """The shape of a JSON file's first record, for format detection: ``("object", keys)`` for a
    top-level object, ``("array", keys of its first element)`` for an array. Stops early once a
    key in ``enough`` is seen. Raises :class:`JsonSyntaxError`.
    """
    stream = JsonStream(raw)
    first = stream.peek()
    keys: set[str] = set()
    if first == ord("["):
        stream.expect(b"[", "an array")
        if stream.peek() != ord("{"):
            return "array", keys
        kind = "array"
    elif first == ord("{"):
        kind = "object"
    else:
        return "other", keys
    for key in stream.members():
        keys.add(key)
        if key in enough or len(keys) >= most:
            break
        stream.skip()
    return kind, keys


def read_objects(
    path: str | Path,
    name: str,
    *,
    wrapper_keys: Collection[str],
    wanted: Collection[str],
    bare: bool,
    limit: int,
    what: str,
) -> Iterator[tuple[str, dict[str, Any]] | IngestProblem]:
    """The records of a JSON export as ``(record, object)`` pairs, ``record`` naming the line it
    starts on; a record that is too large, broken or not an object is an :class:`IngestProblem`.

    JSON Lines (the first line is a whole JSON value) is read a line at a time, so a broken line
    spoils that line only. Any other JSON is streamed value by value; when its structure breaks,
    one problem says so and the rest of the file is skipped."""
    try:
        with Path(path).open("rb") as raw:
            by_line = _line_delimited(raw, limit)
            raw.seek(0)
            if by_line:
                yield from _by_line(raw, name, wrapper_keys, wanted, bare, limit, what)
            else:
                yield from _streamed(raw, name, wrapper_keys, wanted, bare, limit, what)
    except OSError as exc:
        raise ArchiveError(f"{name}: cannot read it ({exc.strerror})") from None


def _line_delimited(raw: IO[bytes], limit: int) -> bool:
    while True:
        line = raw.readline(limit + 1)
        if not line:
            return False
        line = line.removeprefix(b"\xef\xbb\xbf").strip()
        if line:
            break
    try:
        return isinstance(json.loads(line), dict | list)
    except (ValueError, RecursionError):
        return False


def _by_line(
    raw: IO[bytes],
    name: str,
    wrapper_keys: Collection[str],
    wanted: Collection[str],
    bare: bool,
    limit: int,
    what: str,
) -> Iterator[tuple[str, dict[str, Any]] | IngestProblem]:
    line_no = 0
    while chunk := raw.readline(limit + 1):
        line_no += 1
        where = f"line {line_no}"
        if len(chunk) > limit and not chunk.endswith(b"\n"):
            size = len(chunk)
            while chunk and not chunk.endswith(b"\n"):  # skip the rest of the line unread
                chunk = raw.readline(limit + 1)
                size += len(chunk)
            yield IngestProblem(
                name, where, "", f"the line is over {limit:,} bytes (the limit; skipped unread)"
            )
            continue
        if line_no == 1:
            chunk = chunk.removeprefix(b"\xef\xbb\xbf")
        if not chunk.strip():
            continue
        try:
            text = chunk.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield IngestProblem(
                name, where, "", f"not valid UTF-8 (byte {exc.start + 1} of the line)"
            )
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            yield IngestProblem(name, where, "", f"not valid JSON: {exc.msg} (column {exc.colno})")
            continue
        except RecursionError:
            yield IngestProblem(name, where, "", "not valid JSON: nested too deeply")
            continue
        if isinstance(data, dict) and any(k in data for k in wrapper_keys):
            for key in wanted:
                elements = data.get(key)
                if isinstance(elements, list):
                    for n, element in enumerate(elements):
                        yield _checked(name, f"{where}, {key}[{n}]", element, what)
        elif isinstance(data, list):
            if bare:
                for n, element in enumerate(data):
                    yield _checked(name, f"{where}, [{n}]", element, what)
        elif bare:
            yield _checked(name, where, data, what)


def _checked(
    name: str, where: str, data: Any, what: str
) -> tuple[str, dict[str, Any]] | IngestProblem:
    if isinstance(data, dict):
        return where, data
    return IngestProblem(name, where, "", f"expected a {what} (a JSON object), got {_kind(data)}")


def _streamed(
    raw: IO[bytes],
    name: str,
    wrapper_keys: Collection[str],
    wanted: Collection[str],
    bare: bool,
    limit: int,
    what: str,
) -> Iterator[tuple[str, dict[str, Any]] | IngestProblem]:
    try:
        for rec in json_records(
            raw, wrapper_keys=wrapper_keys, wanted=wanted, bare=bare, limit=limit
        ):
            where = f"line {rec.value.line}"
            if rec.value.data is None:
                yield IngestProblem(
                    name,
                    where,
                    "",
                    f"the {what} is {rec.value.size:,} bytes; the limit is {limit:,} "
                    "(skipped unread)",
                )
                continue
            try:
                data = decode(rec.value)
            except BadValue as exc:
                yield IngestProblem(name, where, "", str(exc))
                continue
            yield _checked(name, where, data, what)
    except JsonSyntaxError as exc:
        yield syntax_problem(name, exc)


def syntax_problem(name: str, exc: JsonSyntaxError) -> IngestProblem:
    """The one problem of a file whose JSON structure breaks: where, and that the rest is lost."""
    return IngestProblem(
        name,
        f"line {exc.line}",
        "",
        f"not valid JSON: {exc.message} (byte {exc.offset + 1:,}); the rest of the file is skipped",
    )


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "text"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    return "a number"
