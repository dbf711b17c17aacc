"""HTTP validators and byte ranges (RFC 9110 §13, §14) for file downloads; pure functions.

Single ranges only: a request with several ranges, an invalid Range header or a unit other than bytes
gets the whole representation (200), which RFC 9110 §14.2 allows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Protocol, TypeVar

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # exclusive

    @property
    def length(self) -> int:
        return self.end - self.start

    def content_range(self, total: int) -> str:
        return f"bytes {self.start}-{self.end - 1}/{total}"


class Unsatisfiable(Exception):
    """The Range cannot be served for this length: answer 416 with ``Content-Range: bytes */length``."""


#: Any byte position with more digits is past every file (and past Python's limit on int() of a string).
_MAX_DIGITS = 18


def _position(digits: str) -> int:
    """A byte position; one too long to be real counts as 10**18 (leading zeros do not count)."""
    significant = digits.lstrip("0") or "0"
    return int(significant) if len(significant) <= _MAX_DIGITS else 10**_MAX_DIGITS


def parse_range(header: str | None, length: int) -> ByteRange | None:
    """The one range asked for, or None to send everything. Raises Unsatisfiable."""
    if header is None:
        return None
    match = _RANGE.match(header)
    if not match:
        return None  # several ranges, another unit, or bad syntax: ignore the header
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # suffix: the last N bytes
        suffix = _position(last)
        if suffix == 0 or length == 0:
            raise Unsatisfiable(header)
        return ByteRange(max(0, length - suffix), length)
    start = _position(first)
    end = length if not last else _position(last) + 1
    if last and end <= start:
        return None  # last-pos < first-pos: invalid, ignored
    if start >= length:
        raise Unsatisfiable(header)
    return ByteRange(start, min(end, length))


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def _parse_date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _etags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def _weak_match(a: str, b: str) -> bool:
    return a.removeprefix("W/") == b.removeprefix("W/")


def not_modified(etag: str, last_modified: datetime, if_none_match: str | None,
                 if_modified_since: str | None) -> bool:
    """Whether a GET/HEAD can be answered 304 (If-None-Match wins over If-Modified-Since)."""
    if if_none_match is not None:
        tags = _etags(if_none_match)
        return "*" in tags or any(_weak_match(tag, etag) for tag in tags)
    if if_modified_since is not None:
        since = _parse_date(if_modified_since)
        return since is not None and last_modified <= since
    return False


def range_applies(etag: str, last_modified: datetime, if_range: str | None) -> bool:
    """Whether the Range header is to be honoured given If-Range (strong ETag match, or the exact
    Last-Modified date)."""
    if if_range is None:
        return True
    value = if_range.strip()
    if value.startswith(('"', "W/")):
        return value == etag and not etag.startswith("W/")
    since = _parse_date(value)
    return since is not None and since == last_modified


class Part(Protocol):
    """A piece of a representation laid end to end with others: bytes held in memory, or ``length``
    bytes read from elsewhere when ``data`` is None."""

    @property
    def length(self) -> int: ...

    @property
    def data(self) -> bytes | None: ...


P = TypeVar("P", bound=Part)


def slice_parts(parts: Iterable[P], start: int, end: int,
                read: Callable[[P, int, int], Iterator[bytes]]) -> Iterator[bytes]:
    """Bytes ``start`` to ``end`` (exclusive) of the concatenated ``parts``; ``read(part, lo, hi)`` yields
    bytes ``lo`` to ``hi`` of a part that holds no data. Parts after ``end`` are not touched."""
    cursor = 0
    for part in parts:
        lo, hi = max(start, cursor), min(end, cursor + part.length)
        if lo < hi:
            if part.data is not None:
                yield part.data[lo - cursor:hi - cursor]
            else:
                yield from read(part, lo - cursor, hi - cursor)
        cursor += part.length
        if cursor >= end:
            break
