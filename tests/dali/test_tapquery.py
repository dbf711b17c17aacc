"""The TAP query request (dali.tapquery): DALI/TAP parameter rules, one case per row."""

from __future__ import annotations

import pytest

from tapserver.dali.params import Params
from tapserver.dali.tapquery import parse_tap_query
from tapserver.errors import UsageFault

pytestmark = pytest.mark.nodb

Q = ("QUERY", "SELECT 1 FROM ivoa.obscore")

ACCEPTED = [
    ([("LANG", "ADQL"), Q], "ADQL", None, None),
    ([("lang", "ADQL-2.0"), ("query", Q[1])], "ADQL-2.0", None, None),
    ([("Lang", "adql-2.1"), Q], "ADQL-2.1", None, None),
    ([("LANG", "ADQL"), Q, ("MAXREC", "0")], "ADQL", None, 0),
    ([("LANG", "ADQL"), Q, ("maxrec", " 17 ")], "ADQL", None, 17),
    ([("LANG", "ADQL"), Q, ("FORMAT", "csv")], "ADQL", "csv", None),
    ([("LANG", "ADQL"), Q, ("RESPONSEFORMAT", "votable"), ("FORMAT", "csv")], "ADQL", "votable", None),
    ([("LANG", "ADQL"), Q, ("REQUEST", "doQuery"), ("DUMMY", "ignore-me")], "ADQL", None, None),
    ([("LANG", "ADQL"), Q, ("MAXREC", "")], "ADQL", None, None),
]


@pytest.mark.parametrize(("items", "lang", "fmt", "maxrec"), ACCEPTED)
def test_accepted(items: list[tuple[str, str]], lang: str, fmt: str | None, maxrec: int | None) -> None:
    query = parse_tap_query(Params(items))
    assert (query.lang, query.response_format, query.maxrec) == (lang, fmt, maxrec)


REJECTED = [
    ([Q], "missing parameter LANG"),
    ([("LANG", "OOBLECK"), Q], "unknown query language"),
    ([("LANG", "SQL"), Q], "unknown query language"),
    ([("LANG", "ADQL")], "missing parameter QUERY"),
    ([("LANG", "ADQL"), ("QUERY", "   ")], "missing parameter QUERY"),
    ([("LANG", "ADQL"), Q, ("MAXREC", "-1")], "MAXREC"),
    ([("LANG", "ADQL"), Q, ("MAXREC", "ten")], "MAXREC"),
    ([("LANG", "ADQL"), Q, ("MAXREC", "1"), ("maxrec", "2")], "at most once"),
    ([("LANG", "ADQL"), Q, ("RESPONSEFORMAT", "csv"), ("responseformat", "tsv")], "at most once"),
    ([("LANG", "ADQL"), ("lang", "ADQL"), Q], "at most once"),
    ([("LANG", "ADQL"), Q, ("RUNID", "x" * 65)], "RUNID"),
    ([("LANG", "ADQL"), ("QUERY", "SELECT " + "1," * 60_000 + "1")], "longer than"),
]


@pytest.mark.parametrize(("items", "message"), REJECTED)
def test_rejected(items: list[tuple[str, str]], message: str) -> None:
    with pytest.raises(UsageFault, match=message):
        parse_tap_query(Params(items))


def test_uploads_accumulate() -> None:
    query = parse_tap_query(Params([("LANG", "ADQL"), Q, ("UPLOAD", "a,param:a"), ("upload", "b,http://x/b")]))
    assert query.uploads == ("a,param:a", "b,http://x/b")
