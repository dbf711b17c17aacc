"""The IVOA High-Energy ObsCore extension row (ivoa.obscore_hea) of one observation, and the energy band.

Vocabularies are those of the note (ivoa/HighEnergyObsCoreExt, "Extensions to ObsCore Specific to High Energy
Astrophysics Data"); docs/ingestion.md has the table of sources. Pure functions: nothing here opens a file.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import erfa
import numpy as np

TRACKING_MODES = ("sidereal", "fixed-az-el-transit", "solar-system-object-tracking", "none")
SCAN_MODES = ("on-source", "on-off", "raster-map", "on-the-fly-cross-scan", "on-the-fly-cross-map", "slew")
POINTING_MODES = ("parallel", "convergent", "divergent")  # each optionally followed by "-<angle>"
MESSENGERS = ("cosmic-ray", "muon", "neutrino", "photon", "proton")
# GADF/OGIP OBS_MODE -> scan_mode. A wobble observation is the note's example of on-the-fly-cross-map.
_SCAN_MODES = {"WOBBLE": "on-the-fly-cross-map", "POINTING": "on-source", "RASTER": "raster-map",
               "SCAN": "on-the-fly-cross-scan", "SLEW": "slew", "ON_OFF": "on-off"}
PHOTON_PDGID = "+22"
TEV_IN_EV = 1e12
#: Depth of the time MOCs: cells of 2**20 us (1.05 s). MOC 2.0 time cells count microseconds since JD 0 (TCB).
TMOC_DEPTH = 41
_TMOC_MAX_DEPTH = 61
_DAY_US = 86_400_000_000
_MJD_ZERO = 2400000.5
#: A nominal threshold further than this factor outside the energies of the events is not believed.
PLAUSIBLE_FACTOR = 10.0


@dataclass(frozen=True)
class EnergyBand:
    """The energy range an observation is published with (TeV), and where each bound came from."""

    low: float
    high: float
    sources: tuple[str, str]  # "threshold" or "events" for (low, high)


def energy_band(nominal: tuple[float | None, float | None], events: tuple[float, float] | None,
                irf: tuple[float, float] | None, use_nominal: bool, warnings: list[str], path: str
                ) -> EnergyBand | None:
    """The band: the nominal safe thresholds where they are plausible, else the energies of the events.

    A threshold is plausible when it lies within the energy axis of the effective area (its validity) and within a
    factor PLAUSIBLE_FACTOR of the events' energies (below the highest for LO, above the lowest for HI). An
    implausible one (VERITAS-ED writes 0.01-10000 TeV) is a warning naming the file, and the events decide.
    """
    low_nominal, high_nominal = nominal if use_nominal else (None, None)
    low_ok = low_nominal is not None and _plausible(low_nominal, events, irf, low=True)
    high_ok = high_nominal is not None and _plausible(high_nominal, events, irf, low=False)
    rejected = [f"{name} {value:g} TeV" for name, value, ok in (("low", low_nominal, low_ok),
                                                                  ("high", high_nominal, high_ok))
                if value is not None and not ok]
    if rejected and events is not None:
        detail = f"events {events[0]:.4g}-{events[1]:.4g} TeV" + (
            f", effective area {irf[0]:.4g}-{irf[1]:.4g} TeV" if irf else "")
        warnings.append(f"{path}: implausible nominal energy threshold ({', '.join(rejected)}; {detail}): "
                        "the band is taken from the events")
    low = low_nominal if low_ok else (events[0] if events else low_nominal)
    high = high_nominal if high_ok else (events[1] if events else high_nominal)
    if low is None or high is None or not 0 < low <= high or not math.isfinite(high):
        if low is not None or high is not None:
            warnings.append(f"{path}: energy range {low}-{high} TeV is not usable; em_min/em_max, energy_min/"
                            "energy_max stored as NULL")
        return None
    return EnergyBand(low, high, ("threshold" if low_ok else "events", "threshold" if high_ok else "events"))


def _plausible(value: float, events: tuple[float, float] | None, irf: tuple[float, float] | None, *,
               low: bool) -> bool:
    if not value > 0 or not math.isfinite(value):
        return False
    if irf is not None and not irf[0] * (1 - 1e-6) <= value <= irf[1] * (1 + 1e-6):
        return False
    if events is None:
        return True
    if low:
        return events[0] / PLAUSIBLE_FACTOR <= value < events[1]
    return events[0] < value <= events[1] * PLAUSIBLE_FACTOR


def scan_mode(obs_mode: str | None) -> str | None:
    """The note's scan_mode for a normalised GADF OBS_MODE (None when the mode is unknown or DRIFT)."""
    return _SCAN_MODES.get(obs_mode) if obs_mode else None


