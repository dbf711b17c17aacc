"""GADF obs-index and hdu-index tables (data_storage/obs_index, data_storage/hdu_index) as FITS bytes.

Times: one reference for every row whatever the instrument, MJDREF = 51544.5 (J2000) in TT, the archive's
time scale; TSTART/TSTOP are ObsCore t_min/t_max (MJD TT) in seconds since it. The bytes are
deterministic (no dates, gzip mtime 0), so that a bundle is the same on every request and can be resumed.
"""

from __future__ import annotations

import gzip
import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

MJDREF_TT = 51544.5
#: Index tables (and their gzip) kept, each under its rows: a selection asked for again (a bundle downloaded
#: again, resumed, or its HEAD then GET) is not formatted again. The bytes are a function of the rows alone.
CACHED = 16
HDUDOC = "https://github.com/open-gamma-ray-astro/gamma-astro-data-formats"


class HduRow(NamedTuple):
    """One row of the hdu-index (a named tuple: a bundle of 100 runs has 600)."""

    obs_id: int
    hdu_type: str
    hdu_class: str
    file_dir: str
    file_name: str
    hdu_name: str


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


def _met(mjd_tt: Any) -> float:
    return math.nan if mjd_tt is None else (float(mjd_tt) - MJDREF_TT) * 86400.0


#: A table column: name, values (ints, floats or strings) and unit.
Column = tuple[str, Any, str | None]
_BLOCK = 2880


def _column(values: Any) -> tuple[np.ndarray, str]:
    """The big-endian array of a column and its TFORM (K: int64, D: float64, nA: ASCII text)."""
    if isinstance(values, list) and values and all(isinstance(v, str) for v in values):
        strings: list[Any] = values  # encoded as they are: numpy's unicode array first cost more than the rest
    else:
        array = np.asarray(values)
        if array.dtype.kind in "iub":
            return array.astype(">i8"), "K"
        if array.dtype.kind == "f":
            return array.astype(">f8"), "D"
        strings = array.tolist()
    encoded = [str(v).encode("ascii", "replace") for v in strings]
    width = max(map(len, encoded), default=1) or 1
    return np.array(encoded, dtype=f"S{width}"), f"{width}A"


def _padded(data: bytes, fill: bytes) -> bytes:
    return data + fill * (-len(data) % _BLOCK)


def _card(key: str, value: Any) -> bytes:
    """One fixed-format header card (FITS 4.0 §4.2: numbers right-justified to column 30, strings quoted from
    column 11)."""
    if isinstance(value, bool):
        text = ("T" if value else "F").rjust(20)
    elif isinstance(value, int):
        text = str(value).rjust(20)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{key}: a FITS header value must be finite")
        number = repr(value).upper()
        text = (number if "." in number or "E" in number else number + ".0").rjust(20)
    else:
        quoted = str(value).encode("ascii", "replace").decode().replace("'", "''")
        text = f"'{quoted:<8}'"
    card = f"{key:<8}= {text}"
    if len(card) > 80:
        raise ValueError(f"{key}: the value does not fit one header card")
    return card.ljust(80).encode("ascii")


def _header(cards: Sequence[tuple[str, Any]]) -> bytes:
    return _padded(b"".join(_card(key, value) for key, value in cards) + b"END".ljust(80), b" ")


def _fits(columns: Sequence[Column], header: dict[str, Any]) -> bytes:
    """A FITS file: an empty primary HDU and one binary table of ``columns`` with ``header`` keywords.

    Written directly (cards formatted here, rows by numpy): building an astropy table and HDU cost tens of
    milliseconds per table, paid by every bundle request."""
    arrays = [(name, *_column(values), unit) for name, values, unit in columns]
    rows = np.zeros(len(arrays[0][1]) if arrays else 0,
                    dtype=[(name, array.dtype) for name, array, _, _ in arrays])
    for name, array, _, _ in arrays:
        rows[name] = array
    cards: list[tuple[str, Any]] = [
        ("XTENSION", "BINTABLE"), ("BITPIX", 8), ("NAXIS", 2), ("NAXIS1", rows.dtype.itemsize),
        ("NAXIS2", len(rows)), ("PCOUNT", 0), ("GCOUNT", 1), ("TFIELDS", len(arrays))]
    for i, (name, _, tform, unit) in enumerate(arrays, start=1):
        cards += [(f"TTYPE{i}", name), (f"TFORM{i}", tform)]
        if unit:
            cards.append((f"TUNIT{i}", unit))
    cards += list(header.items())
    primary = _header([("SIMPLE", True), ("BITPIX", 8), ("NAXIS", 0), ("EXTEND", True)])
    return primary + _header(cards) + _padded(rows.tobytes(), b"\0")


