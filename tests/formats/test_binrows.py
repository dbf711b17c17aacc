"""BINARY/BINARY2 rows assembled per batch (tapserver.votable.binrows): text encodings, fixed sizes, nulls,
batches mixing ASCII and non-ASCII values, and the small first batch."""

from __future__ import annotations

import base64
import io
import re
from typing import Any

import pytest
from astropy.io import votable

from tapserver.formats import find_format
from tapserver.tap.results import FIRST_BATCH_ROWS, stream_query
from tapserver.votable import ResultColumn

RC = ResultColumn
TEXT_SQL = """
SELECT v AS c, v AS u, v AS c3, v AS u3, v AS c5max, n AS num
FROM (VALUES (1, 'plain', 1.5::float8), (2, NULL, NULL), (3, 'Müller ☃', 3.0),
             (4, 'clef 𝄞!', 4.0), (5, '', 5.0), (6, 'abcdefg', 6.0)) AS t(i, v, n) ORDER BY i
"""
TEXT_COLUMNS = [RC("c", "char", "*"), RC("u", "unicodeChar", "*"), RC("c3", "char", "3"),
                RC("u3", "unicodeChar", "3"), RC("c5max", "char", "5*"), RC("num", "double")]
EXPECTED = [
    ("plain", "plain", "pla", "pla", "plain", 1.5),
    (None, None, None, None, None, None),
    ("M?ller ?", "Müller ☃", "M?l", "Mül", "M?lle", 3.0),
    ("clef ?!", "clef \ufffd!", "cle", "cle", "clef ", 4.0),
    ("", "", "", "", "", 5.0),
    ("abcdefg", "abcdefg", "abc", "abc", "abcde", 6.0),
]


def _payload(data: bytes) -> bytes:
    return base64.b64decode(re.search(rb"<STREAM[^>]*>(.*?)</STREAM>", data, re.S).group(1))  # type: ignore[union-attr]


@pytest.mark.parametrize("fmt", ["votable", "votable/b"])
@pytest.mark.parametrize("batch_rows", [1, 2, 100])
def test_text_columns(conn: Any, fmt: str, batch_rows: int) -> None:
    """Batches of ASCII-only and of mixed text give the same rows: '?' in char, U+FFFD for characters
    outside the BMP in unicodeChar, fixed sizes cut and padded, bounded sizes cut."""
    stream = stream_query(conn, TEXT_SQL, TEXT_COLUMNS, find_format(fmt), maxrec=None, batch_rows=batch_rows)
    data = b"".join(stream)
    assert stream.error is None
    table = votable.parse(io.BytesIO(data), verify="exception").get_first_table().to_table()
    for got, expected in zip(table, EXPECTED, strict=True):
        for name, want in zip(table.colnames, expected, strict=True):
            value = got[name]
            if want is None:
                if fmt == "votable":  # BINARY2: flagged null; BINARY: empty text, NaN
                    assert value is None or getattr(value, "mask", False) or value == "", name
                continue
            assert value == want, (name, value, want)


def test_binary2_bytes_exact(conn: Any) -> None:
    """One row, byte for byte: null flags, UCS-2 count and big-endian units, padded fixed-size text."""
    stream = stream_query(conn, "SELECT 'Ω☃' AS u, NULL::text AS c, 'ab' AS f, 7 AS i",
                          [RC("u", "unicodeChar", "*"), RC("c", "char", "*"), RC("f", "unicodeChar", "3"),
                           RC("i", "short")], find_format("votable"), maxrec=None, batch_rows=10)
    assert _payload(b"".join(stream)) == (
        b"\x40"  # the second of four columns is null
        + (2).to_bytes(4, "big") + "Ω☃".encode("utf-16-be")
        + bytes(4)
        + "ab".encode("utf-16-be") + bytes(2)
        + (7).to_bytes(2, "big")
    )


def test_first_batch_is_small(conn: Any) -> None:
    """The first chunk (the head and the first rows) leaves after FIRST_BATCH_ROWS rows, whatever batch_rows."""
    stream = stream_query(conn, "SELECT i, 'row ' || i AS t FROM generate_series(1, 3000) AS i",
                          [RC("i", "int"), RC("t", "unicodeChar", "*")], find_format("votable/td"),
                          maxrec=None, batch_rows=5000)
    first = next(stream)
    assert first.count(b"<TR>") == FIRST_BATCH_ROWS
    rest = b"".join(stream)
    assert (first + rest).count(b"<TR>") == 3000
