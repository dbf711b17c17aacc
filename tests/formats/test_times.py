"""MJD time columns: which columns are times, TIMESYS/ref in VOTable, the FITS time convention."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy.io import votable
from astropy.table import Table
from astropy.time import Time

from tapserver.catalog.obsconfig import OBSCONFIG
from tapserver.catalog.obscore import OBSCORE
from tapserver.votable import ResultColumn
from tapserver.votable.document import timesys_id
from tapserver.votable.fields import is_mjd_time
from tests.formats.test_votable import VOTABLES, collect, votlint

RC = ResultColumn
T_MIN = RC("t_min", "double", unit="d", ucd="time.start;obs.exposure")
T_MAX = RC("t_max", "double", unit="d", ucd="time.end;obs.exposure")
EXPTIME = RC("t_exptime", "double", unit="s", ucd="time.duration;obs.exposure")
SQL = "SELECT * FROM (VALUES (58000.25::float8, 58000.5::float8, 1200.0::float8), (NULL, 59000.125, NULL)) v"


@pytest.mark.parametrize(("column", "is_time"), [
    (T_MIN, True),
    (T_MAX, True),
    (RC("mjdref", "double", unit="d", ucd="time.epoch"), True),
    (RC("start", "double", unit="d", ucd="TIME.START"), True),
    (EXPTIME, False),                                                     # a duration
    (RC("t_min", "double", unit="s", ucd="time.start"), False),         # seconds from some reference
    (RC("t_min", "float", unit="d", ucd="time.start"), False),          # not double
    (RC("t_min", "double", "2", unit="d", ucd="time.start"), False),    # an array
    (RC("t_min", "double", unit="d"), False),                            # no UCD
    (RC("days", "double", unit="d", ucd="time.duration"), False),
    (RC("t", "char", "*", xtype="timestamp", ucd="time.start"), False),  # ISO text, not MJD
])
def test_is_mjd_time(column: ResultColumn, is_time: bool) -> None:
    assert is_mjd_time(column) is is_time


@pytest.mark.parametrize(("table", "times"), [
    (OBSCORE, {"t_min", "t_max"}),
    (OBSCONFIG, {"t_start", "t_stop", "mjdref"}),
])
def test_catalog_time_columns(table: Any, times: set[str]) -> None:
    columns = [RC(c.name, c.datatype, c.arraysize, unit=c.unit, ucd=c.ucd) for c in table.columns]
    assert {c.name for c in columns if is_mjd_time(c)} == times


def test_timesys_id_avoids_field_ids() -> None:
    assert timesys_id(["t_min"]) == "timesys_tt_mjd"
    assert timesys_id(["TIMESYS_TT_MJD", "timesys_tt_mjd_2"]) == "timesys_tt_mjd_3"


@pytest.mark.parametrize("fmt", VOTABLES)
def test_votable_timesys_referenced_by_time_columns(conn: Any, fmt: str) -> None:
    data, _ = collect(conn, SQL, [T_MIN, T_MAX, EXPTIME], fmt)
    doc = votable.parse(io.BytesIO(data))
    (timesys,) = doc.resources[0].time_systems
    assert (timesys.timeorigin, timesys.timescale, timesys.refposition) == ("MJD-origin", "TT", "TOPOCENTER")
    assert [f.ref for f in doc.get_first_table().fields] == [timesys.ID, timesys.ID, None]
    assert data.index(b"<TIMESYS") < data.index(b"<TABLE>")


@pytest.mark.parametrize("fmt", VOTABLES)
def test_votable_without_time_columns_has_no_timesys(conn: Any, fmt: str) -> None:
    data, _ = collect(conn, "SELECT 1200.0::float8", [EXPTIME], fmt)
    assert b"TIMESYS" not in data
    assert b" ref=" not in data


@pytest.mark.skipif(shutil.which("stilts") is None, reason="stilts is not installed")
@pytest.mark.parametrize("fmt", VOTABLES)
def test_votlint_time_columns(conn: Any, tmp_path: Path, fmt: str) -> None:
    data, _ = collect(conn, SQL, [T_MIN, T_MAX, EXPTIME], fmt)
    assert votlint(tmp_path, data) == ""


def test_fits_time_columns_read_as_time(conn: Any) -> None:
    data, _ = collect(conn, SQL, [T_MIN, T_MAX, EXPTIME], "fits")
    table = Table.read(io.BytesIO(data), format="fits", astropy_native=True)
    for name, expected in (("t_min", [58000.25, np.nan]), ("t_max", [58000.5, 59000.125])):
        column = table[name]
        assert isinstance(column, Time)
        assert (column.scale, column.format) == ("tt", "mjd")
        assert np.array_equal(np.ma.filled(column.mjd, np.nan).astype(float), expected, equal_nan=True)
    assert not isinstance(table["t_exptime"], Time)
    assert float(table["t_exptime"][0]) == 1200.0


def test_fits_without_time_columns_has_no_time_keywords(conn: Any) -> None:
    data, _ = collect(conn, "SELECT 1200.0::float8", [EXPTIME], "fits")
    assert b"TIMESYS" not in data and b"TCTYP" not in data
