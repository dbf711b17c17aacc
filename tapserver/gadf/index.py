"""GADF obs-index and hdu-index tables (data_storage/obs_index, data_storage/hdu_index) as FITS bytes.

Times: one reference for every row whatever the instrument, MJDREF = 51544.5 (J2000) in TT, the archive's
time scale; TSTART/TSTOP are ObsCore t_min/t_max (MJD TT) in seconds since it. The bytes are
deterministic (no dates, gzip mtime 0), so that a bundle is the same on every request and can be resumed.
"""

from __future__ import annotations

import gzip
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.table import Table

MJDREF_TT = 51544.5
HDUDOC = "https://github.com/open-gamma-ray-astro/gamma-astro-data-formats"


@dataclass(frozen=True)
class HduRow:
    """One row of the hdu-index."""

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


def _fits(table: Table, header: dict[str, Any]) -> bytes:
    hdu = fits.table_to_hdu(table)
    for key, value in header.items():
        hdu.header[key] = value
    buffer = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(buffer)
    return buffer.getvalue()


def gzipped(data: bytes) -> bytes:
    """gzip with a zero timestamp: the same bytes on every request."""
    return gzip.compress(data, mtime=0)


def _common(rows: Sequence[dict[str, Any]], key: str) -> float | None:
    values = {row.get(key) for row in rows}
    if len(values) == 1:
        value = values.pop()
        return None if value is None else float(value)
    return None


def obs_index(rows: Sequence[dict[str, Any]], obs_ids: Sequence[int]) -> bytes:
    """The obs-index of observations (ObsCore + ObsConfig rows, in the order of ``obs_ids``)."""
    def column(key: str) -> list[float]:
        return [_float(row.get(key)) for row in rows]

    table = Table()
    table["OBS_ID"] = np.array(obs_ids, dtype=np.int64)
    table["RA_PNT"] = np.array([_float(r.get("ra_pnt") if r.get("ra_pnt") is not None else r.get("s_ra"))
                                for r in rows]) % 360.0
    table["DEC_PNT"] = [_float(r.get("dec_pnt") if r.get("dec_pnt") is not None else r.get("s_dec")) for r in rows]
    table["ALT_PNT"], table["AZ_PNT"], table["ZEN_PNT"] = column("alt_pnt"), column("az_pnt"), column("zen_pnt")
    table["TSTART"] = [_met(r.get("t_min")) for r in rows]
    table["TSTOP"] = [_met(r.get("t_max")) for r in rows]
    table["ONTIME"] = column("ontime")
    table["LIVETIME"] = [_float(r.get("livetime") if r.get("livetime") is not None else r.get("t_exptime"))
                         for r in rows]
    table["DEADC"] = column("deadc")
    table["OBJECT"] = [str(r.get("target_name") or r.get("object") or "") for r in rows]
    table["OBS_MODE"] = [str(r.get("obs_mode") or "POINTING") for r in rows]
    table["N_TELS"] = np.array([-1 if r.get("n_tels") is None else int(r["n_tels"]) for r in rows], dtype=np.int64)
    table["TELLIST"] = [str(r.get("tel_list") or "") for r in rows]
    table["GEOLON"], table["GEOLAT"], table["ALTITUDE"] = column("geolon"), column("geolat"), column("altitude")
    table["OBS_COLLECTION"] = [str(r.get("obs_collection") or "") for r in rows]
    table["OBS_PUBLISHER_DID"] = [str(r.get("obs_publisher_did") or "") for r in rows]
    for name, unit in (("RA_PNT", "deg"), ("DEC_PNT", "deg"), ("ALT_PNT", "deg"), ("AZ_PNT", "deg"),
                       ("ZEN_PNT", "deg"), ("TSTART", "s"), ("TSTOP", "s"), ("ONTIME", "s"), ("LIVETIME", "s"),
                       ("GEOLON", "deg"), ("GEOLAT", "deg"), ("ALTITUDE", "m")):
        table[name].unit = unit
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
    table = Table()
    table["OBS_ID"] = np.array([r.obs_id for r in rows], dtype=np.int64)
    for name, attr in (("HDU_TYPE", "hdu_type"), ("HDU_CLASS", "hdu_class"), ("FILE_DIR", "file_dir"),
                       ("FILE_NAME", "file_name"), ("HDU_NAME", "hdu_name")):
        table[name] = np.array([getattr(r, attr) for r in rows], dtype=str) if rows else np.array([], dtype="U1")
    header = {"EXTNAME": "HDU_INDEX", "HDUCLASS": "GADF", "HDUDOC": HDUDOC, "HDUVERS": "0.3",
              "HDUCLAS1": "INDEX", "HDUCLAS2": "HDU"}
    return _fits(table, header)
