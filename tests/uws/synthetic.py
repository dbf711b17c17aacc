"""The synthetic archive of the UWS tests and benchmark: a small ObsCore on a regular grid."""

from __future__ import annotations

import io
import math

import numpy as np
from astropy.io.votable import from_table, writeto
from astropy.table import Table as AstropyTable

#: Rows of the synthetic ObsCore: a grid around (83.6, 22.0) (the Crab), 0.1 deg apart, plus a far field.
OBSCORE_ROWS = 2000
#: A cone search (ra, dec, radius in degrees) that returns cone_count() == 65 rows of the grid.
CONE = (83.6, 22.0, 0.43)


def grid_positions() -> list[tuple[float, float]]:
    """The (ra, dec) of the synthetic rows, as SEED_SQL computes them."""
    out = []
    for i in range(1, OBSCORE_ROWS + 1):
        if i <= 1000:
            out.append((83.6 + ((i - 1) % 40 - 20) * 0.1, 22.0 + ((i - 1) // 40 - 12) * 0.1))
        else:
            out.append((200 + (i % 50) * 0.5, -30 + (i % 40) * 0.5))
    return out


def cone_count(ra: float = CONE[0], dec: float = CONE[1], radius: float = CONE[2]) -> int:
    """Rows of the synthetic ObsCore within ``radius`` degrees of (ra, dec) (haversine, computed here)."""
    def sep(a: tuple[float, float]) -> float:
        ra1, dec1, ra2, dec2 = map(math.radians, (a[0], a[1], ra, dec))
        h = math.sin((dec2 - dec1) / 2) ** 2 + math.cos(dec1) * math.cos(dec2) * math.sin((ra2 - ra1) / 2) ** 2
        return math.degrees(2 * math.asin(math.sqrt(h)))
    return sum(1 for p in grid_positions() if sep(p) <= radius)


SEED_SQL = f"""
INSERT INTO ivoa.obscore (dataproduct_type, calib_level, obs_collection, obs_id, obs_publisher_did,
    target_name, s_ra, s_dec, s_fov, t_min, t_max, t_exptime, em_min, em_max, facility_name, instrument_name,
    access_url, access_format, access_estsize, obs_release_date)
SELECT 'event', 2, 'SYNTH', 'obs-' || i, 'ivo://tapserver.example/synth?obs-' || i,
    CASE WHEN i <= 1000 THEN 'Crab' ELSE 'Elsewhere' END,
    CASE WHEN i <= 1000 THEN 83.6 + ((i - 1) % 40 - 20) * 0.1 ELSE 200 + (i % 50) * 0.5 END,
    CASE WHEN i <= 1000 THEN 22.0 + ((i - 1) / 40 - 12) * 0.1 ELSE -30 + (i % 40) * 0.5 END,
    5.0, 58000 + i * 0.01, 58000 + i * 0.01 + 0.02, 1800.0, 1e-18, 1e-15, 'SYNTH', 'SYNTHCAM',
    'https://example.org/data/obs-' || i || '.fits', 'application/fits', 1000 + i, '2020-01-01'
FROM generate_series(1, {OBSCORE_ROWS}) AS i
"""



def votable_bytes(table: AstropyTable, fmt: str = "tabledata", xtypes: dict[str, str] | None = None) -> bytes:
    document = from_table(table)
    for field in document.get_first_table().fields:
        if xtypes and field.name in xtypes:
            field.xtype = xtypes[field.name]
    buf = io.BytesIO()
    writeto(document, buf, tabledata_format=fmt)
    return buf.getvalue()


def positions(n: int = 3) -> AstropyTable:
    table = AstropyTable({"id": np.arange(1, n + 1, dtype=np.int32),
                          "RA": np.linspace(CONE[0] - 0.1, CONE[0] + 0.1, n),
                          "dec": np.full(n, CONE[1])})
    table["RA"].unit = "deg"
    table["RA"].description = "Right ascension"
    return table
