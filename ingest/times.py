"""Time references of DL3 headers and MJD in TT, the one time scale of the archive (dl3-formats.md §8.1-8.3).

The reference epoch MJDREFI + MJDREFF (or MJDREF) in TIMESYS is converted to TT by astropy, once per epoch and scale:
that is where the leap seconds of a UTC reference are handled. TT is uniform, so elapsed seconds then add linearly,
exactly as astropy's ``Time + TimeDelta`` does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from astropy.time import Time

from ingest.keywords import Keywords
from ingest.units import unit_factor

TIME_SCALES = ("utc", "tt", "tai", "tdb", "tcg", "tcb")


@dataclass(frozen=True)
class TimeReference:
    """MJDREF in TT (an astropy Time) and the length of the header's time unit in seconds."""

    reference: Time
    seconds_per_unit: float
    origin: tuple[float, float, str]  # MJDREFI, MJDREFF, time scale as written

    @property
    def mjdref(self) -> float:
        return self.origin[0] + self.origin[1]

    @property
    def timesys(self) -> str:
        return self.origin[2].upper()


def time_reference(kw: Keywords) -> TimeReference:
    """The time reference of an HDU: MJDREFI + MJDREFF (or MJDREF) in TIMESYS, and TIMEUNIT."""
    scale = kw.text("TIMESYS")
    if scale is None:
        raise kw.error("TIMESYS", "missing (required: GADF defines no default time scale)")
    scale = scale.lower()
    if scale not in TIME_SCALES:
        raise kw.error("TIMESYS", f"unsupported time scale {scale!r} (supported: {', '.join(TIME_SCALES)})")
    if kw.has("MJDREFI"):
        whole, fraction = kw.required("MJDREFI"), kw.number("MJDREFF") or 0.0
    elif kw.has("MJDREF"):
        whole, fraction = kw.required("MJDREF"), 0.0
    else:
        raise kw.error("MJDREFI", "missing (neither MJDREFI/MJDREFF nor MJDREF)")
    unit = kw.text("TIMEUNIT") or "s"
    try:
        seconds = unit_factor(unit, "s")
    except ValueError:
        raise kw.error("TIMEUNIT", f"not a unit of time: {unit!r}") from None
    return TimeReference(_reference_tt(whole, fraction, scale), seconds, (whole, fraction, scale))


@lru_cache(maxsize=256)
def _reference_tt(whole: float, fraction: float, scale: str) -> Time:
    # MJDREFI and MJDREFF enter separately: astropy keeps them as a two-double value, so nothing is lost.
    return Time(whole, fraction, format="mjd", scale=scale).tt


def mjd_tt(reference: TimeReference, values: Sequence[float]) -> list[float]:
    """MJD (TT) of times given in the header's unit since the reference.

    The reference epoch is converted to TT by astropy (once per epoch and time scale: this is where leap seconds
    of a UTC reference are handled). TT is a uniform scale, so the elapsed seconds then add linearly, exactly as
    astropy's ``Time + TimeDelta`` does; the two-part sum keeps the result to a microsecond.
    """
    day, fraction = _reference_mjd(reference.reference)
    return [day + (fraction + value * reference.seconds_per_unit / 86400.0) for value in values]


@lru_cache(maxsize=256)
def _reference_mjd(reference: Time) -> tuple[float, float]:
    """(whole MJD, fraction of a day) of a TT epoch, from astropy's two-double representation."""
    day = math.floor(reference.jd1 - 2400000.5)
    return float(day), float((reference.jd1 - 2400000.5 - day) + reference.jd2)


def utc_datetime(mjd_tt_value: float) -> datetime:
    """A TT MJD as a naive UTC datetime (second precision), via astropy's leap-second table."""
    offset = _tt_minus_utc(math.floor(mjd_tt_value))
    return datetime(1858, 11, 17) + timedelta(days=mjd_tt_value, seconds=-offset)


@lru_cache(maxsize=4096)
def _tt_minus_utc(day: int) -> float:
    moment = Time(day, format="mjd", scale="tt")
    return float((moment.tt.jd1 - moment.utc.jd1 + moment.tt.jd2 - moment.utc.jd2) * 86400.0)
