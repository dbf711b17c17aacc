"""Fuzzing the hostile input classes: UWS instants and integers at and past their limits, control characters
in every parameter and path, Range headers. Never a 500; every 4xx a DALI error document.

Bounded: a few hundred generated requests in-process (derandomized, so the run is the same every time).
"""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from tapserver.datalink.model import file_url
from tests.faults.conftest import FUZZ_DID, FUZZ_FILE, FUZZ_PRODUCTS

pytestmark = pytest.mark.slow

VOTABLE_NS = "{http://www.ivoa.net/xml/VOTable/v1.3}"
FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))

# -- strategies -----------------------------------------------------------------------------------------

_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20)
#: Control characters refused in every parameter value (TAB, LF and CR are allowed: multi-line ADQL).
_REFUSED = st.sampled_from([chr(c) for c in (*range(0, 9), 0x0b, 0x0c, *range(0x0e, 0x20), 0x7f)])
_HOSTILE_TEXT = st.builds(lambda a, c, b: a + c + b, _TEXT, _REFUSED, _TEXT)

_BIG = ["9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
        "2147483648", "0", "-1", "1e999", "-1e999", "nan", "inf", "-inf", "9" * 5000, "0x10", " 7 ", ""]
_INTEGER = st.one_of(st.sampled_from(_BIG), st.integers(-2**70, 2**70).map(str), _TEXT)
_ZONES = ["Z", "z", "", "+00:00", "+01:00", "-01:00", "+14:00", "-14:00", "+23:59", "-23:59", "+24:00"]
_INSTANT = st.one_of(
    st.builds(lambda y, m, d, hh, zone: f"{y:04d}-{m:02d}-{d:02d}T{hh:02d}:00:00{zone}",
              st.sampled_from([0, 1, 2, 1969, 2038, 9998, 9999, 10000]) | st.integers(0, 99999),
              st.integers(0, 13), st.integers(0, 32), st.integers(0, 25), st.sampled_from(_ZONES)),
    st.datetimes().map(lambda d: d.isoformat()),
    st.sampled_from(["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0001-01-01", "9999-12-31"]),
    _TEXT,
)
_PHASE = st.one_of(st.sampled_from(["PENDING", "QUEUED", "RUN", "ABORT", "SUSPEND", "ARCHIVED", ""]), _TEXT)

_POSITION = st.one_of(st.sampled_from(["", "0", "1", "9" * 5000, "0" * 5000 + "1", "18446744073709551616"]),
                      st.integers(0, 2**70).map(str))
_RANGE = st.one_of(
    st.builds(lambda a, b: f"bytes={a}-{b}", _POSITION, _POSITION),
    st.builds(lambda a, b, c, d: f"bytes={a}-{b}, {c}-{d}", _POSITION, _POSITION, _POSITION, _POSITION),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=30),
)

#: GET endpoints with the parameters they read; every one must refuse a control character with a 400.
_ENDPOINTS = [
    ("/tap/sync", ["LANG", "QUERY", "FORMAT", "MAXREC", "UPLOAD"]),
    ("/tap/async", ["PHASE", "AFTER", "LAST"]),
    ("/datalink/links", ["ID", "RESPONSEFORMAT"]),
    ("/dataset", ["ID"]),
    ("/oai", ["verb", "identifier", "metadataPrefix"]),
    ("/provsap", ["ID", "DEPTH", "RESPONSEFORMAT"]),
    ("/soda/sync", ["ID", "POS", "TIME"]),
    ("/gadf/datastore", ["ID", "QUERY", "RESPONSEFORMAT"]),
    ("/tap/tables", ["DETAIL"]),
    ("/", ["QUERY"]),
    ("/coverage", ["MOCORDER"]),
    (file_url("", FUZZ_PRODUCTS["file"]), ["X"]),
]


def assert_no_500(response: Any, what: object) -> None:
    assert response.status_code < 500, (what, response.status_code, response.text[:300])


