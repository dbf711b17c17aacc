"""Every staged DL3 file ingests, and the rows of each instrument match values computed here with astropy.

The expected values are computed independently of the ingester: astropy reads the headers and tables, astropy
Time converts times, and the photon energy-wavelength relation uses astropy's constants h and c.
"""

from __future__ import annotations

import gzip
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy import constants as const
from astropy import units as u
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time, TimeDelta

from tests.fits_in_memory import open_in_memory
from tests.ingest.conftest import DL3, Archive, Result, requires_dl3

pytestmark = [requires_dl3, pytest.mark.slow]

MS = 1e-3 / 86400.0  # one millisecond in days
HC = (const.h * const.c).to_value(u.TeV * u.m)


@dataclass(frozen=True)
class Case:
    """One file of one instrument, and where its energy range must come from."""

    dataset: str
    file: str
    energy: tuple[str, str]  # (low, high): "LO_THRES"/"HI_THRES" of the AEFF HDU, or "events"
    aeff: str | None = None
    obs_index: bool = True
    obsconfig: dict[str, Any] = field(default_factory=dict)  # expected values not taken from the header


CASES = [
    Case("joint-crab-fact", "20131103_103_dl3.fits", ("events", "events"),
         obsconfig={"alt_pnt": "obs-index", "az_pnt": "obs-index", "zen_pnt": "obs-index", "n_tels": 1,
                    "obs_mode": None}),
    Case("joint-crab-magic", "run_05029747_DL3.fits", ("LO_THRES", "HI_THRES"), aeff="EFFECTIVE AREA",
         obsconfig={"n_tels": 2, "tel_list": "MAGIC-I,MAGIC-II", "alt_pnt": "obs-index", "obs_mode": None}),
    Case("gammapy-data-magic-rad_max", "data/20131004_05029747_DL3_CrabNebula-W0.40+035.fits",
         ("LO_THRES", "events"), aeff="EFFECTIVE AREA", obsconfig={"obs_mode": "POINTING", "altitude": 2231.28}),
    Case("joint-crab-veritas", "54809_DL3.fits", ("LO_THRES", "HI_THRES"), aeff="EFFECTIVE AREA",
         obsconfig={"n_tels": 4, "tel_list": "T1,T2,T3,T4"}),
    # Nominal thresholds 0.01-10000 TeV, a decade and more outside the events: the events decide.
    Case("gammapy-data-veritas-crab-point-like-ED", "64080.fits.gz", ("events", "events"),
         aeff="EFFECTIVE AREA", obsconfig={"n_tels": 4}),
    Case("gammapy-data-hess-dl3-dr1", "data/hess_dl3_dr1_obs_id_023523.fits.gz", ("LO_THRES", "HI_THRES"),
         aeff="AEFF", obsconfig={"obs_mode": "WOBBLE", "obs_mode_native": "WOBBLE", "n_tels": 4}),
    Case("joint-crab-hess", "data/hess_dl3_dr1_obs_id_023592.fits.gz", ("LO_THRES", "HI_THRES"), aeff="AEFF",
         obsconfig={"obs_mode": "WOBBLE"}),
    Case("gammapy-data-cta-1dc", "data/baseline/gps/gps_baseline_110380.fits", ("events", "events"),
         obsconfig={"altitude": 2150.0, "n_tels": None, "s_fov": 10.0}),
    Case("gammapy-data-cta-1dc", "data/baseline/gps/gps_baseline_111630.fits", ("events", "events"),
         obsconfig={"observer": None, "tel_list": None, "geolon": None, "geolat": None, "altitude": None}),
    Case("ctools-test-data", "crab_events.fits", ("events", "events"), obs_index=False),
    Case("ctools-test-data", "iactdata/events/events_0.fits.gz", ("events", "events")),
]

# Start times (UTC MJD) worked out in docs/dl3-formats.md §7, from TSTART.
DOCUMENTED_STARTS = {
    "gammapy-data-hess-dl3-dr1/data/hess_dl3_dr1_obs_id_023523.fits.gz": 53343.92159722,
    "joint-crab-magic/run_05029747_DL3.fits": 56569.18109300,
    "joint-crab-veritas/54809_DL3.fits": 55596.16506944,
    "joint-crab-fact/20131103_103_dl3.fits": 56600.08280093,
    "gammapy-data-cta-1dc/data/baseline/gps/gps_baseline_110380.fits": 59235.49919926,
}


def _datasets() -> list[str]:
    return sorted(p.name for p in DL3.iterdir() if p.is_dir()) if DL3.is_dir() else []


@pytest.fixture(scope="module")
def loaded(staged_ingest: tuple[Archive, dict[str, Result]]) -> dict[str, Result]:
    """Every dataset directory of the staged data, ingested as a collection of its own: the outcomes."""
    assert set(staged_ingest[1]) == set(_datasets())
    return staged_ingest[1]


