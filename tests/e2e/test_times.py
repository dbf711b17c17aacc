"""Times as times through the service: VOTable TIMESYS refs and FITS Time columns, sync and async."""

from __future__ import annotations

import io

import httpx
import numpy as np
import pytest
import pyvo
from astropy.io import votable
from astropy.table import Table
from astropy.time import Time


def _sync(base: str, query: str, fmt: str) -> bytes:
    response = httpx.post(f"{base}/tap/sync", data={"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": query,
                                                     "RESPONSEFORMAT": fmt}, timeout=60)
    assert response.status_code == 200, response.text
    return response.content


@pytest.mark.parametrize(("query", "times"), [
    ("SELECT t_min, t_max, t_exptime FROM ivoa.obscore", ["t_min", "t_max"]),
    ("SELECT t_min AS start, t_exptime AS span FROM ivoa.obscore", ["start"]),
    ("SELECT MIN(t_min) AS first FROM ivoa.obscore", ["first"]),
    ("SELECT t_start, t_stop, tstart_met, mjdref FROM obsconfig.obsconfig", ["t_start", "t_stop", "mjdref"]),
    ("SELECT o.t_min, c.t_start FROM ivoa.obscore AS o JOIN obsconfig.obsconfig AS c "
     "ON o.obs_publisher_did = c.obs_publisher_did", ["t_min", "t_start"]),
    ("SELECT column_name, unit FROM TAP_SCHEMA.columns", []),
])
@pytest.mark.parametrize("fmt", ["votable", "votable/td", "votable/b"])
def test_sync_votable_time_refs(demo_server: str, query: str, times: list[str], fmt: str) -> None:
    data = _sync(demo_server, query, fmt)
    doc = votable.parse(io.BytesIO(data))
    systems = doc.resources[0].time_systems
    if not times:
        assert len(systems) == 0
        return
    (timesys,) = systems
    assert (timesys.timeorigin, timesys.timescale) == ("MJD-origin", "TT")
    table = doc.get_first_table()
    assert len(table.array) > 0
    assert [f.name for f in table.fields if f.ref == timesys.ID] == times


def test_async_votable_time_refs(demo_server: str) -> None:
    tap = pyvo.dal.TAPService(f"{demo_server}/tap")
    job = tap.submit_job("SELECT t_min, t_max, t_exptime FROM ivoa.obscore")
    job.run().wait(timeout=60)
    job.raise_if_error()
    response = httpx.get(job.result_uri, timeout=60)
    doc = votable.parse(io.BytesIO(response.content))
    (timesys,) = doc.resources[0].time_systems
    assert [f.ref for f in doc.get_first_table().fields] == [timesys.ID, timesys.ID, None]
    job.delete()


@pytest.mark.parametrize(("query", "times"), [
    ("SELECT obs_id, t_min, t_max, t_exptime FROM ivoa.obscore ORDER BY obs_id", ["t_min", "t_max"]),
    ("SELECT obs_id, t_start, t_stop FROM obsconfig.obsconfig ORDER BY obs_id", ["t_start", "t_stop"]),
])
def test_fits_times_read_as_time(demo_server: str, query: str, times: list[str]) -> None:
    plain = votable.parse_single_table(io.BytesIO(_sync(demo_server, query, "votable"))).to_table()
    table = Table.read(io.BytesIO(_sync(demo_server, query, "fits")), format="fits", astropy_native=True)
    assert len(table) == len(plain) > 0
    for name in times:
        column = table[name]
        assert isinstance(column, Time), name
        assert (column.scale, column.format) == ("tt", "mjd")
        assert np.array_equal(np.asarray(column.mjd, dtype=float), np.asarray(plain[name], dtype=float))
    assert "t_exptime" not in table.colnames or not isinstance(table["t_exptime"], Time)