def assert_dali_error(response: Any, what: object, status: int | None = None) -> None:
    assert 400 <= response.status_code < 500 and (status is None or response.status_code == status), \
        (what, response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/x-votable+xml"), what
    info = etree.fromstring(response.content).find(f".//{VOTABLE_NS}INFO[@name='QUERY_STATUS']")
    assert info is not None and info.get("value") == "ERROR", what


def check(response: Any, what: object) -> None:
    """No 500; a 4xx (bar the HTML 404 of a page) is a DALI error document."""
    assert_no_500(response, what)
    if 400 <= response.status_code < 500 and not response.headers["content-type"].startswith("text/html"):
        assert_dali_error(response, what)


def job_path(response: Any, client: TestClient) -> str:
    return str(response.headers["location"]).removeprefix(str(client.base_url))


# -- UWS limits -----------------------------------------------------------------------------------------

@FUZZ
@given(destruction=_INSTANT, duration=_INTEGER, maxrec=_INTEGER, run=st.booleans(), wait=_INTEGER,
       later=_INSTANT, later_duration=_INTEGER)
def test_uws_dates_and_integers(fuzz_client: TestClient, destruction: str, duration: str, maxrec: str, run: bool,
                                wait: str, later: str, later_duration: str) -> None:
    params = {"LANG": "ADQL", "QUERY": "SELECT 1 AS x", "DESTRUCTION": destruction,
              "EXECUTIONDURATION": duration, "MAXREC": maxrec}
    created = fuzz_client.post("/tap/async", data=params, follow_redirects=False)
    check(created, params)
    if created.status_code != 303:
        return
    job = job_path(created, fuzz_client)
    try:
        check(fuzz_client.get(job, params={"WAIT": wait, "PHASE": "QUEUED"}), wait)  # PENDING: no blocking
        check(fuzz_client.post(job + "/destruction", data={"DESTRUCTION": later}, follow_redirects=False), later)
        check(fuzz_client.post(job + "/executionduration", data={"EXECUTIONDURATION": later_duration},
                               follow_redirects=False), later_duration)
        check(fuzz_client.get(job + "/destruction"), job)
    finally:
        fuzz_client.delete(job, follow_redirects=False)


@FUZZ
@given(after=st.none() | _INSTANT, last=st.none() | _INTEGER, phase=st.none() | _PHASE)
def test_uws_job_list_filters(fuzz_client: TestClient, after: str | None, last: str | None,
                              phase: str | None) -> None:
    query = {k: v for k, v in (("AFTER", after), ("LAST", last), ("PHASE", phase)) if v is not None}
    check(fuzz_client.get("/tap/async", params=query), query)


# -- control characters ---------------------------------------------------------------------------------

@FUZZ
@given(endpoint=st.sampled_from(_ENDPOINTS), data=st.data(), value=_HOSTILE_TEXT, post=st.booleans())
def test_control_characters_in_every_parameter(fuzz_client: TestClient, endpoint: tuple[str, list[str]],
                                               data: st.DataObject, value: str, post: bool) -> None:
    path, names = endpoint
    name = data.draw(st.sampled_from(names))
    if post and path in ("/tap/sync", "/tap/async", "/datalink/links", "/oai", "/provsap", "/soda/sync",
                         "/gadf/datastore"):
        response = fuzz_client.post(path, data={name: value}, follow_redirects=False)
    else:
        response = fuzz_client.get(path, params={name: value})
    assert_dali_error(response, (path, name, value), status=400)


@FUZZ
@given(segment=_HOSTILE_TEXT, prefix=st.sampled_from(["/files/", "/tap/async/", "/tap/", "/", "/datalink/"]))
def test_control_characters_in_paths(fuzz_client: TestClient, segment: str, prefix: str) -> None:
    from urllib.parse import quote

    response = fuzz_client.get(prefix + quote(segment, safe=""))
    assert_dali_error(response, (prefix, segment), status=400)


# -- Range headers --------------------------------------------------------------------------------------

_SIZE = FUZZ_FILE.stat().st_size


@FUZZ
@given(header=_RANGE)
def test_range_headers(fuzz_client: TestClient, header: str) -> None:
    response = fuzz_client.get(file_url("", FUZZ_PRODUCTS["file"]), headers={"Range": header})
    check(response, header)
    assert response.status_code in (200, 206, 416), (header, response.status_code)
    if response.status_code == 416:
        assert response.headers["content-range"] == f"bytes */{_SIZE}"
    elif response.status_code == 206:
        first, last = response.headers["content-range"].removeprefix("bytes ").split("/")[0].split("-")
        assert len(response.content) == int(last) - int(first) + 1


def test_fifo_product_is_refused_at_once(fuzz_client: TestClient) -> None:
    """A FIFO in a data root: refused (404) at once; a blocking open() would wait for a writer forever."""
    responses: list[Any] = []
    request = threading.Thread(target=lambda: responses.append(fuzz_client.get(file_url("", FUZZ_PRODUCTS["fifo"]))),
                               daemon=True)
    request.start()
    request.join(10)
    if request.is_alive():  # unblock the server thread by writing to the FIFO, then fail
        fifo = fuzz_client.app.state.factory.settings.data_roots[0] / "pipe.fits"  # type: ignore[attr-defined]
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("the download of a FIFO blocked")
    assert_dali_error(responses[0], "fifo", status=404)
    assert fuzz_client.get("/datalink/links", params={"ID": FUZZ_DID}).status_code == 200
