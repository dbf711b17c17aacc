"""pyvo and plain HTTP against /tap/sync over the demo data."""

from __future__ import annotations

import io
import warnings

import httpx
import pyarrow.parquet as pq
import pytest
import pyvo
from astropy.io import fits
from astropy.io.votable import parse_single_table
from pyvo.dal.exceptions import DALOverflowWarning, DALQueryError

from tapserver.tap.examples import EXAMPLES
from tests.e2e.server import running_server

COUNT = "SELECT COUNT(*) AS n FROM ivoa.obscore"


@pytest.fixture(scope="module")
def tap(demo_server: str) -> pyvo.dal.TAPService:
    return pyvo.dal.TAPService(f"{demo_server}/tap")


@pytest.fixture(scope="module")
def n_rows(tap: pyvo.dal.TAPService) -> int:
    n = int(tap.search(COUNT)["n"][0])
    assert n >= 5, "the demo data should hold several datasets"
    return n


@pytest.mark.parametrize("fmt", [
    "votable", "votable/td", "votable/b", "votable/b2",
    "application/x-votable+xml;serialization=TABLEDATA", "text/xml",
])
def test_search_each_votable_serialisation(tap: pyvo.dal.TAPService, n_rows: int, fmt: str) -> None:
    result = tap.search("SELECT obs_id, s_ra, s_dec, t_min, s_region, obs_release_date FROM ivoa.obscore",
                        responseformat=fmt)
    assert len(result) == n_rows
    table = result.to_table()
    assert table["s_ra"].unit == "deg"
    assert all(0 <= ra < 360 for ra in table["s_ra"])
    assert str(table["s_region"][0]).startswith("Circle ICRS")


def test_overflow_status_exactly_when_cut(tap: pyvo.dal.TAPService, n_rows: int) -> None:
    cut = tap.search("SELECT obs_id FROM ivoa.obscore", maxrec=n_rows - 1)
    assert len(cut) == n_rows - 1 and cut.status[0] == "OVERFLOW"
    exact = tap.search("SELECT obs_id FROM ivoa.obscore", maxrec=n_rows)
    assert len(exact) == n_rows and exact.status[0] == "OK"
    top = tap.search(f"SELECT TOP {n_rows - 1} obs_id FROM ivoa.obscore", maxrec=n_rows)
    assert len(top) == n_rows - 1 and top.status[0] == "OK"


def test_overflow_warning_on_service_limit(demo_database: str) -> None:
    """pyvo warns when the service's default MAXREC (not the user's own) cut the result."""
    with running_server(demo_database, extra_env={"TAPSERVER_DEFAULT_MAXREC": "3"}) as base:
        service = pyvo.dal.TAPService(f"{base}/tap")
        with pytest.warns(DALOverflowWarning):
            limited = service.search("SELECT obs_id FROM ivoa.obscore")
        assert len(limited) == 3
        with warnings.catch_warnings():
            warnings.simplefilter("error", DALOverflowWarning)
            assert len(service.search("SELECT TOP 2 obs_id FROM ivoa.obscore")) == 2


def test_maxrec_zero_is_metadata_only(demo_server: str) -> None:
    """MAXREC=0 (sent over plain HTTP: pyvo drops a zero maxrec): FIELDs, no rows, OVERFLOW after the table."""
    response = httpx.get(f"{demo_server}/tap/sync", params={
        "LANG": "ADQL", "QUERY": "SELECT obs_id, t_min FROM ivoa.obscore", "MAXREC": "0"})
    assert response.status_code == 200
    table = parse_single_table(io.BytesIO(response.content))
    assert len(table.array) == 0 and [f.name for f in table.fields] == ["obs_id", "t_min"]
    assert response.content.rstrip().endswith(
        b'</TABLE>\n<INFO name="QUERY_STATUS" value="OVERFLOW"/>\n</RESOURCE>\n</VOTABLE>')


@pytest.mark.parametrize(("query", "message"), [
    ("SELECT obsid FROM ivoa.obscore", "obs_id"),
    ("SELECT * FROM ivoa.nothing", "nothing"),
    ("SELEKT 1", "line 1"),
    ("SELECT * FROM uws.job", "uws"),
])
def test_errors_raise_dalqueryerror_with_our_message(tap: pyvo.dal.TAPService, query: str, message: str) -> None:
    with pytest.raises(DALQueryError) as info:
        tap.run_sync(query)
    assert message in str(info.value)


def test_error_document_and_status(demo_server: str) -> None:
    response = httpx.get(f"{demo_server}/tap/sync", params={"LANG": "ADQL", "QUERY": "SELECT nope FROM ivoa.obscore"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/x-votable+xml")
    table = io.BytesIO(response.content)
    assert b'name="QUERY_STATUS" value="ERROR"' in table.getvalue()
    bad_lang = httpx.post(f"{demo_server}/tap/sync", data={"LANG": "OOBLECK", "QUERY": COUNT})
    assert bad_lang.status_code == 400 and b"unknown query language" in bad_lang.content
    repeated = httpx.get(f"{demo_server}/tap/sync?LANG=ADQL&QUERY=SELECT+1+FROM+ivoa.obscore&MAXREC=1&maxrec=2")
    assert repeated.status_code == 400 and b"at most once" in repeated.content


def test_parameter_names_are_case_insensitive(demo_server: str, n_rows: int) -> None:
    for data in ({"lang": "ADQL", "query": COUNT}, {"Lang": "ADQL-2.0", "Query": COUNT, "REQUEST": "doQuery",
                                                    "DUMMY": "ignore-me"}):
        response = httpx.post(f"{demo_server}/tap/sync", data=data)
        assert response.status_code == 200, response.text
        assert parse_single_table(io.BytesIO(response.content)).array["n"][0] == n_rows
    multipart = httpx.post(f"{demo_server}/tap/sync", files={"lAnG": (None, "ADQL"), "QuErY": (None, COUNT)})
    assert multipart.status_code == 200, multipart.text


def test_csv_tsv_fits_parquet(demo_server: str, n_rows: int) -> None:
    query = "SELECT obs_id, t_min, t_exptime FROM ivoa.obscore ORDER BY obs_id"
    get = lambda fmt: httpx.get(f"{demo_server}/tap/sync", params={"LANG": "ADQL", "QUERY": query,  # noqa: E731
                                                                  "RESPONSEFORMAT": fmt})
    csv = get("csv")
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0] == "obs_id,t_min,t_exptime" and len(lines) == n_rows + 1
    tsv = get("text/tab-separated-values")
    assert tsv.headers["content-type"] == "text/tab-separated-values"
    assert len(tsv.text.strip().splitlines()) == n_rows + 1
    with fits.open(io.BytesIO(get("fits").content)) as hdus:
        assert len(hdus[1].data) == n_rows
    parquet = pq.read_table(io.BytesIO(get("parquet").content))
    assert parquet.num_rows == n_rows and parquet.column_names == ["obs_id", "t_min", "t_exptime"]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.id)
def test_every_example_runs(tap: pyvo.dal.TAPService, example) -> None:  # type: ignore[no-untyped-def]
    result = tap.run_sync(example.query)
    assert result.fieldnames, example.id
