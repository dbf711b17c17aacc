"""HEALPix NESTED cell outlines, for drawing a MOC (mocpy gives cells, not their corners).

The formulas are those of the HEALPix C++ library (``T_Healpix_Base::pix2xyf`` and ``xyf2loc``,
Górski et al. 2005): a cell is a square of its base face in face coordinates (x, y) in [0, 1], and
``xyf2loc`` maps face coordinates to (z = sin(dec), phi = ra).
"""

from __future__ import annotations

import math

# Ring and phi index of the 12 base faces (HEALPix jrll, jpll).
_JRLL = (2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4)
_JPLL = (1, 3, 5, 7, 0, 2, 4, 6, 1, 3, 5, 7)


def _compress_bits(value: int) -> int:
    """Keep the even bits of ``value`` (de-interleave one coordinate of a NESTED index)."""
    out = 0
    bit = 0
    while value:
        out |= (value & 1) << bit
        value >>= 2
        bit += 1
    return out


def pix2xyf(order: int, ipix: int) -> tuple[int, int, int]:
    """(ix, iy, face) of NESTED cell ``ipix`` at ``order``."""
    if order < 0 or order > 29:
        raise ValueError(f"HEALPix order must be in 0..29, not {order}")
    npface = 1 << (2 * order)
    if ipix < 0 or ipix >= 12 * npface:
        raise ValueError(f"cell {ipix} does not exist at order {order}")
    face, inface = divmod(ipix, npface)
    return _compress_bits(inface), _compress_bits(inface >> 1), face


def xyf2lonlat(x: float, y: float, face: int) -> tuple[float, float]:
    """(ra, dec) in degrees of face coordinates (x, y) in [0, 1] of base face ``face``."""
    jr = _JRLL[face] - x - y
    if jr < 1:
        nr = jr
        z = 1 - nr * nr / 3
    elif jr > 3:
        nr = 4 - jr
        z = nr * nr / 3 - 1
    else:
        nr = 1.0
        z = (2 - jr) * 2 / 3
    tmp = _JPLL[face] * nr + x - y
    if tmp < 0:
        tmp += 8
    if tmp >= 8:
        tmp -= 8
    phi = 0.0 if nr < 1e-15 else (0.25 * math.pi * tmp) / nr
    z = max(-1.0, min(1.0, z))
    return math.degrees(phi) % 360.0, math.degrees(math.asin(z))


def cell_center(order: int, ipix: int) -> tuple[float, float]:
    """(ra, dec) in degrees of the centre of a NESTED cell."""
    ix, iy, face = pix2xyf(order, ipix)
    nside = 1 << order
    return xyf2lonlat((ix + 0.5) / nside, (iy + 0.5) / nside, face)


def cell_outline(order: int, ipix: int, step: int = 1) -> list[tuple[float, float]]:
    """The corners (and ``step - 1`` points along each edge) of a NESTED cell, (ra, dec) degrees, in order."""
    ix, iy, face = pix2xyf(order, ipix)
    nside = 1 << order
    dc = 0.5 / nside
    xc, yc = (ix + 0.5) / nside, (iy + 0.5) / nside
    d = 1.0 / (step * nside)
    points: list[tuple[float, float]] = []
    for edge in range(4):
        for i in range(step):
            if edge == 0:
                x, y = xc + dc - i * d, yc + dc
            elif edge == 1:
                x, y = xc - dc, yc + dc - i * d
            elif edge == 2:
                x, y = xc - dc + i * d, yc - dc
            else:
                x, y = xc + dc, yc - dc + i * d
            points.append(xyf2lonlat(x, y, face))
    return points
