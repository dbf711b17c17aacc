"""Fuzzing TAP_UPLOAD: hypothesis-generated VOTables (hostile names, datatypes, arraysizes, sizes, geometry and
other values, serialisations, compression) sent to /tap/sync: never a 500, and every refusal a DALI error."""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterator
from xml.sax.saxutils import escape, quoteattr

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tapserver.app import create_app
from tapserver.config import load_settings
from tests.dbutil import migrated_database

pytestmark = pytest.mark.slow

#: Examples per test: with the in-process app each takes tens of milliseconds.
EXAMPLES = 120


@pytest.fixture(scope="module")
def upload_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app on a migrated database of its own, small upload limits, no job slots."""
    with migrated_database("tapserver_fuzz_uploads") as url:
        config = load_settings(database_url=url.render_as_string(hide_password=False),
                               data_dir=tmp_path_factory.mktemp("fuzzuploads"), workers=0, sync_timeout=5,
                               upload_limit_bytes=200_000, upload_limit_rows=50)
        app = create_app(config)
        with TestClient(app) as client:
            yield client
        app.state.factory.close()


_XML_CHARS = st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"])
_NAMES = st.one_of(
    st.sampled_from(["ctid", "xmin", "XMAX", "cmin", "cmax", "TableOID", "oid", "select", "FROM", "a b", 'a"b',
                     "'; DROP TABLE x; --", "é", "x" * 64, "y" * 63, "", " ", "1abc", "tap_upload", "id", "ID",
                     "\\", "$1", "%s", "{}", "a.b", "pg_temp.x"]),
    st.text(_XML_CHARS, min_size=1, max_size=20),
)
_DATATYPES = st.sampled_from(["boolean", "bit", "unsignedByte", "short", "int", "long", "char", "unicodeChar",
                              "float", "double", "floatComplex", "doubleComplex", "", "string", "Int", "float128"])
_ARRAYSIZES = st.one_of(st.none(), st.sampled_from(
    ["1", "*", "2", "3", "6", "10*", "2x3", "2x*", "3x2x1", "0", "-1", "abc", "99999999999", "1000000", " 2 ",
     "0*", "*x2", "1x1x1x1x1"]))
_XTYPES = st.one_of(st.none(), st.sampled_from(
    ["point", "circle", "polygon", "timestamp", "POINT", "interval", "moc", "garbage", "", "adql:POINT"]))
_CELLS = st.one_of(
    st.sampled_from(["", "1", "-1", "0", "1e999", "-1e999", "-inf", "inf", "nan", "NaN", "10 20", "10 20 100",
                     "10 20 -5", "10 20 90", "0 0 0 0 0 0", "0 0 10 0 0 10 10 10", "0 0 10 0 10 10", "10 95",
                     "1e308 1e308", "2020-01-01", "2020-13-45T99:99", "not a date", "true", "T", "F", "?",
                     "99999999999999999999999", "0x10", "1 2 3 4 5 6 7", "-32769", "256", "\u00e9\u20ac"]),
    st.text(_XML_CHARS, max_size=12),
)


_INTS = st.integers(-(2**63), 2**63 - 1).map(str)
_FLOATS = st.floats(allow_nan=True, allow_infinity=True).map(repr)
_ANGLES = st.one_of(st.floats(-100, 400).map(repr), st.sampled_from(["1e999", "nan", "-inf", "90", "-90", "0"]))


def _vector(n_min: int, n_max: int, element: st.SearchStrategy[str] = _ANGLES) -> st.SearchStrategy[str]:
    return st.lists(element, min_size=n_min, max_size=n_max).map(" ".join)


#: Well-formed FIELDs (datatype, arraysize, xtype) with cells of their type, extreme values included.
_SANE: list[tuple[str, str | None, str | None, st.SearchStrategy[str]]] = [
    ("int", None, None, st.one_of(st.integers(-(2**31), 2**31 - 1).map(str), st.just(""))),
    ("long", None, None, _INTS),
    ("short", None, None, st.integers(-(2**15), 2**15 - 1).map(str)),
    ("unsignedByte", None, None, st.integers(0, 255).map(str)),
    ("double", None, None, _FLOATS),
    ("float", None, None, st.floats(width=32).map(repr)),
    ("boolean", None, None, st.sampled_from(["T", "F", "true", "false", "?", "", "1", "0"])),
    ("char", "*", None, st.text(_XML_CHARS, max_size=20)),
    ("unicodeChar", "*", None, st.text(_XML_CHARS, max_size=20)),
    ("char", "12", None, st.text(_XML_CHARS, max_size=20)),
    ("char", "*", "timestamp", st.one_of(st.datetimes().map(lambda d: d.isoformat()),
                                         st.sampled_from(["2020-02-30", "not a date", "", "0001-01-01"]))),
    ("double", "2", "point", _vector(2, 2)),
    ("double", "3", "circle", _vector(3, 3)),
    ("double", "*", "polygon", _vector(0, 10)),
    ("float", "2", "point", _vector(1, 3)),
    ("int", "3", None, _vector(3, 3, st.integers(-(2**31), 2**31 - 1).map(str))),
    ("double", "*", None, _vector(0, 5, _FLOATS)),
    ("long", "2x2", None, _vector(4, 4, _INTS)),
]


@st.composite
def _field(draw: st.DrawFn) -> tuple[str, str, str | None, str | None, st.SearchStrategy[str]]:
    if draw(st.integers(0, 3)):
        datatype, arraysize, xtype, cells = draw(st.sampled_from(_SANE))
        return draw(st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,8}", fullmatch=True)), datatype, arraysize, xtype, cells
    return draw(_NAMES), draw(_DATATYPES), draw(_ARRAYSIZES), draw(_XTYPES), _CELLS


def _reserialised(document: bytes, serialisation: str) -> bytes:
    """The same document written by astropy in BINARY or BINARY2 (unchanged if astropy cannot)."""
    import io
    import warnings

    from astropy.io.votable import parse, writeto

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = parse(io.BytesIO(document), verify="ignore")
            out = io.BytesIO()
            writeto(parsed, out, tabledata_format=serialisation)
    except Exception:
        return document
    return out.getvalue()


@st.composite
def votables(draw: st.DrawFn) -> bytes:
    """A VOTable document with generated FIELDs and data in a generated serialisation."""
    fields = draw(st.lists(_field(), min_size=0, max_size=4, unique_by=lambda f: f[0].strip().lower()))
    declarations = "".join(
        f"<FIELD name={quoteattr(name)} datatype={quoteattr(datatype)}"
        + (f" arraysize={quoteattr(arraysize)}" if arraysize is not None else "")
        + (f" xtype={quoteattr(xtype)}" if xtype is not None else "") + "/>"
        for name, datatype, arraysize, xtype, _ in fields)
    serialisation = draw(st.sampled_from(["TABLEDATA", "TABLEDATA", "binary", "binary2", "BINARY", "BINARY2"]))
    if serialisation.isupper() and serialisation != "TABLEDATA":  # a hand-made stream of random bytes
        stream = base64.b64encode(draw(st.binary(max_size=200))).decode()
        data = f'<{serialisation}><STREAM encoding="base64">{stream}</STREAM></{serialisation}>'
    else:
        rows = draw(st.lists(st.tuples(*[cells for *_, cells in fields]), max_size=5))
        data = "<TABLEDATA>" + "".join(
            "<TR>" + "".join(f"<TD>{escape(cell)}</TD>" for cell in row) + "</TR>" for row in rows) + "</TABLEDATA>"
    nrows = draw(st.one_of(st.none(), st.none(), st.sampled_from(["0", "3", "-1", "99999999999", "x"])))
    table = "<TABLE name=\"t\"" + (f" nrows={quoteattr(nrows)}" if nrows is not None else "") + ">"
    document = ('<?xml version="1.0" encoding="utf-8"?><VOTABLE version="1.4" '
                'xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE>'
                f"{table}{declarations}<DATA>{data}</DATA></TABLE></RESOURCE></VOTABLE>").encode()
    if serialisation.islower():
        document = _reserialised(document, serialisation)
    return gzip.compress(document) if draw(st.integers(0, 4)) == 0 else document


_FORMATS = st.sampled_from(["votable", "csv", "tsv", "fits", "parquet", "votable/td", "votable/b2"])
_QUERIES = st.sampled_from([
    "SELECT * FROM TAP_UPLOAD.t", "SELECT * FROM TAP_UPLOAD.t", "SELECT * FROM TAP_UPLOAD.t",
    "SELECT TOP 3 * FROM TAP_UPLOAD.t AS a JOIN TAP_UPLOAD.u AS b ON 1 = 1",
    "SELECT COUNT(*) AS n FROM TAP_UPLOAD.t",
])


def test_generated_uploads_never_fail_with_500(upload_client: TestClient) -> None:
    """EXAMPLES generated uploads; besides never a 500, some must be accepted and some refused (the
    generator reaches both sides)."""
    statuses: list[int] = []

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(document=votables(), response_format=_FORMATS, query=_QUERIES,
           upload=st.sampled_from(["t,param:t"] * 4 + ["t,param:t;u,param:t", "t,param:t;u,param:v"]))
    def check(document: bytes, response_format: str, query: str, upload: str) -> None:
        response = upload_client.post(
            "/tap/sync", data={"LANG": "ADQL", "QUERY": query, "UPLOAD": upload, "RESPONSEFORMAT": response_format},
            files={"t": ("t.xml", document)})
        statuses.append(response.status_code)
        context = (document[:2000], response.status_code, response.text[:500])
        assert response.status_code < 500, context
        if response.status_code != 200:
            assert response.status_code == 400, context
            assert 'name="QUERY_STATUS" value="ERROR"' in response.text, context

    check()
    assert statuses.count(200) >= EXAMPLES // 8 and statuses.count(400) >= EXAMPLES // 8, statuses
