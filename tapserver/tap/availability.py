"""VOSI availability: is the database answering, as the role that runs user queries?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from tapserver.catalog.store import published_table_count
from tapserver.db import describe_connection_error


@dataclass(frozen=True)
class Availability:
    available: bool
    up_since: datetime
    note: str


def check_availability(query_engine: Engine, up_since: datetime) -> Availability:
    """Run a real query on the published tables as the reader role."""
    try:
        with query_engine.connect() as conn:
            rows = published_table_count(conn)
    except SQLAlchemyError as exc:
        return Availability(False, up_since, describe_connection_error(exc, "the archive database"))
    return Availability(True, up_since, f"service is accepting queries; {rows} tables published")


def render_availability(a: Availability) -> bytes:
    """The VOSI 1.1 availability document."""
    from xml.sax.saxutils import escape

    since = a.up_since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<vosi:availability xmlns:vosi="http://www.ivoa.net/xml/VOSIAvailability/v1.0">\n'
        f"  <vosi:available>{'true' if a.available else 'false'}</vosi:available>\n"
        f"  <vosi:upSince>{since}</vosi:upSince>\n"
        f"  <vosi:note>{escape(a.note)}</vosi:note>\n"
        "</vosi:availability>\n"
    ).encode()
