"""Lengths of gzip files served decompressed: measured by inflating (every member), or read from the trailer."""

from __future__ import annotations

import gzip
import io
import zlib

import pytest

from tapserver.datalink.inflate import LengthCache, decompressed_length, trailer_length
from tests.datalink.conftest import HESS, decompressed

PLAIN = bytes(range(256)) * 400


@pytest.mark.parametrize(("name", "raw", "length"), [
    ("H.E.S.S. DR1 file", HESS.read_bytes(), len(decompressed(HESS))),
    ("one member", gzip.compress(PLAIN), len(PLAIN)),
    ("two members with NUL padding", gzip.compress(PLAIN) + b"\0" * 8 + gzip.compress(b"x" * 7), len(PLAIN) + 7),
    ("empty content", gzip.compress(b"", mtime=0), 0),  # a fixed mtime: the test id shows these bytes
])
def test_decompressed_length(name: str, raw: bytes, length: int) -> None:
    assert decompressed_length(io.BytesIO(raw)) == length, name


@pytest.mark.parametrize(("name", "raw", "error"), [
    ("truncated", HESS.read_bytes()[:-100], EOFError),
    ("corrupt", HESS.read_bytes()[:20] + b"\xff" * 200 + HESS.read_bytes()[220:], zlib.error),
])
def test_broken_streams_are_errors(name: str, raw: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        decompressed_length(io.BytesIO(raw))


def test_trailer_length() -> None:
    raw = HESS.read_bytes()
    assert trailer_length(io.BytesIO(raw), len(raw)) == len(decompressed(HESS))
    # a length that wrapped modulo 2**32 is below what any DEFLATE stream of this size can give: not trusted
    wrapped = raw[:-4] + (5).to_bytes(4, "little")
    assert trailer_length(io.BytesIO(wrapped), len(wrapped)) is None
    assert trailer_length(io.BytesIO(b"\x1f\x8b"), 2) is None


def test_length_cache_measures_once() -> None:
    cache = LengthCache(size=2)
    raw = gzip.compress(PLAIN)
    assert cache.get('"a"', io.BytesIO(raw)) == len(PLAIN)
    assert cache.get('"a"', io.BytesIO(b"not read again")) == len(PLAIN)
    cache.get('"b"', io.BytesIO(raw))
    cache.get('"c"', io.BytesIO(raw))  # "a" is the least recently used: dropped
    with pytest.raises(zlib.error):
        cache.get('"a"', io.BytesIO(b"not gzip at all"))
