"""DALI/TAP request parameters: case-insensitive names, single-valued checks, typed values."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from tapserver.controlchars import check_parameter
from tapserver.errors import UsageFault

SINGLE_VALUED = ("LANG", "QUERY", "RESPONSEFORMAT", "FORMAT", "MAXREC", "RUNID", "REQUEST", "VERSION")
LANGUAGES = {"ADQL": "2.1", "ADQL-2.0": "2.0", "ADQL-2.1": "2.1"}
MAX_QUERY_LENGTH = 100_000


class Params:
    """Request parameters with upper-cased names; values keep their order and case. A control character
    in a name or value (multipart fields: the middleware checks the others) is a UsageFault."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._values: dict[str, list[str]] = {}
        self._add(items)

    @classmethod
    def merge(cls, *sources: Iterable[tuple[str, str]]) -> Params:
        params = cls()
        for source in sources:
            params._add(source)
        return params

    def _add(self, items: Iterable[tuple[str, str]]) -> None:
        for name, value in items:
            check_parameter(name, value)
            self._values.setdefault(name.upper(), []).append(value)

    def all(self, name: str) -> list[str]:
        return list(self._values.get(name.upper(), []))

    def single(self, name: str) -> str | None:
        """The one value of a single-valued parameter; a UsageFault if it was given more than once."""
        values = self._values.get(name.upper(), [])
        if len(values) > 1:
            raise UsageFault(f"parameter {name.upper()} must be given at most once (got {len(values)} values)")
        return values[0] if values else None

    def names(self) -> list[str]:
        return list(self._values)


@dataclass(frozen=True)
class TapQuery:
    """A validated TAP query request."""

    query: str
    lang: str
    response_format: str | None
    maxrec: int | None
    runid: str | None
    uploads: tuple[str, ...] = field(default=())


def parse_maxrec(value: str | None) -> int | None:
    """MAXREC: a non-negative integer (DALI §3.4.4)."""
    if value is None or value.strip() == "":
        return None
    try:
        maxrec = int(value.strip())
    except ValueError:
        raise UsageFault(f"MAXREC must be a non-negative integer, not {value!r}") from None
    if maxrec < 0:
        raise UsageFault(f"MAXREC must be a non-negative integer, not {value!r}")
    return maxrec


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
    runid = params.single("RUNID")
    if runid is not None and len(runid) > 64:
        raise UsageFault("RUNID must be at most 64 characters")
    return TapQuery(
        query=query,
        lang=lang.strip().upper(),
        response_format=response_format if response_format is not None else legacy_format,
        maxrec=parse_maxrec(params.single("MAXREC")),
        runid=runid,
        uploads=tuple(params.all("UPLOAD")),
    )
