"""VOTable documents: votlint, layout, OVERFLOW, MAXREC=0, mid-stream errors, BINARY2 null flags."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path
from typing import Any

import psycopg
import pytest
from astropy.io import votable
from lxml import etree
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tapserver.errors import DALIFault, TimeoutFault, UsageFault
from tapserver.formats import find_format
from tapserver.tap.results import stream_query
from tapserver.votable import ResultColumn, render_error_votable
from tests import stilts
from tests.formats.conftest import ALL_TYPES

NS = {"v": "http://www.ivoa.net/xml/VOTable/v1.3"}
VOTABLES = ["votable", "votable/td", "votable/b"]
INT = ResultColumn("i", "int")


def collect(conn: Any, sql: str, columns: list[ResultColumn], fmt: str = "votable", **kw: Any) -> tuple[bytes, Any]:
    kw.setdefault("maxrec", None)
    kw.setdefault("batch_rows", 100)
    stream = stream_query(conn, sql, columns, find_format(fmt), **kw)
    return b"".join(stream), stream


def statuses(data: bytes) -> list[tuple[str, str | None, str]]:
    """(position, value, text) of every QUERY_STATUS INFO: position 'pre' or 'post' the TABLE."""
    root = etree.fromstring(data)
    out = []
    resource = root.find("v:RESOURCE", NS)
    seen_table = False
    for child in resource:
        if child.tag.endswith("TABLE"):
            seen_table = True
        if child.tag.endswith("INFO") and child.get("name") == "QUERY_STATUS":
            out.append(("post" if seen_table else "pre", child.get("value"), child.text or ""))
    return out


def row_count(data: bytes) -> int:
    return len(votable.parse(io.BytesIO(data)).get_first_table().array)


# -- votlint --------------------------------------------------------------------------------------


def votlint(tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "out.vot"
    path.write_bytes(data)
    result = stilts.run("votlint", f"votable={path}", timeout=120)
    lines = (result.stdout + result.stderr).strip().splitlines()
    return "\n".join(line for line in lines if not line.startswith("INFO "))  # errors and warnings


@pytest.mark.skipif(not stilts.installed(), reason="stilts is not installed")
@pytest.mark.parametrize("fmt", VOTABLES)
def test_votlint_every_type(conn: Any, tmp_path: Path, fmt: str) -> None:
    # STIL 3.4.7's votlint cannot read an xtype="polygon" variable array in BINARY/BINARY2 (it fails
    # the same on STIL's own votcopy output) and rejects an empty TD in a variable-length array column
    # (valid since VOTable 1.3): polygons are checked below with non-empty values in TABLEDATA only.
    types = [t for t in ALL_TYPES if t[0] != "t_poly"]
    sql = "SELECT " + ", ".join(name for name, _, _ in types) + " FROM alltypes ORDER BY id"
    data, _ = collect(conn, sql, [meta for _, _, meta in types], fmt,
                      info={"QUERY": "SELECT * FROM alltypes", "request_date": "2024-01-01T00:00:00"},
                      extra_resources=[b'<RESOURCE type="meta" utype="adhoc:service"><PARAM name="standardID" '
                                       b'datatype="char" arraysize="*" value="ivo://ivoa.net/std/DataLink#links-1.1"'
                                       b'/></RESOURCE>\n'])
    assert votlint(tmp_path, data) == ""
    poly = next(t for t in ALL_TYPES if t[0] == "t_poly")[2]
    data, _ = collect(conn, "SELECT t_poly FROM alltypes WHERE cardinality(t_poly) > 0", [poly], "votable/td")
    assert votlint(tmp_path, data) == ""


@pytest.mark.skipif(not stilts.installed(), reason="stilts is not installed")
def test_votlint_overflow_error_and_error_document(conn: Any, tmp_path: Path) -> None:
    data, _ = collect(conn, "SELECT i FROM generate_series(1, 10) i", [INT], maxrec=3)
    assert votlint(tmp_path, data) == ""
    assert votlint(tmp_path, render_error_votable("bad <query> & more")) == ""


# -- layout and overflow --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", VOTABLES)
def test_layout(conn: Any, fmt: str) -> None:
    data, stream = collect(conn, "SELECT i FROM generate_series(1, 3) i", [INT], fmt,
                           info={"QUERY": "SELECT TOP 3 i FROM t"})
    root = etree.fromstring(data)
    assert root.get("version") == "1.4"
    resources = root.findall("v:RESOURCE", NS)
    assert [r.get("type") for r in resources] == ["results"]
    children = [c.tag.split("}")[1] for c in resources[0]]
    assert children == ["INFO", "INFO", "TABLE"]
    assert statuses(data) == [("pre", "OK", "")]
    assert resources[0].find("v:INFO[@name='QUERY']", NS).get("value") == "SELECT TOP 3 i FROM t"
    assert row_count(data) == 3
    assert stream.rows == 3 and not stream.overflow and stream.error is None


@pytest.mark.parametrize("fmt", VOTABLES)
@pytest.mark.parametrize(("total", "maxrec", "rows", "overflow"),
                         [(10, 3, 3, True), (10, 10, 10, False), (10, 9, 9, True), (0, 5, 0, False),
                          (10, None, 10, False)])
def test_overflow_exactly_when_cut(conn: Any, fmt: str, total: int, maxrec: int | None, rows: int,
                                   overflow: bool) -> None:
    sql = f"SELECT i FROM generate_series(1, {total}) i"
    data, stream = collect(conn, sql, [INT], fmt, maxrec=maxrec, batch_rows=2)
    assert row_count(data) == rows == stream.rows
    assert stream.overflow is overflow
    expected = [("pre", "OK", "")] + ([("post", "OVERFLOW", "")] if overflow else [])
    assert statuses(data) == expected


def test_overflow_with_limit_in_sql(conn: Any) -> None:
    """The ADQL engine already adds LIMIT maxrec+1; the extra row is dropped, OVERFLOW marked."""
    data, stream = collect(conn, "SELECT i FROM generate_series(1, 100) i ORDER BY i LIMIT 6", [INT], maxrec=5)
    table = votable.parse(io.BytesIO(data)).get_first_table().array
    assert list(table["i"]) == [1, 2, 3, 4, 5]
    assert stream.overflow


@pytest.mark.parametrize("fmt", [*VOTABLES, "csv", "tsv", "fits", "parquet"])
def test_maxrec_zero(conn: Any, fmt: str) -> None:
    """MAXREC=0: metadata only, OVERFLOW, and the query is not run (a failing query still answers)."""
    data, stream = collect(conn, "SELECT 1/(i-i) AS i FROM generate_series(1, 5) i", [INT], fmt, maxrec=0)
    assert stream.overflow and stream.rows == 0 and stream.error is None
    if fmt.startswith("votable"):
        assert row_count(data) == 0
        assert statuses(data) == [("pre", "OK", ""), ("post", "OVERFLOW", "")]
        assert votable.parse(io.BytesIO(data)).get_first_table().fields[0].name == "i"
    elif fmt == "csv":
        assert data == b"i\n"


# -- errors ---------------------------------------------------------------------------------------

FAILING = "SELECT i, 1/(i-5000) AS x FROM generate_series(1, 10000) i"
FAILING_COLUMNS = [INT, ResultColumn("x", "int")]


@pytest.mark.parametrize("fmt", VOTABLES)
def test_error_mid_stream_ends_document(conn: Any, fmt: str) -> None:
    stream = stream_query(conn, FAILING, FAILING_COLUMNS, find_format(fmt), maxrec=None, batch_rows=100)
    first = next(stream)  # the first batch went out fine
    data = first + b"".join(stream)
    assert stream.error is not None and "division by zero" in stream.error.message
    root = etree.fromstring(data)  # still one well-formed document
    assert root.tag.endswith("VOTABLE") and data.count(b"<VOTABLE") == 1
    status = statuses(data)
    assert status[0] == ("pre", "OK", "")
    assert status[1][:2] == ("post", "ERROR") and "division by zero" in status[1][2]
    rows = row_count(data)
    assert 0 < rows < 5000 and rows % 100 == 0  # whole batches before the failing one


@pytest.mark.parametrize("fmt", ["csv", "tsv", "parquet"])
def test_error_mid_stream_other_formats_raise(conn: Any, fmt: str) -> None:
    stream = stream_query(conn, FAILING, FAILING_COLUMNS, find_format(fmt), maxrec=None, batch_rows=100)
    first = next(stream)  # Parquet: its magic number leaves with the first batch, the row groups later
    assert first == b"PAR1" if fmt == "parquet" else first
    with pytest.raises(UsageFault, match="division by zero"):
        for _ in stream:
            pass
    assert stream.error is not None


@pytest.mark.parametrize("fmt", [*VOTABLES, "csv", "fits", "parquet"])
def test_error_before_first_byte_raises(conn: Any, fmt: str) -> None:
    stream = stream_query(conn, "SELECT 1/0 AS x", [INT], find_format(fmt), maxrec=10, batch_rows=100)
    with pytest.raises(UsageFault, match="division by zero"):
        next(stream)
    assert stream.error is not None and not stream.started


def test_fits_errors_always_before_first_byte(conn: Any) -> None:
    stream = stream_query(conn, FAILING, FAILING_COLUMNS, find_format("fits"), maxrec=None, batch_rows=100)
    with pytest.raises(UsageFault, match="division by zero"):
        next(stream)


def test_bad_sql_and_timeout(conn: Any) -> None:
    with pytest.raises(UsageFault, match="does not exist"):
        next(stream_query(conn, "SELECT nope FROM nowhere", [INT], find_format("votable"), maxrec=5,
                          batch_rows=10))
    conn.rollback()
    conn.execute("SET LOCAL statement_timeout = 200")
    with pytest.raises(TimeoutFault):
        next(stream_query(conn, "SELECT pg_sleep(2)::text::int AS i", [INT], find_format("votable"),
                          maxrec=5, batch_rows=10))


def test_metadata_mismatch_is_a_fault(conn: Any) -> None:
    with pytest.raises(DALIFault, match="2 columns but 1"):
        next(stream_query(conn, "SELECT 1 AS a, 2 AS b", [INT], find_format("votable"), maxrec=5,
                          batch_rows=10))
    conn.rollback()
    with pytest.raises(DALIFault, match="cannot write SQL type text as VOTable double"):
        next(stream_query(conn, "SELECT 'x'::text AS a", [ResultColumn("a", "double")],
                          find_format("votable"), maxrec=5, batch_rows=10))


def test_client_gone_cancels(conn: Any) -> None:
    """Closing the stream early stops the COPY; the connection stays usable after rollback.

    The set-returning function sits in the select list, so PostgreSQL sends its rows as it makes them and the
    statement is still running when the stream is closed (in FROM it would first materialise all 50 million)."""
    stream = stream_query(conn, "SELECT generate_series(1, 50000000) AS i", [INT], find_format("votable"),
                          maxrec=None, batch_rows=1000)
    assert next(stream)
    stream.close()
    conn.rollback()
    assert conn.execute("SELECT 1").fetchone() == (1,)


def test_sqlalchemy_connection(formats_db: str) -> None:
    engine = create_engine(formats_db.replace("postgresql://", "postgresql+psycopg://"), poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(text("SET TRANSACTION READ ONLY"))
        data = b"".join(stream_query(connection, "SELECT count(*) AS n FROM alltypes",
                                     [ResultColumn("n", "long")], find_format("votable/td"), maxrec=10,
                                     batch_rows=10))
    assert b"<TD>4</TD>" in data
    engine.dispose()


# -- BINARY2 bytes --------------------------------------------------------------------------------


def stream_payload(data: bytes) -> bytes:
    match = re.search(rb"<STREAM encoding=\"base64\">(.*?)</STREAM>", data, re.S)
    assert match is not None
    return base64.b64decode(match.group(1))


def test_binary2_null_flags_and_values(conn: Any) -> None:
    columns = [ResultColumn(f"c{i}", "short") for i in range(9)] + [ResultColumn("s", "char", "*")]
    sql = ("SELECT 1::int2, NULL::int2, 3::int2, 4::int2, 5::int2, 6::int2, 7::int2, 8::int2, NULL::int2, "
           "NULL::text")
    payload = stream_payload(collect(conn, sql, columns)[0])
    flags, rest = payload[:2], payload[2:]
    assert flags == bytes([0b01000000, 0b11000000])  # columns 2, 9 and 10 null, MSB first
    assert rest == b"".join(int(v).to_bytes(2, "big") for v in (1, 0, 3, 4, 5, 6, 7, 8, 0)) + bytes(4)


def test_binary2_base64_lines(conn: Any) -> None:
    data, _ = collect(conn, "SELECT i FROM generate_series(1, 1000) i", [INT], batch_rows=7)
    body = re.search(rb"<STREAM encoding=\"base64\">\n(.*?)</STREAM>", data, re.S).group(1)  # type: ignore[union-attr]
    lines = body.split(b"\n")
    assert all(len(line) == 76 for line in lines[:-2]) and lines[-1] == b""
    assert stream_payload(data) == b"".join(b"\x00" + i.to_bytes(4, "big") for i in range(1, 1001))


def test_binary_magic_nulls(conn: Any) -> None:
    data, _ = collect(conn, "SELECT NULL::int AS i, NULL::float8 AS d",
                      [INT, ResultColumn("d", "double")], "votable/b")
    assert b'<VALUES null="-2147483648"/>' in data
    assert stream_payload(data) == (-(2**31) % 2**32).to_bytes(4, "big") + bytes.fromhex("7ff8000000000000")


def test_text_escaping_tabledata(conn: Any) -> None:
    data, _ = collect(conn, r"SELECT E'a<b>&\\ \t\n\r\x01z' AS s", [ResultColumn("s", "char", "*")], "votable/td")
    assert b"<TD>a&lt;b&gt;&amp;&#92; &#9;&#10;&#13;z</TD>" in data
    value = votable.parse(io.BytesIO(data)).get_first_table().array["s"][0]
    assert value == "a<b>&\\ \t\n\rz"
    for raw, escaped in ((r"E'x\\y'", b"x&#92;y"), (r"E'x\x01y'", b"xy"), (r"E'x\ty'", b"x&#9;y"),
                         ("'plain'", b"plain")):
        data, _ = collect(conn, f"SELECT {raw} AS s", [ResultColumn("s", "char", "*")], "votable/td")
        assert b"<TD>" + escaped + b"</TD>" in data, raw


# -- error document -------------------------------------------------------------------------------


def test_render_error_votable() -> None:
    data = render_error_votable('bad "query" <here> & \x00there', {"QUERY": "SELECT 1"})
    root = etree.fromstring(data)
    assert root.get("version") == "1.4" and root.tag == "{http://www.ivoa.net/xml/VOTable/v1.3}VOTABLE"
    resource = root.find("v:RESOURCE", NS)
    assert resource.get("type") == "results"
    infos = resource.findall("v:INFO", NS)
    assert (infos[0].get("name"), infos[0].get("value"), infos[0].text) == (
        "QUERY_STATUS", "ERROR", 'bad "query" <here> & there')
    assert (infos[1].get("name"), infos[1].get("value")) == ("QUERY", "SELECT 1")
    assert resource.find("v:TABLE", NS) is None


@pytest.mark.parametrize("fmt", VOTABLES)
def test_non_ascii_text(conn: Any, fmt: str) -> None:
    """char stays ASCII in binary serialisations ('?' for the rest); unicodeChar keeps everything."""
    columns = [ResultColumn("c", "char", "*"), ResultColumn("u", "unicodeChar", "*")]
    data, _ = collect(conn, "SELECT 'Müller ☃'::text AS c, 'Müller ☃'::text AS u", columns, fmt)
    row = votable.parse(io.BytesIO(data)).get_first_table().array[0]
    assert row["u"] == "Müller ☃"
    assert row["c"] == ("Müller ☃" if fmt == "votable/td" else "M?ller ?")


def test_field_ids_stable_unique() -> None:
    from tapserver.votable import field_ids

    columns = [ResultColumn(n, "int") for n in ("s_ra", "x", "X", "my col", "1st", "x", "")]
    assert field_ids(columns) == ("s_ra", "x", "X_2", "my_col", "_1st", "x_3", "col")
    assert field_ids(columns) == field_ids(list(columns))


def test_duplicate_and_delimited_names(conn: Any) -> None:
    """Result names are the FIELD names; the SQL's own names do not matter (duplicates, quotes)."""
    columns = [ResultColumn("a", "int"), ResultColumn("a", "int"), ResultColumn('we"ird <name>', "int")]
    data, _ = collect(conn, 'SELECT 1 AS a, 2 AS a, 3 AS "we""ird <name>";', columns, "votable/td")
    table = votable.parse(io.BytesIO(data)).get_first_table()
    assert [f.name for f in table.fields] == ["a", "a", 'we"ird <name>']
    assert len({f.ID for f in table.fields}) == 3
    assert b"<TR><TD>1</TD><TD>2</TD><TD>3</TD></TR>" in data


