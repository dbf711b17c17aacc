"""Footprints and the High-Energy ObsCore extension of every staged dataset, against values computed here.

Every folder of the staged DL3 data (HAWC excepted: refused, no pointing) is ingested with default options. For
each event file astropy reads the header, the events, the GTIs and the effective area, and this module computes
what s_fov, s_region and each ivoa.obscore_hea column must be, by the rule the table below names per instrument.
"""

from __future__ import annotations

import functools
import gzip
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.time import Time, TimeDelta
from mocpy import TimeMOC

from tapserver.migrate import admin_engine
from tapserver.web import coverage as coverage_module
from tapserver.web.coverage import build_coverage_of_archive
from tests.fits_in_memory import open_in_memory
from tests.ingest.conftest import DEMO, DEMO_CONFIG, DL3, Archive, requires_dl3

pytestmark = [requires_dl3, pytest.mark.slow]

# Per dataset: the footprint rule (roi: GammaLib DSVAL circle, aeff: 2 x max THETA_HI of the full-enclosure AEFF,
# events: 2 x the largest event offset) and where the low and high energy bounds come from.
EXPECTED = {
    "ctools-test-data": ("roi", ("events", "events")),
    "gammapy-data-cta-1dc": ("roi", ("events", "events")),
    "gammapy-data-hess-dl3-dr1": ("aeff", ("LO_THRES", "HI_THRES")),
    "gammapy-data-tests-minimal_datastore": ("aeff", ("LO_THRES", "HI_THRES")),
    "joint-crab-hess": ("aeff", ("LO_THRES", "HI_THRES")),
    "gammapy-data-joint-crab-dl3-magic": ("events", ("LO_THRES", "HI_THRES")),
    "joint-crab-magic": ("events", ("LO_THRES", "HI_THRES")),
    "gammapy-data-magic-rad_max": ("events", ("LO_THRES", "events")),  # no HI_THRES
    "joint-crab-veritas": ("events", ("LO_THRES", "HI_THRES")),
    "gammapy-data-veritas-crab-point-like-ED": ("events", ("events", "events")),  # nominal 0.01-10000 TeV
    "joint-crab-fact": ("events", ("events", "events")),  # the shared IRF file has no thresholds
}
# The note's vocabularies (HighEnergyObsCoreExt, "Extensions to ObsCore Specific to High Energy Astrophysics Data").
TRACKING_MODES = {"sidereal", "fixed-az-el-transit", "solar-system-object-tracking", "none"}
SCAN_MODES = {"on-source", "on-off", "raster-map", "on-the-fly-cross-scan", "on-the-fly-cross-map", "slew"}
MESSENGERS = {"cosmic-ray", "muon", "neutrino", "photon", "proton"}
POINTING_MODE = re.compile(r"^(parallel|(convergent|divergent)(-.+)?)$")
PDGID = re.compile(r"^[+-]\d+$")
SCAN_OF_OBS_MODE = {"WOBBLE": "on-the-fly-cross-map", "POINTING": "on-source", None: None}
TMOC_ORDER = 41


def _card_value(card: bytes) -> str:
    """The value of a FITS header card (its bytes after ``= ``): a string without its quotes and trailing blanks,
    or the text before any comment."""
    text = card.decode("ascii", "replace").strip()
    if text.startswith("'"):
        return text[1:].split("'", 1)[0].rstrip()
    return text.split("/", 1)[0].strip()