def _has_events(path: Path) -> bool:
    with fits.open(path) as hdulist:
        # iterating reads the HDUs one at a time and stops at the first match; a slice would read them all
        return any(h.header.get("EXTNAME") == "EVENTS" or h.header.get("HDUCLAS1") == "EVENTS"
                   for h in itertools.islice(hdulist, 1, None))


def test_every_event_file_is_ingested_or_refused_with_a_reason(loaded: dict[str, Any],
                                                               staged_archive: Archive) -> None:
    event_files = {str(p.resolve()) for p in DL3.rglob("*.fits*") if _has_events(p)}
    hawc = {f for f in event_files if "hawc" in f}
    assert len(event_files) >= 260 and len(hawc) == 2
    ingested = {r["file_path"] for r in staged_archive.rows(
        "SELECT file_path FROM ingest.source_file WHERE obs_publisher_did IS NOT NULL")}
    assert ingested == event_files - hawc
    assert staged_archive.scalar("SELECT count(*) FROM ivoa.obscore") == len(event_files - hawc)
    for name, result in loaded.items():
        assert result.code == (1 if "hawc" in name else 0), (name, result.err)
    hawc_errors = [line for line in loaded["gammapy-data-hawc-crab_events_pass4-subset"].err.splitlines()
                   if line.startswith("error:")]
    assert len(hawc_errors) == 2
    assert all("HDU EVENTS: keyword RA_PNT: missing" in line and "DRIFT" in line for line in hawc_errors)
    assert "Traceback" not in "".join(r.err for r in loaded.values())


def _expected_times(path: Path) -> tuple[float, float, float]:
    header = fits.getheader(path, "EVENTS")
    gti = Table.read(path, hdu="GTI")
    epoch = Time(float(header["MJDREFI"]), float(header["MJDREFF"]), format="mjd",
                 scale=header["TIMESYS"].strip().lower())
    start = min(float(header["TSTART"]), float(np.min(gti["START"])))
    stop = max(float(header["TSTOP"]), float(np.max(gti["STOP"])))
    t_min, t_max, t_start = ((epoch + TimeDelta(v, format="sec")).tt.mjd for v in (start, stop, header["TSTART"]))
    return t_min, t_max, t_start


def _expected_energy(case: Case, path: Path) -> tuple[float, float]:
    values = {}
    if case.aeff:
        aeff = fits.getheader(path, case.aeff)
        values = {"LO_THRES": aeff.get("LO_THRES"), "HI_THRES": aeff.get("HI_THRES")}
    energy = Table.read(path, hdu="EVENTS")["ENERGY"].to(u.TeV).value
    low = float(np.min(energy)) if case.energy[0] == "events" else float(values[case.energy[0]])
    high = float(np.max(energy)) if case.energy[1] == "events" else float(values[case.energy[1]])
    return HC / high, HC / low


def _obs_index_row(case: Case, path: Path) -> Any:
    index = next(p for p in (DL3 / case.dataset).rglob("*obs-index*"))
    table = Table.read(index)
    return table[table["OBS_ID"] == int(fits.getval(path, "OBS_ID", extname="EVENTS"))][0]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.dataset}/{Path(c.file).name}")
