"""VOSI availability: a real check, 'false' with a reason when the database cannot be reached."""

from __future__ import annotations

from datetime import UTC, datetime

from lxml import etree
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from tapserver.tap.availability import check_availability, render_availability

NS = "{http://www.ivoa.net/xml/VOSIAvailability/v1.0}"


def test_available(reader_engine) -> None:  # type: ignore[no-untyped-def]
    result = check_availability(reader_engine, datetime.now(UTC))
    assert result.available and "tables published" in result.note


def test_database_down_is_reported() -> None:
    engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/x", poolclass=NullPool)
    result = check_availability(engine, datetime(2026, 1, 1, tzinfo=UTC))
    assert not result.available and "cannot connect" in result.note
    doc = etree.fromstring(render_availability(result))
    assert doc.find(f"{NS}available").text == "false"
    assert doc.find(f"{NS}upSince").text == "2026-01-01T00:00:00Z"