def test_autocommit_connection(formats_db: str) -> None:
    """Without a caller transaction the pipeline opens its own (SET LOCAL needs one)."""
    with psycopg.connect(formats_db, autocommit=True) as connection:
        connection.execute("SET DateStyle = 'SQL, DMY'")  # our settings are transaction-local
        data, stream = collect(connection, "SELECT t_ts FROM alltypes WHERE id = 1",
                               [ResultColumn("t", "char", "*", xtype="timestamp")], "votable/td")
        assert b"<TD>2020-01-02T03:04:05.25</TD>" in data
        assert stream.error is None
        assert connection.execute("SHOW DateStyle").fetchone() == ("SQL, DMY",)


SHAPES = [
    # (SQL expression, FIELD, expected value read back by astropy)
    ("'abc'::text", ResultColumn("c10", "char", "10"), "abc"),
    ("'abcdefghijkl'::text", ResultColumn("c5", "char", "5*"), "abcde"),
    ("'x'::text", ResultColumn("c1", "char"), "x"),
    ("'Ωmega'::text", ResultColumn("u3", "unicodeChar", "3"), "Ωme"),
    ("'\\x0102'::bytea", ResultColumn("b4", "unsignedByte", "4"), [1, 2, 0, 0]),
    ("200::int2", ResultColumn("ub", "unsignedByte"), 200),
    ("ARRAY[1, 2, 3]::int4[]", ResultColumn("ia", "int", "*"), [1, 2, 3]),
    ("ARRAY[1, 2, 3]::int8[]", ResultColumn("sa", "short", "3"), [1, 2, 3]),
    ("ARRAY[true, false]", ResultColumn("ba", "boolean", "2"), [True, False]),
    ("(SELECT array_agg(g::float8) FROM generate_series(1, 20) g)", ResultColumn("da", "double", "20"),
     [float(g) for g in range(1, 21)]),
    ("ARRAY[1.5, 2.5, 3.5]::float4[]", ResultColumn("fa", "float", "2*"), [1.5, 2.5]),
    ("12345678901::numeric", ResultColumn("n", "double"), 12345678901.0),
    ("true", ResultColumn("bi", "int"), 1),
    ("1", ResultColumn("ib", "boolean"), True),
    ("timestamptz '2020-01-01 12:00:00+02'", ResultColumn("tz", "char", "*", xtype="timestamp"),
     "2020-01-01T10:00:00"),
]


@pytest.mark.filterwarnings("ignore:.*W47")  # astropy notes that char without arraysize is one character
@pytest.mark.parametrize("fmt", VOTABLES)
def test_shapes_and_casts(conn: Any, fmt: str, tmp_path: Path) -> None:
    sql = "SELECT " + ", ".join(expr for expr, _, _ in SHAPES)
    data, _ = collect(conn, sql, [column for _, column, _ in SHAPES], fmt)
    if stilts.installed():
        assert votlint(tmp_path, data) == ""
    array = votable.parse(io.BytesIO(data), verify="exception").get_first_table().array
    for _, column, expected in SHAPES:
        value = array[column.name][0]
        got = value.tolist() if hasattr(value, "tolist") else value
        assert got == expected, (fmt, column.name, got)


@pytest.mark.parametrize("fmt", [*VOTABLES, "csv", "parquet", "fits"])
def test_unsupported_datatype_is_a_fault(conn: Any, fmt: str) -> None:
    stream = stream_query(conn, "SELECT 1 AS b", [ResultColumn("b", "bit")], find_format(fmt), maxrec=5,
                          batch_rows=10)
    with pytest.raises(DALIFault, match="'bit' is not supported"):
        next(stream)
    assert stream.error is not None
