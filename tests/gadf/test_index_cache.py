"""Index tables are kept under their rows: asked again for the same rows, the same bytes come back without
being made again; other rows give other bytes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from astropy.io import fits

from tapserver.gadf.index import HduRow, gzipped, hdu_index, obs_index

pytestmark = pytest.mark.nodb


def _rows(livetime: float) -> list[dict[str, Any]]:
    return [{"obs_publisher_did": f"ivo://x?{i}", "obs_collection": "c", "obs_id": str(i), "target_name": "Crab",
             "s_ra": 83.6, "s_dec": Decimal("22.0"), "t_min": 53000.0 + i, "t_max": 53000.01 + i,
             "t_exptime": 1000.0, "livetime": livetime, "ontime": 1200.0, "deadc": None, "tel_list": "1,2,3",
             "n_tels": 3, "obs_mode": None, "release": datetime(2020, 1, 1)} for i in range(3)]


def test_obs_index_kept_under_its_rows(tmp_path: Any) -> None:
    first = obs_index(_rows(900.0), [0, 1, 2])
    assert obs_index(_rows(900.0), [0, 1, 2]) is first  # the same rows, other dicts: kept
    other = obs_index(_rows(901.0), [0, 1, 2])
    assert other != first
    assert obs_index(_rows(900.0), [2, 1, 0]) != first
    (tmp_path / "other.fits").write_bytes(other)
    with fits.open(tmp_path / "other.fits") as hdus:
        assert list(hdus[1].data["LIVETIME"]) == [901.0] * 3


def test_rows_that_cannot_be_keys_are_formatted_afresh() -> None:
    rows = _rows(900.0)
    for row in rows:
        row["extra"] = [1, 2]  # a list: no key
    assert obs_index(rows, [0, 1, 2]) == obs_index(_rows(900.0), [0, 1, 2])


def test_hdu_index_and_gzip_kept() -> None:
    rows = [HduRow(1, "events", "events", "data/c", "a.fits.gz", "EVENTS")]
    table = hdu_index(rows)
    assert hdu_index(list(rows)) is table
    assert hdu_index([rows[0]._replace(file_name="b.fits.gz")]) != table
    assert gzipped(bytes(bytearray(table))) is gzipped(table)  # equal bytes, another object
