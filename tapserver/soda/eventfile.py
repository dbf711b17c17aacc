"""Cut a GADF event file while streaming it: the EVENTS rows inside the cut, the GTI intersected with the
time interval, every other HDU (IRFs, pointing) copied verbatim, then extra HDUs (IRFs kept in other files).

Memory: the primary HDU, the EVENTS HDU and the GTI HDU are held (they are read before the first byte so
that an empty intersection is a clean error); every other HDU goes through in 1 MiB chunks.

Header updates of the cut HDUs: ``NAXIS2``; with a time cut that clips the GTIs, ``ONTIME`` and ``LIVETIME``
are scaled by (sum of the new GTIs) / (sum of the old ones), which keeps ``DEADC`` (the dead-time fraction
is known per run only), ``TSTART``/``TSTOP`` become the bounds of the new GTIs, ``TELAPSE`` follows, and the
calendar strings (``DATE-OBS`` ...) that no longer hold are removed; ``CHECKSUM``/``DATASUM`` are dropped;
a ``HISTORY`` card records the cut.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO, cast

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.time import Time

from tapserver.datalink.fitshdu import FitsFormatError, Header, padded, read_header, skip
from tapserver.errors import FatalFault, UsageFault
from tapserver.soda.params import Cut
from tapserver.soda.regions import contains

CHUNK = 1 << 20
_CALENDAR_KEYS = ("DATE-OBS", "TIME-OBS", "DATE-END", "TIME-END", "DATE_OBS", "TIME_OBS", "DATE_END",
                  "TIME_END", "DATE-BEG", "DATE-AVG")


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    parts, remaining = [], size
    while remaining:
        chunk = stream.read(min(remaining, CHUNK))
        if not chunk:
            raise FitsFormatError(f"the file ends {remaining} bytes early")
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


def _kind(header: Header) -> str:
    for key in ("HDUCLAS1", "EXTNAME"):
        value = (header.string(key) or "").strip().upper()
        if value in ("EVENTS", "GTI"):
            return value
    return ""


def met_interval(header: fits.Header, mjd_tt: tuple[float, float]) -> tuple[float, float]:
    """An MJD (TT) interval as seconds since the file's MJDREF in its TIMESYS (infinite bounds stay)."""
    scale = str(header.get("TIMESYS", "")).strip().lower()
    if not scale:
        raise FatalFault("the event file has no TIMESYS")
    if "MJDREFI" in header:
        whole, fraction = float(header["MJDREFI"]), float(header.get("MJDREFF", 0.0))
    elif "MJDREF" in header:
        whole, fraction = float(header["MJDREF"]), 0.0
    else:
        raise FatalFault("the event file has no MJDREF")
    reference = Time(whole, fraction, format="mjd", scale=scale).tt

    def seconds(mjd: float) -> float:
        if not math.isfinite(mjd):
            return mjd
        day = math.floor(mjd)
        delta = (day - reference.jd1 + 2400000.5 - reference.jd2) * 86400.0
        return delta + (mjd - day) * 86400.0

    return seconds(mjd_tt[0]), seconds(mjd_tt[1])


def energy_bounds(unit: str, tev: tuple[float, float]) -> tuple[float, float]:
    """The TeV interval in ``unit`` (the ENERGY column's TUNIT, else EUNIT, else TeV)."""
    factor = float((1 * u.TeV).to_value(u.Unit(str(unit).strip())))
    return tev[0] * factor, tev[1] * factor


#: numpy codes of the FITS binary-table field types (FITS 4.0 table 18); P/Q (heap) are refused earlier.
_FIELD_TYPES = {"L": "i1", "B": "u1", "I": ">i2", "J": ">i4", "K": ">i8", "E": ">f4", "D": ">f8", "C": ">c8",
                "M": ">c16"}
_TFORM = re.compile(r"^\s*(\d*)([A-Z])")


@dataclass(frozen=True)
class _Column:
    name: str
    bscale: float
    bzero: float
    unit: str | None