def test_rows_match_independent_values(case: Case, loaded: dict[str, Any], staged_archive: Archive) -> None:
    path = DL3 / case.dataset / case.file
    header = fits.getheader(path, "EVENTS")
    row = staged_archive.rows(
        "SELECT o.*, c.* FROM ivoa.obscore o JOIN obsconfig.obsconfig c USING (obs_publisher_did) "
        "JOIN datalink.product p ON p.obs_publisher_did = o.obs_publisher_did AND p.semantics = '#this' "
        "WHERE p.file_path = %s", str(path.resolve()))
    assert len(row) == 1, f"{path} not loaded"
    got = row[0]

    t_min, t_max, t_start = _expected_times(path)
    assert abs(got["t_min"] - t_min) < MS and abs(got["t_max"] - t_max) < MS
    assert abs(got["t_start"] - t_start) < MS
    assert got["s_ra"] == pytest.approx(float(header["RA_PNT"]) % 360, abs=1e-9)
    assert got["s_dec"] == pytest.approx(float(header["DEC_PNT"]), abs=1e-9)
    assert got["t_exptime"] == pytest.approx(float(header["LIVETIME"]), rel=1e-12)
    em_min, em_max = _expected_energy(case, path)
    # abs=0: approx's default absolute tolerance (1e-12) would accept any wavelength of a TeV photon (1e-18 m).
    assert got["em_min"] == pytest.approx(em_min, rel=1e-9, abs=0)
    assert got["em_max"] == pytest.approx(em_max, rel=1e-9, abs=0)
    assert got["em_min"] < got["em_max"]
    assert got["obs_id"] == str(int(str(header["OBS_ID"]).strip()))
    assert got["obs_collection"] == case.dataset
    assert got["obs_publisher_did"] == f"ivo://tapserver.example/{case.dataset}?{got['obs_id']}"
    assert got["access_url"].startswith("https://archive.example/datalink/links?ID=ivo%3A%2F%2F")
    assert got["access_estsize"] == -(-path.stat().st_size // 1024)
    assert (got["dataproduct_type"], got["o_ucd"], got["pol_xel"], got["calib_level"]) == ("event", None, 0, 2)

    obs_row: Any = _obs_index_row(case, path) if case.obs_index else None
    expected = {"deadc": header.get("DEADC"), "ra_pnt": float(header["RA_PNT"]) % 360,
                "tstart_met": header["TSTART"], "tstop_met": header["TSTOP"], "livetime": header.get("LIVETIME"),
                "ontime": header.get("ONTIME"), "timesys": header["TIMESYS"].strip().upper()}
    for key in ("ALT_PNT", "AZ_PNT", "GEOLON", "GEOLAT", "ALTITUDE"):
        if key in header:
            expected[key.lower()] = float(header[key])
    if (expected.get("alt_pnt"), expected.get("az_pnt")) in ((90.0, 0.0), (0.0, 0.0)):  # placeholders (§8.7)
        expected.update(alt_pnt=None, az_pnt=None, zen_pnt=None)
    if all(expected.get(k) == 0.0 for k in ("geolon", "geolat", "altitude")):  # ctools: no site at all
        expected.update(geolon=None, geolat=None, altitude=None)
    for key, value in case.obsconfig.items():
        expected[key] = float(obs_row[key.upper()]) if value == "obs-index" else value
    if "alt_pnt" in expected and expected["alt_pnt"] is not None and "zen_pnt" not in expected:
        expected["zen_pnt"] = float(obs_row["ZEN_PNT"]) if obs_row is not None and "ZEN_PNT" in obs_row.colnames \
            else 90 - expected["alt_pnt"]
    for key, value in expected.items():
        stored = got[key]
        if isinstance(value, float):
            assert stored == pytest.approx(value, rel=1e-6), key  # real columns hold 7 digits
        else:
            assert stored == value, key


@pytest.mark.parametrize(("relative", "utc_start"), sorted(DOCUMENTED_STARTS.items()))
def test_documented_start_times(relative: str, utc_start: float, loaded: dict[str, Any],
                                staged_archive: Archive) -> None:
    """The worked examples of dl3-formats.md §7 (UTC, rounded to 1e-8 d) against the stored TT start."""
    t_start = staged_archive.scalar(
        "SELECT c.t_start FROM obsconfig.obsconfig c JOIN datalink.product p USING (obs_publisher_did) "
        "WHERE p.semantics = '#this' AND p.file_path = %s", str((DL3 / relative).resolve()))
    assert abs(Time(t_start, format="mjd", scale="tt").utc.mjd - utc_start) < 1e-8


def test_same_run_in_two_collections_and_two_processings(loaded: dict[str, Any], staged_archive: Archive) -> None:
    """OBS_IDs repeat across collections (§8.14) and processings differ (§8.22): each row keeps its own values."""
    rows = staged_archive.rows(
        "SELECT obs_collection, t_exptime, t_min FROM ivoa.obscore WHERE obs_id = '5029747' ORDER BY 1")
    assert [r["obs_collection"] for r in rows] == ["gammapy-data-magic-rad_max", "joint-crab-magic"]
    assert rows[0]["t_exptime"] != rows[1]["t_exptime"]
    assert abs((rows[0]["t_min"] - rows[1]["t_min"]) * 86400 - 3.0) < 0.5  # TSTART shifted by 3 s


def test_products_and_target_names(loaded: dict[str, Any], staged_archive: Archive) -> None:
    hess = staged_archive.rows(
        "SELECT o.target_name, c.object, p.semantics, p.hdu_name, p.hdu_index, p.content_type, p.content_length "
        "FROM ivoa.obscore o JOIN obsconfig.obsconfig c USING (obs_publisher_did) "
        "JOIN datalink.product p ON p.obs_publisher_did = o.obs_publisher_did "
        "WHERE o.obs_collection = 'gammapy-data-hess-dl3-dr1' AND o.obs_id = '23523' ORDER BY p.sort_order")
    assert {(r["target_name"], r["object"]) for r in hess} == {("Crab", "Crab Nebula")}  # obs-index TARGET_NAME
    assert [(r["semantics"], r["hdu_name"]) for r in hess] == [
        ("#this", None), ("#auxiliary", "GTI"), ("#calibration", "AEFF"), ("#calibration", "EDISP"),
        ("#calibration", "PSF"), ("#calibration", "BKG")]
    path = DL3 / "gammapy-data-hess-dl3-dr1" / "data" / "hess_dl3_dr1_obs_id_023523.fits.gz"
    # the gzip event file is served decompressed: a FITS file of the decompressed size
    assert (hess[0]["content_type"], hess[0]["content_length"]) == (
        "application/fits", len(gzip.decompress(path.read_bytes())))
    index = Table.read(DL3 / "gammapy-data-hess-dl3-dr1" / "hdu-index.fits.gz")
    sizes = {str(r["HDU_NAME"]).upper(): int(r["SIZE"]) for r in index if r["OBS_ID"] == 23523}
    with fits.open(path) as hdulist:
        numbers = {h.name: i for i, h in enumerate(hdulist)}
    for row in hess[1:]:
        assert row["content_length"] == sizes[row["hdu_name"]]
    # GTI and AEFF are read (their data and thresholds are used); the HDUs after them are taken from the index,
    # without inflating their data, so their position is left to DataLink to find by name.
    assert [(r["hdu_name"], r["hdu_index"]) for r in hess[1:]] == [
        ("GTI", numbers["GTI"]), ("AEFF", numbers["AEFF"]), ("EDISP", None), ("PSF", None), ("BKG", None)]
    fact = staged_archive.rows(
        "SELECT p.semantics, p.file_path, p.hdu_name FROM datalink.product p JOIN ivoa.obscore o "
        "USING (obs_publisher_did) WHERE o.obs_collection = 'joint-crab-fact' AND o.obs_id = '20131103103' "
        "ORDER BY p.sort_order")
    assert [(r["semantics"], Path(r["file_path"]).name, r["hdu_name"]) for r in fact] == [
        ("#this", "20131103_103_dl3.fits", None), ("#auxiliary", "20131103_103_dl3.fits", "GTI"),
        ("#calibration", "fact_irf.fits", "EFFECTIVE AREA"), ("#calibration", "fact_irf.fits", "ENERGY DISPERSION")]


RESPONSE_TYPE = "http://www.ivoa.net/rdf/response-type#"
GADF = "https://gamma-astro-data-formats.readthedocs.io/en/v0.3/events/"
#: local_semantics -> (semantics, content_qualifier) of every product kind (HEA ObsCore note terms for IRFs)
PRODUCT_TERMS = {
    "events": ("#this", "#event"),
    "gti": ("#auxiliary", GADF + "gti.html"),
    "pointing": ("#auxiliary", GADF + "pointing.html"),
    "aeff": ("#calibration", RESPONSE_TYPE + "aeff"),
    "edisp": ("#calibration", RESPONSE_TYPE + "edisp"),
    "psf": ("#calibration", RESPONSE_TYPE + "psf"),
    "bkg": ("#calibration", RESPONSE_TYPE + "bkgrate"),
    "rad_max": ("#calibration", RESPONSE_TYPE + "response-function"),
}


def test_every_product_says_what_it_is(loaded: dict[str, Any], staged_archive: Archive) -> None:
    """Each product carries its kind (local_semantics) and the vocabulary term of that kind, and the kind
    agrees with the HDU class astropy reads from the file."""
    products = staged_archive.rows(
        "SELECT product_id, semantics, content_qualifier, local_semantics, content_type, file_path, hdu_name, "
        "hdu_index FROM datalink.product")
    assert products
    kinds = {r["local_semantics"] for r in products}
    assert {"events", "gti", "aeff", "edisp", "psf", "bkg", "rad_max"} <= kinds <= set(PRODUCT_TERMS)
    hduclas = {"gti": "GTI", "pointing": "POINTING", "aeff": "EFF_AREA", "edisp": "EDISP", "psf": "PSF",
               "bkg": "BKG", "rad_max": "RAD_MAX"}
    by_file: dict[str, list[dict[str, Any]]] = {}
    for row in products:
        assert (row["semantics"], row["content_qualifier"]) == PRODUCT_TERMS[row["local_semantics"]], row
        assert row["content_type"] == "application/fits", row
        if row["local_semantics"] != "events" and row["hdu_name"] is not None:
            by_file.setdefault(row["file_path"], []).append(row)
    for file_path, rows in by_file.items():  # each file opened once (a shared IRF file serves many products)
        with open_in_memory(Path(file_path)) as hdulist:
            for row in rows:
                header = hdulist[row["hdu_name"]].header
                classes = {str(header.get(f"HDUCLAS{i}", "")).upper() for i in (1, 2)}
                if classes & {"GTI", "POINTING", "RESPONSE"}:  # CTA 1DC has no HDUCLAS: its kind is its EXTNAME
                    assert hduclas[row["local_semantics"]] in classes | {"PSF" if "RPSF" in classes else ""}, row