def tracking_mode(obs_mode: str | None) -> str:
    """Drift scans stay fixed in alt/az; an observation with a fixed RA_PNT/DEC_PNT (every ingested one)
    tracks the sky."""
    return "fixed-az-el-transit" if obs_mode == "DRIFT" else "sidereal"


def time_moc(starts_tt: Sequence[float], stops_tt: Sequence[float], depth: int = TMOC_DEPTH) -> str | None:
    """The intervals [start, stop] (MJD, TT) as a MOC 2.0 time MOC in its ASCII serialisation ("<order>/<cells>"),
    normalised: every cell touched by an interval, merged into the largest cells of lower orders.

    The times are converted to TCB as astropy does (:func:`tcb_jd`); tests compare the result with mocpy's
    TimeMOC. mocpy is not imported here: it would add half a second to every ingest worker.
    """
    if not len(starts_tt):
        return None
    jd1, jd2 = tcb_jd(np.array([*starts_tt, *stops_tt], dtype=np.float64))
    shift = _TMOC_MAX_DEPTH - depth
    count = len(starts_tt)
    microseconds = [_jd_microseconds(float(a), float(b)) for a, b in zip(jd1, jd2, strict=True)]
    cells = sorted((first >> shift, (last >> shift) + 1)
                   for first, last in zip(microseconds[:count], microseconds[count:], strict=True) if last >= first)
    merged: list[list[int]] = []
    for lo, hi in cells:
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    by_order: dict[int, list[int]] = {}
    for lo, hi in merged:
        _decompose(lo, hi, depth, by_order)
    return _ascii(by_order, depth) if by_order else None


def tcb_jd(mjd_tt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """TT MJDs as two-part TCB Julian dates: the ERFA calls astropy's ``Time(..., scale="tt").tcb`` makes for a
    time without location (TDB-TT at the geocentre, then TDB to TCB), without astropy's per-object overhead."""
    jd1 = np.full(mjd_tt.shape, _MJD_ZERO)
    tdb1, tdb2 = erfa.tttdb(jd1, mjd_tt, erfa.dtdb(jd1, mjd_tt, 0.0, 0.0, 0.0, 0.0))
    return cast(tuple[np.ndarray, np.ndarray], erfa.tdbtcb(tdb1, tdb2))


def _jd_microseconds(jd1: float, jd2: float) -> int:
    """Microseconds since JD 0 of a two-double Julian date (no precision lost to the 2e17 magnitude)."""
    whole = math.floor(jd1) + math.floor(jd2)
    fraction = (jd1 - math.floor(jd1)) + (jd2 - math.floor(jd2))
    return whole * _DAY_US + math.floor(fraction * _DAY_US)


def _decompose(lo: int, hi: int, depth: int, by_order: dict[int, list[int]]) -> None:
    """Cells [lo, hi) of order ``depth`` as the fewest aligned cells of orders <= depth."""
    while lo < hi:
        level = 0
        while level < depth and lo % (1 << (level + 1)) == 0 and lo + (1 << (level + 1)) <= hi:
            level += 1
        by_order.setdefault(depth - level, []).append(lo >> level)
        lo += 1 << level


def _ascii(by_order: dict[int, list[int]], depth: int) -> str:
    """MOC 2.0 ASCII as mocpy writes a time MOC: "<order>/<cells>" per order, consecutive cells written as
    ranges; the depth last."""
    parts = []
    for order in sorted(by_order):
        cells = sorted(by_order[order])
        runs: list[str] = []
        start = previous = cells[0]
        for cell in [*cells[1:], None]:
            if cell is not None and cell == previous + 1:
                previous = cell
                continue
            runs.append(str(start) if start == previous else f"{start}-{previous}")
            if cell is not None:
                start = previous = cell
        parts.append(f"{order}/{' '.join(runs)}")
    if max(by_order) != depth:
        parts.append(f"{depth}/")
    return " ".join(parts)