def _field(tform: str) -> Any:
    """The numpy type of one row's field of TFORM ``tform``."""
    match = _TFORM.match(tform)
    if match is None:
        raise FatalFault(f"unsupported column format {tform!r}")
    repeat, code = int(match.group(1) or 1), match.group(2)
    if code == "A":
        return f"S{repeat}"
    if code == "X":
        return ("u1", ((repeat + 7) // 8,))
    if code not in _FIELD_TYPES:
        raise FatalFault(f"unsupported column format {tform!r}")
    return _FIELD_TYPES[code] if repeat == 1 else (_FIELD_TYPES[code], (repeat,))


class _Table:
    """A binary table HDU as read: astropy parses the header, the column layout is read from its TFORMn
    cards (building astropy's column definitions cost about a millisecond a table), and the rows stay the
    raw big-endian records (a cut copies the selected records byte for byte, nothing is re-encoded)."""

    def __init__(self, header: bytes, data: bytes) -> None:
        self.header = fits.Header.fromstring(header)
        if int(self.header.get("PCOUNT", 0)) != 0:
            raise FatalFault("binary tables with a heap (variable-length arrays) are not cut")
        count = int(self.header.get("TFIELDS", 0))
        self.columns: dict[str, _Column] = {}
        fields = []
        for i in range(1, count + 1):
            name = str(self.header.get(f"TTYPE{i}", f"col{i}")).strip()
            unit = self.header.get(f"TUNIT{i}")
            self.columns[name] = _Column(name, float(self.header.get(f"TSCAL{i}", 1.0)),
                                         float(self.header.get(f"TZERO{i}", 0.0)), str(unit) if unit else None)
            fields.append((name, _field(str(self.header[f"TFORM{i}"]))))
        dtype = np.dtype(fields)
        if dtype.itemsize != int(self.header["NAXIS1"]):
            raise FatalFault(f"unsupported column layout in {self.header.get('EXTNAME', 'a table')}")
        self.length = int(self.header["NAXIS2"])
        self.rows = np.frombuffer(data, dtype=dtype, count=self.length)

    def column(self, name: str) -> np.ndarray:
        """A column's values by its exact name (FITS readers match case-insensitively: HAWC has ``ra`` and
        ``RA``), with TSCAL/TZERO applied."""
        column = self.columns.get(name)
        if column is None:
            raise FatalFault(f"the {self.header.get('EXTNAME', 'table')} HDU has no {name} column")
        values = self.rows[name]
        if column.bscale != 1 or column.bzero != 0:
            values = values * column.bscale + column.bzero
        return cast(np.ndarray, values)

    def unit(self, name: str) -> str | None:
        column = self.columns.get(name)
        return column.unit if column is not None else None

    def serialise(self, rows: np.ndarray, history: str) -> bytes:
        """The HDU with these rows: header (NAXIS2, HISTORY; CHECKSUM/DATASUM dropped) and padded data."""
        header = self.header
        header["NAXIS2"] = len(rows)
        for key in ("CHECKSUM", "DATASUM"):
            header.remove(key, ignore_missing=True)
        header.add_history(history)
        data = rows.tobytes()
        return header.tostring(padding=True).encode("ascii") + data + bytes(padded(len(data)) - len(data))


@dataclass
class CutResult:
    """What the cut kept (for logs and tests)."""

    events_total: int = 0
    events_kept: int = 0
    gti_seconds: float = 0.0


@dataclass
class EventCutout:
    """One cutout response: :meth:`prepare` reads and cuts EVENTS and GTI (raising UsageFault when the cut
    leaves no good time), then iterating yields the bytes of the new file and closes the sources."""

    stream: BinaryIO
    cut: Cut
    close_source: Callable[[], None]
    extra_hdus: list[Iterable[bytes]] = field(default_factory=list)
    #: Whether the region meets the dataset's recorded field of view (None: none recorded). Asked only when
    #: no event lies inside the region: events inside it show the overlap without a database query.
    footprint: Callable[[], bool | None] | None = None
    result: CutResult = field(default_factory=CutResult)
    _head: list[bytes] = field(default_factory=list, init=False)

    def prepare(self) -> None:
        try:
            self._head = self._read_head()
        except (FitsFormatError, EOFError, OSError) as exc:
            self.close()
            raise FatalFault(f"the event file cannot be read: {exc}") from exc
        except BaseException:
            self.close()
            raise

    def _read_head(self) -> list[bytes]:
        primary = read_header(self.stream, primary=True)
        if primary is None:
            raise FitsFormatError("empty file")
        size = primary.data_size(primary=True)
        head: list[bytes | str] = [primary.raw + _read_exactly(self.stream, padded(size))]
        tables: dict[str, _Table] = {}
        while len(tables) < 2:
            header = read_header(self.stream, primary=False)
            if header is None:
                break
            size = header.data_size(primary=False)
            body = header.raw + _read_exactly(self.stream, size)
            skip(self.stream, padded(size) - size)
            kind = _kind(header)
            if kind and kind not in tables:
                tables[kind] = _Table(header.raw, body[len(header.raw):])
                head.append(kind)
            else:
                head.append(body + bytes(padded(size) - size))
        if "EVENTS" not in tables:
            raise FitsFormatError("no EVENTS HDU")
        if "GTI" not in tables:
            raise FitsFormatError("no GTI HDU")
        events, gti = self._cut(tables["EVENTS"], tables["GTI"])
        done = {"EVENTS": events, "GTI": gti}
        return [done[item] if isinstance(item, str) else item for item in head]

    def _cut(self, events: _Table, gti: _Table) -> tuple[bytes, bytes]:
        cut, header = self.cut, events.header
        n = events.length
        keep = np.ones(n, dtype=bool)
        starts, stops = gti.column("START").astype(np.float64), gti.column("STOP").astype(np.float64)
        old_sum = float(np.sum(stops - starts))
        gti_rows = gti.rows
        if cut.time is not None:
            t1, t2 = met_interval(header, cut.time)
            time = events.column("TIME")
            keep &= (time >= t1) & (time <= t2)
            new_starts, new_stops = np.maximum(starts, t1), np.minimum(stops, t2)
            good = new_starts < new_stops
            if not good.any():
                raise UsageFault(f"NoOverlap: TIME {cut.time[0]:.8f} {cut.time[1]:.8f} (MJD TT) does not "
                                 "overlap the good time intervals of this observation")
            gti_rows = gti.rows[good].copy()
            gti_rows["START"] = new_starts[good]
            gti_rows["STOP"] = new_stops[good]
            new_sum = float(np.sum(new_stops[good] - new_starts[good]))
            if new_sum != old_sum:
                self._rescale(header, gti.header, old_sum, new_sum,
                              float(np.min(new_starts[good])), float(np.max(new_stops[good])))
            self.result.gti_seconds = new_sum
        else:
            self.result.gti_seconds = old_sum
        if cut.shape is not None:
            inside = contains(cut.shape, events.column("RA"), events.column("DEC"))
            if not inside.any():
                overlap = self.footprint() if self.footprint is not None else None
                if overlap is False:
                    raise UsageFault("NoOverlap: the region does not meet the field of view of this observation")
                if overlap is None and n:
                    # without a recorded field of view, a region that holds no event is taken as disjoint
                    raise UsageFault("NoOverlap: no event of this observation lies inside the region")
            keep &= inside
        if cut.energy is not None:
            lo, hi = energy_bounds(events.unit("ENERGY") or header.get("EUNIT") or "TeV", cut.energy)
            energy = events.column("ENERGY")
            in_band = (energy >= lo) & (energy <= hi)
            if n and not in_band.any():
                raise UsageFault(f"NoOverlap: no event of this observation has an energy in "
                                 f"[{cut.energy[0]:.6g}, {cut.energy[1]:.6g}] TeV")
            keep &= in_band
        kept = int(keep.sum())
        self.result.events_total, self.result.events_kept = n, kept
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        history = f"tapserver SODA cutout {stamp}: {cut.describe()}; {kept} of {n} events kept"
        return events.serialise(events.rows[keep], history), gti.serialise(gti_rows, history)

    @staticmethod
    def _rescale(header: fits.Header, gti_header: fits.Header, old_sum: float, new_sum: float,
                 start: float, stop: float) -> None:
        ratio = new_sum / old_sum if old_sum > 0 else 0.0
        for key in ("ONTIME", "LIVETIME"):
            if key in header:
                header[key] = float(header[key]) * ratio
        for target in (header, gti_header):
            if "TSTART" in target:
                target["TSTART"] = start
            if "TSTOP" in target:
                target["TSTOP"] = stop
            if "TELAPSE" in target:
                target["TELAPSE"] = stop - start
            for key in _CALENDAR_KEYS:
                target.remove(key, ignore_missing=True, remove_all=True)

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._head
            self._head = []
            yield from self._rest()
            for hdu in self.extra_hdus:
                yield from hdu
        finally:
            self.close()

    def _rest(self) -> Iterator[bytes]:
        while True:
            header = read_header(self.stream, primary=False)
            if header is None:
                return
            yield header.raw
            size = header.data_size(primary=False)
            remaining = size
            while remaining:
                chunk = self.stream.read(min(CHUNK, remaining))
                if not chunk:
                    raise FitsFormatError("the file ends inside an HDU")
                remaining -= len(chunk)
                yield chunk
            pad = padded(size) - size
            skip(self.stream, pad)
            if pad:
                yield bytes(pad)

    def close(self) -> None:
        for hdu in self.extra_hdus:
            closer = getattr(hdu, "close", None)
            if closer is not None:
                closer()
        self.close_source()