def _has_events_extension(path: Path) -> bool:
    """Whether a FITS file (gzipped or not) has an extension named EVENTS, as ``fits.open`` would find it: the
    headers are read block by block and each HDU's data skipped by the size its header gives, which costs a
    fraction of what astropy's HDU objects do (this runs at collection, in every pytest process)."""
    with path.open("rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        stream: Any = gzip.GzipFile(fileobj=raw) if gzipped else raw
        primary = True
        while True:
            cards: dict[str, str] = {}
            ended = False
            while not ended:
                block = stream.read(2880)
                if len(block) < 2880:
                    return False
                for start in range(0, 2880, 80):
                    keyword = block[start:start + 8].rstrip()
                    if keyword == b"END":
                        ended = True
                        break
                    if block[start + 8:start + 10] == b"= ":
                        cards.setdefault(keyword.decode("ascii", "replace"), _card_value(block[start + 10:start + 80]))
            if not primary and cards.get("EXTNAME") == "EVENTS":
                return True
            axes = [int(cards[f"NAXIS{n}"]) for n in range(1, int(cards.get("NAXIS", 0)) + 1)]
            if primary and cards.get("GROUPS") == "T" and axes[:1] == [0]:
                axes = axes[1:]  # random groups: NAXIS1 = 0 is no axis
            size = 0
            if axes:
                size = abs(int(cards["BITPIX"])) // 8 * int(cards.get("GCOUNT", 1)) * (
                    int(cards.get("PCOUNT", 0)) + math.prod(axes))
            stream.seek(-(-size // 2880) * 2880, 1)
            primary = False


@functools.cache
def _event_files() -> tuple[Path, ...]:
    """The staged files with an EVENTS extension (listed at collection and by a test: found once; the test of
    each file opens it with astropy, and the count is checked against the ingested rows)."""
    return tuple(path for dataset in sorted(EXPECTED) for path in sorted((DL3 / dataset).rglob("*.fits*"))
                 if _has_events_extension(path))


@pytest.fixture(scope="module")
def rows(staged_ingest: tuple[Archive, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every dataset folder ingested with default options; the rows of each event file by its path."""
    staged_archive, outcomes = staged_ingest
    assert set(EXPECTED) | {"gammapy-data-hawc-crab_events_pass4-subset", "gammapy-data-cta-caldb"} == set(outcomes)
    found = staged_archive.rows(
        "SELECT p.file_path, o.*, h.*, degrees(long(center(o.s_region))) AS region_ra, "
        "degrees(lat(center(o.s_region))) AS region_dec, degrees(radius(o.s_region)) AS region_radius "
        "FROM ivoa.obscore o JOIN datalink.product p ON p.obs_publisher_did = o.obs_publisher_did "
        "AND p.semantics = '#this' LEFT JOIN ivoa.obscore_hea h ON h.obs_publisher_did = o.obs_publisher_did")
    return {r["file_path"]: r for r in found}


def _expected_fov(rule: str, hdulist: fits.HDUList) -> float:
    header = hdulist["EVENTS"].header
    if rule == "roi":
        value = next(header[f"DSVAL{n}"] for n in range(1, 10) if header.get(f"DSTYP{n}") == "POS(RA,DEC)")
        return 2 * float(re.fullmatch(r"CIRCLE\(([^,]+),([^,]+),([^)]+)\)", value).group(3))
    if rule == "aeff":
        aeff = next(h for h in hdulist[1:] if h.header.get("HDUCLAS2") == "EFF_AREA")
        assert aeff.header["HDUCLAS3"] == "FULL-ENCLOSURE"
        return 2 * float(np.max(aeff.data["THETA_HI"]))
    events = hdulist["EVENTS"].data
    pointing = SkyCoord(header["RA_PNT"] * u.deg, header["DEC_PNT"] * u.deg)
    return 2 * float(pointing.separation(SkyCoord(events["RA"] * u.deg, events["DEC"] * u.deg)).deg.max())


def _expected_energy(sources: tuple[str, str], hdulist: fits.HDUList) -> tuple[float, float]:
    events = hdulist["EVENTS"]
    unit = u.Unit(events.columns["ENERGY"].unit or "TeV")
    energy = (np.asarray(events.data["ENERGY"], dtype=float) * unit).to_value(u.eV)
    aeff = next((h.header for h in hdulist[1:] if h.header.get("HDUCLAS2") == "EFF_AREA"), {})
    low = float(energy.min()) if sources[0] == "events" else float(aeff[sources[0]]) * 1e12
    high = float(energy.max()) if sources[1] == "events" else float(aeff[sources[1]]) * 1e12
    return low, high


def _expected_tmoc(hdulist: fits.HDUList) -> TimeMOC:
    header = hdulist["EVENTS"].header
    gti = hdulist["GTI"].data
    epoch = Time(float(header["MJDREFI"]), float(header["MJDREFF"]), format="mjd",
                 scale=header["TIMESYS"].strip().lower())
    starts = epoch + TimeDelta(np.asarray(gti["START"], dtype=float), format="sec")
    stops = epoch + TimeDelta(np.asarray(gti["STOP"], dtype=float), format="sec")
    return TimeMOC.from_time_ranges(starts.tcb, stops.tcb, order=TMOC_ORDER)  # MOC 2.0 time is TCB


@pytest.mark.parametrize("path", _event_files(), ids=lambda p: str(p.relative_to(DL3)))
def test_footprint_and_hea_row(path: Path, rows: dict[str, dict[str, Any]]) -> None:
    row = rows[str(path.resolve())]
    rule, energy_sources = EXPECTED[path.relative_to(DL3).parts[0]]
    with open_in_memory(path) as hdulist:  # read whole: the HDUs are read out of order
        header = hdulist["EVENTS"].header
        fov = _expected_fov(rule, hdulist)
        low, high = _expected_energy(energy_sources, hdulist)
        tmoc = _expected_tmoc(hdulist)
        n_events = len(hdulist["EVENTS"].data)
    # s_fov and s_region: a circle of diameter s_fov on the pointing.
    assert row["s_fov"] == pytest.approx(fov, rel=1e-6)
    assert row["region_radius"] * 2 == pytest.approx(fov, rel=1e-6)
    centre = SkyCoord(row["region_ra"] * u.deg, row["region_dec"] * u.deg)
    assert centre.separation(SkyCoord(header["RA_PNT"] * u.deg, header["DEC_PNT"] * u.deg)).arcsec < 1e-6
    # The extension row, column by column.
    obs_mode = header.get("OBS_MODE", "").strip().upper() or None
    conv = header.get("CONV_DEP")
    expected = {
        "ev_xel": header["NAXIS2"], "energy_min": low, "energy_max": high, "obs_mode": obs_mode,
        "tracking_mode": "sidereal", "scan_mode": SCAN_OF_OBS_MODE[obs_mode],
        "pointing_mode": None if conv is None else "parallel" if conv == 0 else "convergent",
        "event_type": str(header["EV_CLASS"]).strip() if "EV_CLASS" in header else None,
        "messenger": "photon", "messenger_pdgid": "+22", "s_ref_energy": None, "em_ref_energy": None,
        "s_ref_oaa": None, "em_ref_oaa": None, "analysis_mode": None,
    }
    assert header["NAXIS2"] == n_events
    for column, value in expected.items():
        if isinstance(value, float):
            assert row[column] == pytest.approx(value, rel=1e-6, abs=0), column
        else:
            assert row[column] == value, column
    assert TimeMOC.from_str(row["t_intervals"]) == tmoc
    # em_min/em_max describe the same band as energy_min/energy_max (lambda = hc / E, the note's hc).
    assert row["em_min"] == pytest.approx(1.239841984332e-6 / high, rel=1e-9, abs=0)
    assert row["em_max"] == pytest.approx(1.239841984332e-6 / low, rel=1e-9, abs=0)


def test_every_dataset_has_a_footprint_and_an_extension_row(rows: dict[str, dict[str, Any]],
                                                           staged_archive: Archive) -> None:
    assert len(rows) == len(_event_files()) >= 260
    assert all(r["s_region"] is not None and r["s_fov"] > 0 for r in rows.values())
    assert staged_archive.scalar("SELECT count(*) FROM ivoa.obscore o LEFT JOIN ivoa.obscore_hea h "
                                 "USING (obs_publisher_did) WHERE h.obs_publisher_did IS NULL") == 0


def test_values_follow_the_notes_vocabularies(rows: dict[str, dict[str, Any]]) -> None:
    for row in rows.values():
        assert row["tracking_mode"] in TRACKING_MODES
        assert row["scan_mode"] is None or row["scan_mode"] in SCAN_MODES
        assert row["messenger"] in MESSENGERS
        assert PDGID.match(row["messenger_pdgid"])
        assert row["pointing_mode"] is None or POINTING_MODE.match(row["pointing_mode"])
        assert row["dataproduct_type"] == "event"  # ObsCore 1.1 term kept in ivoa.obscore (not hea-event-list)
    assert {r["scan_mode"] for r in rows.values()} >= {"on-the-fly-cross-map", "on-source"}


@pytest.mark.parametrize("in_process_below", [10**9, 0], ids=["in-process", "child-process"])
def test_coverage_moc_contains_every_pointing(rows: dict[str, dict[str, Any]], staged_archive: Archive,
                                              in_process_below: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The archive's coverage, united in the server process (small archives) or in a spawned one (large)."""
    monkeypatch.setattr(coverage_module, "IN_PROCESS_FOOTPRINTS", in_process_below)
    engine = admin_engine(staged_archive.settings)
    try:
        coverage = build_coverage_of_archive("test", engine)
    finally:
        engine.dispose()
    ra = np.array([r["s_ra"] for r in rows.values()]) * u.deg
    dec = np.array([r["s_dec"] for r in rows.values()]) * u.deg
    assert coverage.footprints == len(rows)
    assert coverage.moc.contains_lonlat(ra, dec).all()


def test_implausible_thresholds_are_a_warning() -> None:
    """VERITAS-ED's nominal 0.01-10000 TeV is reported, not published."""
    from tests.ingest.conftest import _archive

    for archive in _archive("tapserver_ingest_warn"):
        result = archive.ingest(DL3 / "gammapy-data-veritas-crab-point-like-ED", "--collection", "ved")
        warnings = [line for line in result.err.splitlines() if "implausible nominal energy threshold" in line]
        assert result.code == 0 and len(warnings) == 4
        assert all("64" in line and ".fits.gz" in line for line in warnings)
        assert archive.scalar("SELECT max(energy_max) FROM ivoa.obscore_hea") < 20e12


def test_existing_archive_is_filled_by_an_update(archive: Archive) -> None:
    """An archive loaded before the extension table existed: --update fills the table and the footprints."""
    assert archive.ingest(DEMO, "--config", DEMO_CONFIG).code == 0
    archive.rows("DELETE FROM ivoa.obscore_hea RETURNING 1")
    archive.rows("UPDATE ivoa.obscore SET s_region = NULL, s_fov = NULL RETURNING 1")
    refused = archive.ingest(DEMO, "--config", DEMO_CONFIG)
    assert refused.code == 1 and "obscore_hea: no row" in refused.err
    assert archive.ingest(DEMO, "--config", DEMO_CONFIG, "--update").code == 0
    assert archive.scalar("SELECT count(*) FROM ivoa.obscore o JOIN ivoa.obscore_hea USING (obs_publisher_did) "
                          "WHERE o.s_region IS NOT NULL") == archive.scalar("SELECT count(*) FROM ivoa.obscore") > 0
    assert archive.ingest(DEMO, "--config", DEMO_CONFIG).code == 0  # and then nothing differs any more
