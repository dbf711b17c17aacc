"""The TAP query request (TAP 1.1 §2.7): LANG, QUERY, RESPONSEFORMAT/FORMAT, MAXREC, RUNID and UPLOAD, checked
once for sync queries and async jobs alike."""

from __future__ import annotations

from dataclasses import dataclass, field

from tapserver.dali.params import Params, check_runid, parse_maxrec
from tapserver.errors import UsageFault

SINGLE_VALUED = ("LANG", "QUERY", "RESPONSEFORMAT", "FORMAT", "MAXREC", "RUNID", "REQUEST", "VERSION")
LANGUAGES = {"ADQL": "2.1", "ADQL-2.0": "2.0", "ADQL-2.1": "2.1"}
MAX_QUERY_LENGTH = 100_000


@dataclass(frozen=True)
class TapQuery:
    """A validated TAP query request."""

    query: str
    lang: str
    response_format: str | None
    maxrec: int | None
    runid: str | None
    uploads: tuple[str, ...] = field(default=())


def parse_tap_query(params: Params) -> TapQuery:
    """Check LANG, QUERY, RESPONSEFORMAT/FORMAT, MAXREC, RUNID and UPLOAD (TAP 1.1 §2.7)."""
    for name in SINGLE_VALUED:
        params.single(name)
    lang = params.single("LANG")
    if lang is None or not lang.strip():
        raise UsageFault("missing parameter LANG (use LANG=ADQL)")
    if lang.strip().upper() not in LANGUAGES:
        raise UsageFault(f"unknown query language {lang!r}: this service supports ADQL, ADQL-2.0 and ADQL-2.1")
    query = params.single("QUERY")
    if query is None or not query.strip():
        raise UsageFault("missing parameter QUERY")
    if len(query) > MAX_QUERY_LENGTH:
        raise UsageFault(f"QUERY is longer than {MAX_QUERY_LENGTH} characters")
    response_format = params.single("RESPONSEFORMAT")
    legacy_format = params.single("FORMAT")
    runid = check_runid(params.single("RUNID"))
    return TapQuery(
        query=query,
        lang=lang.strip().upper(),
        response_format=response_format if response_format is not None else legacy_format,
        maxrec=parse_maxrec(params.single("MAXREC")),
        runid=runid,
        uploads=tuple(params.all("UPLOAD")),
    )