@lru_cache(maxsize=CACHED)
def gzipped(data: bytes) -> bytes:
    """gzip with a zero timestamp: the same bytes on every request. Level 1: the tables are small and
    level 9 cost about 10 ms per request for hardly smaller files."""
    return gzip.compress(data, compresslevel=1, mtime=0)


def _common(rows: Sequence[dict[str, Any]], key: str) -> float | None:
    values = {row.get(key) for row in rows}
    if len(values) == 1:
        value = values.pop()
        return None if value is None else float(value)
    return None


def obs_index(rows: Sequence[dict[str, Any]], obs_ids: Sequence[int]) -> bytes:
    """The obs-index of observations (ObsCore + ObsConfig rows, in the order of ``obs_ids``)."""
    key = tuple(tuple(row.items()) for row in rows)
    try:
        hash(key)
    except TypeError:  # a value that cannot be a key: made afresh
        return _obs_index(rows, obs_ids)
    return _cached_obs_index(key, tuple(obs_ids))


@lru_cache(maxsize=CACHED)
def _cached_obs_index(rows: tuple[tuple[tuple[str, Any], ...], ...], obs_ids: tuple[int, ...]) -> bytes:
    return _obs_index([dict(row) for row in rows], obs_ids)


def _obs_index(rows: Sequence[dict[str, Any]], obs_ids: Sequence[int]) -> bytes:
    def column(key: str) -> np.ndarray:
        return np.array([_float(row.get(key)) for row in rows], dtype=np.float64)

    deg, sec = "deg", "s"
    table: list[Column] = [
        ("OBS_ID", np.array(obs_ids, dtype=np.int64), None),
        ("RA_PNT", np.array([_float(r.get("ra_pnt") if r.get("ra_pnt") is not None else r.get("s_ra"))
                             for r in rows]) % 360.0, deg),
        ("DEC_PNT", [_float(r.get("dec_pnt") if r.get("dec_pnt") is not None else r.get("s_dec")) for r in rows],
         deg),
        ("ALT_PNT", column("alt_pnt"), deg), ("AZ_PNT", column("az_pnt"), deg), ("ZEN_PNT", column("zen_pnt"), deg),
        ("TSTART", [_met(r.get("t_min")) for r in rows], sec),
        ("TSTOP", [_met(r.get("t_max")) for r in rows], sec),
        ("ONTIME", column("ontime"), sec),
        ("LIVETIME", [_float(r.get("livetime") if r.get("livetime") is not None else r.get("t_exptime"))
                      for r in rows], sec),
        ("DEADC", column("deadc"), None),
        ("OBJECT", [str(r.get("target_name") or r.get("object") or "") for r in rows], None),
        ("OBS_MODE", [str(r.get("obs_mode") or "POINTING") for r in rows], None),
        ("N_TELS", np.array([-1 if r.get("n_tels") is None else int(r["n_tels"]) for r in rows], dtype=np.int64),
         None),
        ("TELLIST", [str(r.get("tel_list") or "") for r in rows], None),
        ("GEOLON", column("geolon"), deg), ("GEOLAT", column("geolat"), deg), ("ALTITUDE", column("altitude"), "m"),
        ("OBS_COLLECTION", [str(r.get("obs_collection") or "") for r in rows], None),
        ("OBS_PUBLISHER_DID", [str(r.get("obs_publisher_did") or "") for r in rows], None),
    ]
    header: dict[str, Any] = {
        "EXTNAME": "OBS_INDEX", "HDUCLASS": "GADF", "HDUDOC": HDUDOC, "HDUVERS": "0.3",
        "HDUCLAS1": "INDEX", "HDUCLAS2": "OBS", "MJDREFI": int(MJDREF_TT), "MJDREFF": MJDREF_TT % 1,
        "TIMEUNIT": "s", "TIMESYS": "TT", "TIMEREF": "LOCAL",
    }
    for key in ("geolon", "geolat", "altitude"):
        value = _common(rows, key)
        if value is not None:
            header[key.upper()] = value
    return _fits(table, header)


def hdu_index(rows: Sequence[HduRow]) -> bytes:
    """The hdu-index of HDU rows."""
    return _hdu_index(tuple(rows))


@lru_cache(maxsize=CACHED)
def _hdu_index(rows: tuple[HduRow, ...]) -> bytes:
    columns = [list(column) for column in zip(*rows, strict=True)] or [[] for _ in HduRow._fields]
    table: list[Column] = [("OBS_ID", np.array(columns[0], dtype=np.int64), None)]
    for name, values in zip(("HDU_TYPE", "HDU_CLASS", "FILE_DIR", "FILE_NAME", "HDU_NAME"), columns[1:], strict=True):
        table.append((name, values, None))
    header = {"EXTNAME": "HDU_INDEX", "HDUCLASS": "GADF", "HDUDOC": HDUDOC, "HDUVERS": "0.3",
              "HDUCLAS1": "INDEX", "HDUCLAS2": "HDU"}
    return _fits(table, header)
