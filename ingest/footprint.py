"""The field of view of an observation from what its DL3 file says (s_fov, s_region): the rules per source.

In order, the first that applies (docs/ingestion.md, "Footprints"):

1. ``config``: the collection config's ``s_fov`` (an override);
2. ``roi``: a GammaLib data sub-space circle (``DSTYPn='POS(RA,DEC)'``, ``DSVALn='CIRCLE(ra,dec,r)'``: CTA 1DC and
   ctools simulations, where no event lies outside it);
3. ``aeff``: twice the largest offset (``THETA_HI``) of a full-enclosure effective area with more than one offset
   bin: the region where the response is defined (H.E.S.S.);
4. ``events``: twice the largest angular distance of an event from the pointing: the camera as the events show it,
   for point-like IRFs (one offset bin, a RAD_MAX cut: they describe the source region, not the field; MAGIC,
   VERITAS, FACT) and files without an effective area. Read only when the rules above do not apply.

Pure functions over arrays already read; no file is opened here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ingest.keywords import Keywords

_CIRCLE = re.compile(r"^\s*CIRCLE\s*\(\s*([-+0-9.eE]+)\s*,\s*([-+0-9.eE]+)\s*,\s*([-+0-9.eE]+)\s*\)\s*$", re.I)
SOURCES = ("config", "roi", "aeff", "events")


@dataclass(frozen=True)
class Footprint:
    """A circular field of view on the pointing: its diameter in deg and the rule that gave it."""

    diameter: float
    source: str  # one of SOURCES

    def region(self, ra: float, dec: float) -> tuple[float, float, float]:
        """(ra, dec, radius) in radians, as pgsphere's scircle wants them."""
        return math.radians(ra), math.radians(dec), math.radians(self.diameter / 2)


def roi_diameter(ev: Keywords) -> float | None:
    """Diameter of a GammaLib data sub-space CIRCLE (DSTYPn='POS(RA,DEC)', DSVALn='CIRCLE(ra,dec,r)')."""
    for n in range(1, 10):
        kind, value = ev.text(f"DSTYP{n}"), ev.text(f"DSVAL{n}")
        if kind and value and kind.replace(" ", "").upper() == "POS(RA,DEC)":
            match = _CIRCLE.match(value)
            if match and 0 < float(match.group(3)) <= 90:
                return 2 * float(match.group(3))
    return None


def aeff_diameter(point_like: bool, theta_hi: np.ndarray | None) -> float | None:
    """Twice the largest THETA_HI (deg) of a full-enclosure effective area with several offset bins."""
    if point_like or theta_hi is None:
        return None
    values = theta_hi[np.isfinite(theta_hi)]
    if values.size < 2 or not 0 < float(values.max()) <= 90:
        return None
    return 2 * float(values.max())


def max_offset(ra_pnt: float, dec_pnt: float, ra: np.ndarray, dec: np.ndarray) -> float | None:
    """Largest great-circle distance (deg) of the events from the pointing (haversine; RA need not be wrapped)."""
    keep = np.isfinite(ra) & np.isfinite(dec)
    if not keep.any():
        return None
    lon, lat = np.radians(ra[keep]), np.radians(dec[keep])
    lon0, lat0 = math.radians(ra_pnt), math.radians(dec_pnt)
    h = np.sin((lat - lat0) / 2) ** 2 + math.cos(lat0) * np.cos(lat) * np.sin((lon - lon0) / 2) ** 2
    return float(np.degrees(2 * np.arcsin(np.sqrt(np.clip(h.max(), 0.0, 1.0)))))


def field_of_view(configured: float | None, ev: Keywords, point_like: bool, theta_hi: Callable[[], np.ndarray | None],
                  events: Callable[[], tuple[np.ndarray, np.ndarray] | None], pointing: tuple[float, float]
                  ) -> Footprint | None:
    """The first rule of the module docstring that gives a diameter (at most 180 deg), else None."""
    if configured:
        return Footprint(configured, "config")
    roi = roi_diameter(ev)
    if roi is not None:
        return Footprint(roi, "roi")
    aeff = aeff_diameter(point_like, theta_hi())
    if aeff is not None:
        return Footprint(aeff, "aeff")
    columns = events()
    offset = max_offset(*pointing, *columns) if columns is not None else None
    if offset is not None and offset > 0:
        return Footprint(min(2 * offset, 180.0), "events")
    return None
