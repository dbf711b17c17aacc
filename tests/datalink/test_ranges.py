"""Range and validator rules (RFC 9110) as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tapserver.datalink.ranges import (
    ByteRange,
    Unsatisfiable,
    http_date,
    not_modified,
    parse_range,
    range_applies,
)

pytestmark = pytest.mark.nodb

MODIFIED = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(("header", "expected"), [
    (None, None),
    ("bytes=0-99", ByteRange(0, 100)),
    ("bytes=10-", ByteRange(10, 1000)),
    ("bytes=-10", ByteRange(990, 1000)),
    ("bytes=-5000", ByteRange(0, 1000)),
    ("bytes=990-5000", ByteRange(990, 1000)),
    ("BYTES = 1 - 2", ByteRange(1, 3)),
    ("bytes=999-999", ByteRange(999, 1000)),
    ("bytes=0-1, 3-4", None),
    ("bytes=5-1", None),
    ("bytes=-", None),
    ("bytes=x-y", None),
    ("lines=1-2", None),
    ("bytes=0-" + "9" * 5000, ByteRange(0, 1000)),  # past Python's int() digit limit: to the end
    ("bytes=-" + "9" * 5000, ByteRange(0, 1000)),
    ("bytes=" + "0" * 5000 + "5-" + "0" * 5000 + "9", ByteRange(5, 10)),
])
def test_parse_range(header: str | None, expected: ByteRange | None) -> None:
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize(("header", "length"), [("bytes=1000-", 1000), ("bytes=-0", 1000), ("bytes=0-", 0),
                                                ("bytes=-1", 0), ("bytes=" + "9" * 5000 + "-", 1000),
                                                ("bytes=" + "9" * 5000 + "-" + "9" * 5001, 1000)])
def test_unsatisfiable(header: str, length: int) -> None:
    with pytest.raises(Unsatisfiable):
        parse_range(header, length)


def test_content_range() -> None:
    assert ByteRange(10, 20).content_range(100) == "bytes 10-19/100"
    assert ByteRange(10, 20).length == 10


def test_not_modified() -> None:
    etag = '"abc"'
    assert not_modified(etag, MODIFIED, '"abc"', None)
    assert not_modified(etag, MODIFIED, 'W/"abc"', None)  # weak comparison for If-None-Match
    assert not_modified(etag, MODIFIED, '"x", "abc"', None)
    assert not_modified(etag, MODIFIED, "*", None)
    assert not not_modified(etag, MODIFIED, '"x"', None)
    assert not_modified(etag, MODIFIED, None, http_date(MODIFIED))
    assert not_modified(etag, MODIFIED, None, http_date(MODIFIED + timedelta(hours=1)))
    assert not not_modified(etag, MODIFIED, None, http_date(MODIFIED - timedelta(seconds=1)))
    assert not not_modified(etag, MODIFIED, None, "garbage")
    # If-None-Match wins: a mismatching tag means modified whatever the date says
    assert not not_modified(etag, MODIFIED, '"x"', http_date(MODIFIED))
    assert not not_modified(etag, MODIFIED, None, None)


def test_range_applies() -> None:
    assert range_applies('"abc"', MODIFIED, None)
    assert range_applies('"abc"', MODIFIED, '"abc"')
    assert not range_applies('"abc"', MODIFIED, 'W/"abc"')  # If-Range needs a strong match
    assert not range_applies('"abc"', MODIFIED, '"other"')
    assert range_applies('"abc"', MODIFIED, http_date(MODIFIED))
    assert not range_applies('"abc"', MODIFIED, http_date(MODIFIED - timedelta(days=1)))
    assert not range_applies('"abc"', MODIFIED, "not a date")


def test_http_date() -> None:
    assert http_date(MODIFIED) == "Wed, 01 May 2024 12:00:00 GMT"
