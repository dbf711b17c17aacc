"""HEALPix NESTED cell centres and outlines, for drawing a MOC: mocpy gives the cells, cdshealpix their corners."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from cdshealpix import nested


def cell_center(order: int, ipix: int) -> tuple[float, float]:
    """(ra, dec) in degrees of the centre of a NESTED cell."""
    lon, lat = nested.healpix_to_lonlat(np.array([ipix], dtype=np.int64), order)
    return float(lon.deg[0]), float(lat.deg[0])


def cell_outlines(order: int, cells: Sequence[int], step: int = 1) -> np.ndarray:
    """Outlines of NESTED cells at one ``order``: (ra, dec) degrees, shape (len(cells), 4 * step, 2).

    Each outline is the corners and ``step - 1`` points along each edge, in order from the north corner
    through west, south and east (cdshealpix starts at the south corner: the outlines are turned so that a
    cell is drawn from the same vertex as before).
    """
    lon, lat = nested.vertices(np.asarray(cells, dtype=np.int64), order, step=step)
    outlines = np.stack([lon.deg, lat.deg], axis=-1).reshape(len(cells), 4 * step, 2)
    return np.roll(outlines, -2 * step, axis=1)


def cell_outline(order: int, ipix: int, step: int = 1) -> list[tuple[float, float]]:
    """The outline of one NESTED cell (see ``cell_outlines``)."""
    return [(float(ra), float(dec)) for ra, dec in cell_outlines(order, [ipix], step)[0]]
