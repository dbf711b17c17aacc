"""All-sky maps as SVG, drawn on the server so that they need no JavaScript.

Projection: Hammer-Aitoff (FITS ``AIT``, equal area), centred on RA 0 h, east to the left as on the sky.
Outlines (HEALPix cells, footprints) are cut at the map's edge (RA 12 h) and around the poles before they are
projected, the same way ``static/sky.js`` does it for query results.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from html import escape

import astropy.units as u
import numpy as np
from astropy.coordinates import ICRS, Galactic
from numpy.typing import ArrayLike

LonLat = tuple[float, float]

SQRT2 = math.sqrt(2.0)

def wrap180(angle: float) -> float:
    """An angle in degrees brought into [-180, 180)."""
    return (angle + 180.0) % 360.0 - 180.0


def hammer(lam: float, phi: float) -> tuple[float, float]:
    """Hammer-Aitoff of (longitude from the centre, latitude) in degrees: x in [-2√2, 2√2], y in [-√2, √2]."""
    lr, pr = math.radians(lam), math.radians(phi)
    d = math.sqrt(1.0 + math.cos(pr) * math.cos(lr / 2.0))
    return 2.0 * SQRT2 * math.cos(pr) * math.sin(lr / 2.0) / d, SQRT2 * math.sin(pr) / d


@cache
def galactic_to_icrs_matrix() -> np.ndarray:
    """The rotation taking galactic unit vectors to ICRS ones, from astropy's frame transform.

    Its columns are the galactic x, y and z axes transformed to ICRS; computed once, since a SkyCoord
    transform per map costs far more than the rotation itself.
    """
    axes = Galactic(l=[0.0, 90.0, 0.0] * u.deg, b=[0.0, 0.0, 90.0] * u.deg)
    return np.asarray(axes.transform_to(ICRS()).cartesian.xyz.value)


def galactic_to_icrs_arrays(l_deg: ArrayLike, b_deg: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """(ra, dec) arrays in degrees of galactic (l, b) arrays in degrees."""
    lr, br = np.broadcast_arrays(np.radians(l_deg), np.radians(b_deg))
    x, y, z = galactic_to_icrs_matrix() @ np.stack([np.cos(br) * np.cos(lr), np.cos(br) * np.sin(lr), np.sin(br)])
    return np.degrees(np.arctan2(y, x)) % 360.0, np.degrees(np.arcsin(np.clip(z, -1.0, 1.0)))


def galactic_to_icrs(l_deg: float, b_deg: float) -> LonLat:
    """(ra, dec) in degrees of galactic (l, b) in degrees."""
    ra, dec = galactic_to_icrs_arrays(l_deg, b_deg)
    return float(ra), float(dec)


def circle_outline(ra: float, dec: float, radius: float, n: int = 72) -> list[LonLat]:
    """Points on a small circle of ``radius`` degrees around (ra, dec)."""
    d0, r = math.radians(dec), math.radians(radius)
    out: list[LonLat] = []
    for i in range(n):
        theta = 2.0 * math.pi * i / n
        sin_d = math.sin(d0) * math.cos(r) + math.cos(d0) * math.sin(r) * math.cos(theta)
        d = math.asin(max(-1.0, min(1.0, sin_d)))
        dra = math.atan2(math.sin(theta) * math.sin(r) * math.cos(d0), math.cos(r) - math.sin(d0) * sin_d)
        out.append(((ra + math.degrees(dra)) % 360.0, math.degrees(d)))
    return out


def _unwrap(ring: Sequence[LonLat], center: float) -> list[LonLat]:
    """A closed ring as (continuous longitude from the centre, latitude), polar vertices split in two and a
    ring around a pole closed through that pole."""
    pts: list[LonLat] = []
    n = len(ring)
    for i, (lon, lat) in enumerate(ring):
        if abs(lat) > 89.9999:  # a vertex at a pole has no longitude: take its neighbours'
            before, after = ring[i - 1][0], ring[(i + 1) % n][0]
            pts.extend([(wrap180(before - center), math.copysign(90.0, lat)),
                        (wrap180(after - center), math.copysign(90.0, lat))])
        else:
            pts.append((wrap180(lon - center), lat))
    if not pts:
        return []
    out = [pts[0]]
    for lam, lat in pts[1:]:
        prev = out[-1][0]
        out.append((prev + wrap180(lam - prev), lat))
    winding = out[-1][0] + wrap180(out[0][0] - out[-1][0]) - out[0][0]
    if abs(winding) > 180.0:  # the ring goes round a pole: close it along that pole
        end = out[0][0] + winding
        pole = math.copysign(90.0, sum(p[1] for p in out))
        out += [(end, out[0][1]), (end, pole), (out[0][0], pole)]
    return out


def _clip(poly: list[LonLat], limit: float, keep_below: bool) -> list[LonLat]:
    """Sutherland-Hodgman against the line lam = limit."""
    if not poly:
        return []

    def inside(p: LonLat) -> bool:
        return p[0] <= limit if keep_below else p[0] >= limit

    out: list[LonLat] = []
    prev = poly[-1]
    for cur in poly:
        if inside(cur):
            if not inside(prev):
                out.append(_cross(prev, cur, limit))
            out.append(cur)
        elif inside(prev):
            out.append(_cross(prev, cur, limit))
        prev = cur
    return out


def _cross(a: LonLat, b: LonLat, limit: float) -> LonLat:
    t = (limit - a[0]) / (b[0] - a[0])
    return limit, a[1] + t * (b[1] - a[1])


def _densify(poly: list[LonLat], max_step: float = 3.0) -> list[LonLat]:
    out: list[LonLat] = []
    for i, a in enumerate(poly):
        b = poly[(i + 1) % len(poly)]
        n = max(1, math.ceil(max(abs(b[0] - a[0]), abs(b[1] - a[1])) / max_step))
        out.extend((a[0] + (b[0] - a[0]) * k / n, a[1] + (b[1] - a[1]) * k / n) for k in range(n))
    return out


def split_ring(ring: Sequence[LonLat], center: float = 0.0) -> list[list[LonLat]]:
    """The pieces of a closed (ra, dec) ring as (lam, phi) polygons within lam in [-180, 180]."""
    unwrapped = _unwrap(ring, center)
    if len(unwrapped) < 3:
        return []
    pieces = []
    for shift in (-360.0, 0.0, 360.0):
        moved = [(lam + shift, lat) for lam, lat in unwrapped]
        if max(p[0] for p in moved) < -180.0 or min(p[0] for p in moved) > 180.0:
            continue
        piece = _clip(_clip(moved, 180.0, True), -180.0, False)
        if len(piece) >= 3:
            pieces.append(_densify(piece))
    return pieces


@dataclass(frozen=True)
class SkyFrame:
    """Where the map sits in the SVG: centre (cx, cy) and pixels per projection unit."""

    width: float = 720.0
    height: float = 360.0
    margin: float = 24.0
    center_ra: float = 0.0

    @property
    def scale(self) -> float:
        return min((self.width - 2 * self.margin) / (4 * SQRT2), (self.height - 2 * self.margin) / (2 * SQRT2))

    @property
    def cx(self) -> float:
        return self.width / 2

    @property
    def cy(self) -> float:
        return self.height / 2

    def xy(self, lam: float, phi: float) -> tuple[float, float]:
        """SVG coordinates of (lam, phi): lam is the longitude from the centre (east, to the left)."""
        x, y = hammer(lam, phi)
        return self.cx - x * self.scale, self.cy - y * self.scale

    def radec(self, ra: float, dec: float) -> tuple[float, float]:
        return self.xy(wrap180(ra - self.center_ra), dec)


def _path_of(frame: SkyFrame, polygons: Iterable[list[LonLat]]) -> str:
    parts = []
    for poly in polygons:
        coords = [frame.xy(lam, phi) for lam, phi in poly]
        parts.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in coords) + "Z")
    return "".join(parts)


def _polyline(frame: SkyFrame, points: Sequence[LonLat]) -> str:
    """An open (ra, dec) line, broken where it crosses the map's edge."""
    segments: list[list[tuple[float, float]]] = [[]]
    prev: float | None = None
    for ra, dec in points:
        lam = wrap180(ra - frame.center_ra)
        if prev is not None and abs(lam - prev) > 180.0:
            segments.append([])
        segments[-1].append(frame.xy(lam, dec))
        prev = lam
    return "".join("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in seg) for seg in segments if len(seg) > 1)


def graticule(frame: SkyFrame) -> str:
    """Meridians every 2 h, parallels every 30 deg, their labels and the outline of the map."""
    lines = []
    for ra in range(0, 360, 30):
        lam = wrap180(ra - frame.center_ra)
        if abs(lam) >= 179.999:
            continue
        lines.append("M" + "L".join(
            "{:.1f},{:.1f}".format(*frame.xy(lam, dec)) for dec in range(-90, 91, 5)))
    for dec in (-60, -30, 0, 30, 60):
        lines.append("M" + "L".join(
            "{:.1f},{:.1f}".format(*frame.xy(lam, dec)) for lam in range(-180, 181, 5)))
    edge = "M" + "L".join("{:.1f},{:.1f}".format(*frame.xy(180.0, dec)) for dec in range(-90, 91, 3))
    edge += "L" + "L".join("{:.1f},{:.1f}".format(*frame.xy(-180.0, dec)) for dec in range(90, -91, -3)) + "Z"
    labels = []
    for ra in range(0, 360, 60):
        lam = wrap180(ra - frame.center_ra)
        if abs(lam) >= 179.999:
            continue
        x, y = frame.xy(lam, 0.0)
        labels.append(f'<text x="{x + 2:.1f}" y="{y - 3:.1f}">{ra // 15}h</text>')
    for dec in (-60, -30, 30, 60):
        x, y = frame.xy(180.0, dec)
        labels.append(f'<text x="{x - 4:.1f}" y="{y + 4:.1f}" text-anchor="end">{dec:+d}°</text>')
    return (f'<path class="sky-bg" d="{edge}"/>'
            f'<path class="grid" d="{"".join(lines)}"/>'
            f'<path class="sky-edge" d="{edge}"/>'
            f'<g class="grid-labels">{"".join(labels)}</g>')


def galactic_plane(frame: SkyFrame) -> str:
    """The galactic plane (b = 0) and the galactic centre."""
    ra, dec = galactic_to_icrs_arrays(np.arange(0.0, 361.0, 2.0), 0.0)
    points = list(zip(ra.tolist(), dec.tolist(), strict=True))
    gx, gy = frame.radec(*galactic_to_icrs(0.0, 0.0))
    return (f'<path class="galactic-plane" d="{_polyline(frame, points)}"><title>Galactic plane</title></path>'
            f'<circle class="galactic-center" cx="{gx:.1f}" cy="{gy:.1f}" r="3">'
            f"<title>Galactic centre</title></circle>"
            f'<text class="gc-label" x="{gx + 5:.1f}" y="{gy - 4:.1f}">GC</text>')


def moc_path(frame: SkyFrame, cells: Iterable[tuple[int, int]]) -> str:
    """SVG path data of MOC cells given as (order, NESTED index)."""
    from tapserver.web.healpix import cell_outlines

    listed = list(cells)
    outlines: list[list[LonLat]] = [[] for _ in listed]
    by_order: dict[int, list[int]] = {}
    for i, (order, _) in enumerate(listed):
        by_order.setdefault(order, []).append(i)
    for order, where in by_order.items():  # one cdshealpix call per order, the cells kept in their order
        step = max(1, 1 << max(0, 4 - order))
        for i, outline in zip(where, cell_outlines(order, [listed[i][1] for i in where], step).tolist(), strict=True):
            outlines[i] = [(ra, dec) for ra, dec in outline]
    polygons: list[list[LonLat]] = []
    for outline in outlines:
        polygons.extend(split_ring(outline, frame.center_ra))
    return _path_of(frame, polygons)


@dataclass(frozen=True)
class Marker:
    """A labelled position drawn over the coverage (a target)."""

    ra: float
    dec: float
    label: str


def render_sky_map(frame: SkyFrame, cells: Sequence[tuple[int, int]], *, title: str, description: str,
                   markers: Sequence[Marker] = ()) -> str:
    """An accessible inline SVG: grid, galactic plane, MOC cells and markers."""
    marks = []
    for m in markers:
        x, y = frame.radec(m.ra, m.dec)
        marks.append(f'<g class="marker"><title>{escape(m.label)} (RA {m.ra:.3f}°, Dec {m.dec:+.3f}°)</title>'
                     f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6"/>'
                     f'<text x="{x + 8:.1f}" y="{y + 4:.1f}">{escape(m.label)}</text></g>')
    return (
        f'<svg class="skymap" viewBox="0 0 {frame.width:.0f} {frame.height:.0f}" role="img" '
        f'aria-labelledby="sky-title sky-desc" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="sky-title">{escape(title)}</title><desc id="sky-desc">{escape(description)}</desc>'
        f"{graticule(frame)}{galactic_plane(frame)}"
        f'<path class="moc" d="{moc_path(frame, cells)}"><title>{escape(title)}</title></path>'
        f'{"".join(marks)}</svg>'
    )
