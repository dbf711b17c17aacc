"""Which event directions lie inside a SODA shape (vectorised over the EVENTS columns, degrees).

* circle: the great-circle distance (haversine form, exact for small and large radii) is at most r;
* range: Dec inside, RA inside (wrapping through 0 when ra_min > ra_max); event RA is taken modulo 360
  (some files store RA + 360 or negative RA);
* polygon: edges are great circles. In the gnomonic projection about the vertices' mean direction great
  circles are straight lines, so a plane point-in-polygon test (even-odd rule) is exact for polygons
  smaller than a hemisphere; directions in the far hemisphere are outside.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from tapserver.errors import UsageFault
from tapserver.soda.params import Circle, Polygon, Range, Shape

Floats = NDArray[np.float64]
Mask = NDArray[np.bool_]


def _unit(ra: Floats, dec: Floats) -> Floats:
    r, d = np.radians(ra), np.radians(dec)
    return np.stack([np.cos(d) * np.cos(r), np.cos(d) * np.sin(r), np.sin(d)], axis=-1)


def separation(ra: Floats, dec: Floats, ra0: float, dec0: float) -> Floats:
    """Great-circle distance in degrees (haversine)."""
    r1, d1 = np.radians(ra), np.radians(dec)
    r0, d0 = np.radians(ra0), np.radians(dec0)
    h = np.sin((d1 - d0) / 2) ** 2 + np.cos(d1) * np.cos(d0) * np.sin((r1 - r0) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))))


def _in_range(ra: Floats, dec: Floats, shape: Range) -> Mask:
    inside_dec = (dec >= shape.dec_min) & (dec <= shape.dec_max)
    if shape.ra_min == 0.0 and shape.ra_max == 360.0:
        return inside_dec
    ra = np.mod(ra, 360.0)
    if shape.ra_min <= shape.ra_max:
        inside_ra = (ra >= shape.ra_min) & (ra <= shape.ra_max)
    else:
        inside_ra = (ra >= shape.ra_min) | (ra <= shape.ra_max)
    return inside_dec & inside_ra


def _tangent_plane(points: Floats, centre: Floats) -> tuple[Floats, Floats, Floats]:
    """Gnomonic coordinates of unit vectors about ``centre`` and the cosine of their distance to it."""
    east = np.cross([0.0, 0.0, 1.0], centre)
    if np.linalg.norm(east) < 1e-12:  # centre at a pole
        east = np.array([1.0, 0.0, 0.0])
    east /= np.linalg.norm(east)
    north = np.cross(centre, east)
    cos_c = points @ centre
    with np.errstate(divide="ignore", invalid="ignore"):
        return (points @ east) / cos_c, (points @ north) / cos_c, cos_c


def _in_polygon(ra: Floats, dec: Floats, shape: Polygon) -> Mask:
    vertices = _unit(np.array([v[0] for v in shape.vertices]), np.array([v[1] for v in shape.vertices]))
    centre = vertices.sum(axis=0)
    if np.linalg.norm(centre) < 1e-9:
        raise UsageFault("POLYGON: the polygon is too large (its vertices do not lie in one hemisphere)")
    centre /= np.linalg.norm(centre)
    vx, vy, vcos = _tangent_plane(vertices, centre)
    if np.any(vcos <= 1e-9):
        raise UsageFault("POLYGON: the polygon is too large (its vertices do not lie in one hemisphere)")
    px, py, pcos = _tangent_plane(_unit(ra, dec), centre)
    front = pcos > 0
    inside = np.zeros(len(ra), dtype=bool)
    x, y = px[front], py[front]
    hits = np.zeros(len(x), dtype=bool)
    for i in range(len(vx)):
        x1, y1, x2, y2 = vx[i - 1], vy[i - 1], vx[i], vy[i]
        crosses = (y1 > y) != (y2 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        hits ^= crosses & (x < x_at)
    inside[front] = hits
    return inside


def contains(shape: Shape, ra: Floats, dec: Floats) -> Mask:
    """Boolean mask of the directions inside ``shape``."""
    ra, dec = np.asarray(ra, dtype=np.float64), np.asarray(dec, dtype=np.float64)
    if isinstance(shape, Circle):
        return separation(ra, dec, shape.ra, shape.dec) <= shape.radius
    if isinstance(shape, Range):
        return _in_range(ra, dec, shape)
    return _in_polygon(ra, dec, shape)
