"""Event-list cutouts against astropy: on real runs of every instrument, the cutout holds exactly the rows
astropy selects from the whole file with the same cut, the GTIs intersected with the time interval, the
headers rescaled, and gammapy reads it as an observation."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import Latitude, Longitude, SkyCoord
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time

from tests.gadf.archive import Archive

RUNS = [("HESS-DR1", "23523"), ("HESS-DR1", "47802"), ("FACT", "20131103103"), ("MAGIC", "5029747"),
        ("VERITAS", "54809"), ("CTA-1DC", "110380")]


@dataclass(frozen=True)
class Source:
    """What the test reads itself from the whole file with astropy."""

    events: Table
    header: fits.Header
    gti: Table

    @classmethod
    def read(cls, path: Path) -> Source:
        with fits.open(path) as hdul:
            return cls(Table.read(hdul["EVENTS"]), hdul["EVENTS"].header.copy(), Table.read(hdul["GTI"]))

    def met(self, mjd_tt: float) -> float:
        h = self.header
        reference = Time(float(h["MJDREFI"]), float(h["MJDREFF"]), format="mjd",
                         scale=str(h["TIMESYS"]).strip().lower())
        return float((Time(mjd_tt, format="mjd", scale="tt") - reference).to_value(u.s))

    def mjd(self, met: float) -> float:
        h = self.header
        reference = Time(float(h["MJDREFI"]), float(h["MJDREFF"]), format="mjd",
                         scale=str(h["TIMESYS"]).strip().lower())
        return float((reference + met * u.s).tt.mjd)

    @property
    def pointing(self) -> tuple[float, float]:
        return float(self.header["RA_PNT"]), float(self.header["DEC_PNT"])

    def coords(self) -> SkyCoord:
        return SkyCoord(np.asarray(self.events["RA"], dtype=float) * u.deg,
                        np.asarray(self.events["DEC"], dtype=float) * u.deg)


def cutout(archive: Archive, did: str, **params: str) -> fits.HDUList:
    response = archive.client.get("/soda/sync", params={"ID": did, **params})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/fits"
    return fits.open(io.BytesIO(response.content))


def assert_same_rows(hdul: fits.HDUList, expected: Table) -> None:
    got = Table.read(hdul["EVENTS"])
    assert got["EVENT_ID"].tolist() == expected["EVENT_ID"].tolist()  # Python ints: no numpy scalar per row
    for name in expected.colnames:
        assert np.array_equal(np.asarray(got[name]), np.asarray(expected[name])), name


def spherical_convex_inside(coords: SkyCoord, vertices: list[tuple[float, float]]) -> np.ndarray:
    """Inside a convex spherical polygon: on the same side of every edge's great circle."""
    def unit(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
        return SkyCoord(ra * u.deg, dec * u.deg).cartesian.xyz.value.T

    v = unit(np.array([p[0] for p in vertices]), np.array([p[1] for p in vertices]))
    p = unit(coords.ra.deg, coords.dec.deg)
    sides = np.stack([p @ np.cross(v[i], v[(i + 1) % len(v)]) for i in range(len(v))])
    return np.all(sides >= 0, axis=0) | np.all(sides <= 0, axis=0)


@pytest.mark.parametrize(("collection", "obs_id"), RUNS)
def test_circle_grid(archive: Archive, collection: str, obs_id: str) -> None:
    did = archive.did(collection, obs_id)
    source = Source.read(archive.events_file(did))
    ra0, dec0 = source.pointing
    coords = source.coords()
    for dra, ddec, radius in [(0.0, 0.0, 0.3), (0.5, 0.0, 0.2), (0.0, -0.4, 1.0), (0.3, 0.3, 2.5)]:
        centre = SkyCoord((ra0 + dra) * u.deg, (dec0 + ddec) * u.deg)
        expected = source.events[coords.separation(centre).deg <= radius]
        for params in ({"CIRCLE": f"{ra0 + dra!r} {dec0 + ddec!r} {radius}"},
                       {"POS": f"CIRCLE {ra0 + dra!r} {dec0 + ddec!r} {radius}"}):
            with cutout(archive, did, **params) as hdul:
                assert_same_rows(hdul, expected)
                assert np.array_equal(hdul["GTI"].data["START"], source.gti["START"])  # no time cut
                assert hdul["EVENTS"].header["LIVETIME"] == source.header["LIVETIME"]
                assert any("SODA cutout" in str(h) for h in hdul["EVENTS"].header["HISTORY"])


@pytest.mark.parametrize(("collection", "obs_id"), RUNS)
def test_time_grid(archive: Archive, collection: str, obs_id: str) -> None:
    did = archive.did(collection, obs_id)
    source = Source.read(archive.events_file(did))
    start, stop = float(min(source.gti["START"])), float(max(source.gti["STOP"]))
    span = stop - start
    for lo, hi in [(start + 0.1 * span, start + 0.4 * span), (start - 100, start + 0.5 * span),
                   (start + 0.75 * span, stop + 1000), (start - 10, stop + 10)]:
        t1, t2 = source.mjd(lo), source.mjd(hi)
        m1, m2 = source.met(t1), source.met(t2)
        times = np.asarray(source.events["TIME"], dtype=float)
        expected = source.events[(times >= m1) & (times <= m2)]
        with cutout(archive, did, TIME=f"{t1!r} {t2!r}") as hdul:
            assert_same_rows(hdul, expected)
            gti = hdul["GTI"].data
            exp_start = np.maximum(np.asarray(source.gti["START"], float), m1)
            exp_stop = np.minimum(np.asarray(source.gti["STOP"], float), m2)
            good = exp_start < exp_stop
            assert np.allclose(gti["START"], exp_start[good], rtol=0, atol=1e-6)
            assert np.allclose(gti["STOP"], exp_stop[good], rtol=0, atol=1e-6)
            header = hdul["EVENTS"].header
            ratio = float(np.sum(exp_stop[good] - exp_start[good])) / float(
                np.sum(np.asarray(source.gti["STOP"], float) - np.asarray(source.gti["START"], float)))
            assert header["LIVETIME"] == pytest.approx(float(source.header["LIVETIME"]) * ratio, rel=1e-9)
            assert header["ONTIME"] == pytest.approx(float(source.header["ONTIME"]) * ratio, rel=1e-9)
            if ratio < 1:
                assert header["TSTART"] == pytest.approx(float(np.min(exp_start[good])), abs=1e-6)
                assert header["TSTOP"] == pytest.approx(float(np.max(exp_stop[good])), abs=1e-6)
                assert "DATE-OBS" not in header


@pytest.mark.parametrize(("collection", "obs_id"), RUNS)
def test_energy_grid(archive: Archive, collection: str, obs_id: str) -> None:
    did = archive.did(collection, obs_id)
    source = Source.read(archive.events_file(did))
    energy = (np.asarray(source.events["ENERGY"], dtype=float) * source.events["ENERGY"].unit).to_value(u.TeV)
    for lo, hi in [(0.5, 2.0), (1.0, 10.0), (3.0, 300.0)]:
        if not ((energy >= lo) & (energy <= hi)).any():
            continue
        with cutout(archive, did, ENERGY=f"{lo} {hi}") as hdul:
            assert_same_rows(hdul, source.events[(energy >= lo) & (energy <= hi)])
        # SODA BAND: a wavelength interval in metres; E = hc / lambda (astropy's spectral equivalency)
        l1, l2 = (float(x) for x in (np.array([hi, lo]) * u.TeV).to_value(u.m, equivalencies=u.spectral()))
        e_lo = float((l2 * u.m).to_value(u.TeV, equivalencies=u.spectral()))
        e_hi = float((l1 * u.m).to_value(u.TeV, equivalencies=u.spectral()))
        with cutout(archive, did, BAND=f"{l1!r} {l2!r}") as hdul:
            assert_same_rows(hdul, source.events[(energy >= e_lo) & (energy <= e_hi)])


@pytest.mark.parametrize(("collection", "obs_id"), RUNS)
def test_range_polygon_and_combined(archive: Archive, collection: str, obs_id: str) -> None:
    did = archive.did(collection, obs_id)
    source = Source.read(archive.events_file(did))
    ra0, dec0 = source.pointing
    coords = source.coords()
    ra = Longitude(coords.ra).wrap_at(360 * u.deg).deg
    dec = Latitude(coords.dec).deg
    ra1, ra2, dec1, dec2 = ra0 - 0.6, ra0 + 0.4, dec0 - 0.5, dec0 + 0.3
    inside = (dec >= dec1) & (dec <= dec2) & (ra >= ra1 % 360) & (ra <= ra2 % 360)
    with cutout(archive, did, POS=f"RANGE {ra1!r} {ra2!r} {dec1!r} {dec2!r}") as hdul:
        assert_same_rows(hdul, source.events[inside])
    vertices = [(ra0 - 0.7, dec0 - 0.5), (ra0 + 0.6, dec0 - 0.6), (ra0 + 0.5, dec0 + 0.7), (ra0 - 0.4, dec0 + 0.5)]
    inside = spherical_convex_inside(coords, vertices)
    text = " ".join(f"{a!r} {d!r}" for a, d in vertices)
    with cutout(archive, did, POS=f"POLYGON {text}") as hdul:
        assert_same_rows(hdul, source.events[inside])
    with cutout(archive, did, POLYGON=text) as hdul:
        assert_same_rows(hdul, source.events[inside])
    # all cuts at once
    start, stop = float(min(source.gti["START"])), float(max(source.gti["STOP"]))
    t1, t2 = source.mjd(start + 0.2 * (stop - start)), source.mjd(start + 0.9 * (stop - start))
    m1, m2 = source.met(t1), source.met(t2)
    times = np.asarray(source.events["TIME"], dtype=float)
    energy = np.asarray(source.events["ENERGY"], dtype=float)
    centre = SkyCoord(ra0 * u.deg, dec0 * u.deg)
    keep = ((coords.separation(centre).deg <= 1.5) & (times >= m1) & (times <= m2)
            & (energy >= 0.3) & (energy <= 30))
    with cutout(archive, did, CIRCLE=f"{ra0!r} {dec0!r} 1.5", TIME=f"{t1!r} {t2!r}", ENERGY="0.3 30") as hdul:
        assert_same_rows(hdul, source.events[keep])


def test_range_wraps_through_zero(archive: Archive) -> None:
    """A RANGE from RA 355 to 0.4 (ra1 > ra2) on the H.E.S.S. run pointed nearest to RA 0."""
    [(obs_id, ra_pnt)] = archive.rows(
        "SELECT obs_id, s_ra FROM ivoa.obscore WHERE obs_collection = 'HESS-DR1' ORDER BY abs(s_ra - 180) DESC LIMIT 1")
    did = archive.did("HESS-DR1", obs_id)
    source = Source.read(archive.events_file(did))
    ra = Longitude(source.coords().ra).wrap_at(360 * u.deg).deg
    lo, hi = (ra_pnt - 1) % 360, (ra_pnt + 4) % 360
    assert lo > hi  # the range wraps
    inside = (ra >= lo) | (ra <= hi)
    assert 0 < inside.sum() < len(ra) and (ra[inside] < 1).any()
    with cutout(archive, did, POS=f"RANGE {lo!r} {hi!r} -90 90") as hdul:
        assert_same_rows(hdul, source.events[inside])


def _irf_file(archive: Archive, did: str) -> Path:
    [(path,)] = archive.rows("SELECT file_path FROM datalink.product WHERE obs_publisher_did = %s "
                             "AND semantics = '#calibration' ORDER BY sort_order LIMIT 1", did)
    return Path(path)


@pytest.mark.parametrize(("collection", "obs_id"), [("HESS-DR1", "23523"), ("FACT", "20131103103"),
                                                    ("MAGIC", "5029747"), ("VERITAS", "54809"),
                                                    ("CTA-1DC", "110380")])
def test_gammapy_reads_the_cutout(archive: Archive, tmp_path: Path, collection: str, obs_id: str) -> None:
    gammapy_data = pytest.importorskip("gammapy.data")
    did = archive.did(collection, obs_id)
    source = Source.read(archive.events_file(did))
    ra0, dec0 = source.pointing
    start, stop = float(min(source.gti["START"])), float(max(source.gti["STOP"]))
    t1, t2 = source.mjd(start), source.mjd(start + 0.5 * (stop - start))
    response = archive.client.get("/soda/sync", params={"ID": did, "CIRCLE": f"{ra0} {dec0} 2",
                                                        "TIME": f"{t1!r} {t2!r}"})
    assert response.status_code == 200, response.text
    path = tmp_path / "cutout.fits"
    path.write_bytes(response.content)
    obs = gammapy_data.Observation.read(path)
    whole = gammapy_data.Observation.read(archive.events_file(did), irf_file=_irf_file(archive, did))
    with fits.open(path) as hdul:
        assert len(obs.events.table) == len(hdul["EVENTS"].data)
        livetime = float(hdul["EVENTS"].header["LIVETIME"])
    ratio = obs.gti.time_sum.to_value(u.s) / whole.gti.time_sum.to_value(u.s)
    assert ratio == pytest.approx(0.5, rel=1e-6)
    # gammapy's live time (GTI sum x DEADC) and the LIVETIME keyword both scale with the GTIs
    assert obs.observation_live_time_duration.to_value(u.s) == pytest.approx(
        whole.observation_live_time_duration.to_value(u.s) * ratio, rel=1e-9)
    assert livetime == pytest.approx(float(source.header["LIVETIME"]) * ratio, rel=1e-9)
    assert obs.aeff is not None and obs.edisp is not None
    assert math.isclose(obs.gti.time_sum.to_value(u.s), 0.5 * (stop - start), rel_tol=1e-6)
