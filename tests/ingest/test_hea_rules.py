"""The rules of ingest/hea.py and ingest/footprint.py on their own: energy band plausibility, time MOCs of many
intervals (against mocpy), and the warning of an observation without a derivable footprint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.time import Time
from mocpy import TimeMOC

from ingest.hea import energy_band, time_moc
from tests.ingest.conftest import DL3, Archive, requires_dl3

# (nominal low, high), events (min, max), IRF axis, use nominal -> expected (low, high, sources), warns
BANDS = [
    ((0.87, 100.0), (0.24, 101.0), (0.01, 100.0), True, (0.87, 100.0, ("threshold", "threshold")), False),
    ((0.01, 10000.0), (0.11, 15.0), (0.01, 10000.0), True, (0.11, 15.0, ("events", "events")), True),
    ((0.08, None), (0.01, 47.0), (0.01, 100.0), True, (0.08, 47.0, ("threshold", "events")), False),
    ((0.5, 300.0), (0.3, 50.0), (0.01, 100.0), True, (0.5, 50.0, ("threshold", "events")), True),  # above IRF
    ((0.87, 100.0), (0.24, 101.0), None, False, (0.24, 101.0, ("events", "events")), False),  # energy_range=events
    ((0.87, 100.0), None, None, True, (0.87, 100.0, ("threshold", "threshold")), False),  # no events to check
]


@pytest.mark.parametrize(("nominal", "events", "irf", "use", "expected", "warns"), BANDS)
def test_energy_band(nominal: tuple[float | None, float | None], events: tuple[float, float] | None,
                     irf: tuple[float, float] | None, use: bool, expected: tuple[float, float, tuple[str, str]],
                     warns: bool) -> None:
    warnings: list[str] = []
    band = energy_band(nominal, events, irf, use, warnings, "/data/run.fits")
    assert band is not None and (band.low, band.high, band.sources) == expected
    assert bool(warnings) == warns and all("/data/run.fits" in w for w in warnings)


def test_unusable_band_is_null_with_a_warning() -> None:
    warnings: list[str] = []
    assert energy_band((None, None), None, None, True, warnings, "/x.fits") is None and not warnings
    assert energy_band((5.0, 1.0), None, None, True, warnings, "/x.fits") is None and warnings


@pytest.mark.parametrize("count", [1, 3, 200])
def test_time_moc_of_many_intervals_equals_mocpy(count: int) -> None:
    rng = np.random.default_rng(count)
    starts = np.sort(56600.0 + rng.uniform(0, 30, count))
    stops = starts + rng.uniform(1e-5, 0.05, count)
    ours = time_moc(list(starts), list(stops))
    assert ours is not None
    # mocpy counts TCB microseconds exactly when given TCB times (given TT ones, it measures the fraction of the
    # day in TT seconds: up to about a millisecond off, which moves a cell edge now and then).
    reference = TimeMOC.from_time_ranges(Time(starts, format="mjd", scale="tt").tcb,
                                         Time(stops, format="mjd", scale="tt").tcb, order=41)
    assert TimeMOC.from_str(ours) == reference
    assert time_moc([], []) is None


@requires_dl3
def test_no_derivable_footprint_is_a_warning_naming_the_file(archive: Archive, tmp_path: Path) -> None:
    """An event list without events, without ROI keyword and without effective area: loaded, s_fov NULL, warned."""
    source = DL3 / "joint-crab-fact" / "20131103_103_dl3.fits"
    empty = tmp_path / "empty_dl3.fits"
    with fits.open(source) as hdulist:
        hdulist["EVENTS"].data = hdulist["EVENTS"].data[:0]
        hdulist.writeto(empty)
    result = archive.ingest(empty, "--collection", "empty")
    assert result.code == 0, result.err
    warnings = [line for line in result.err.splitlines() if "no field of view derivable" in line]
    assert len(warnings) == 1 and str(empty) in warnings[0]
    assert archive.rows("SELECT s_fov, s_region FROM ivoa.obscore") == [{"s_fov": None, "s_region": None}]
    config = tmp_path / "c.toml"
    config.write_text('collection = "empty"\ns_fov = 4.5\n')
    assert archive.ingest(empty, "--config", config, "--update").code == 0  # the config is the override
    assert archive.scalar("SELECT s_fov FROM ivoa.obscore") == 4.5
