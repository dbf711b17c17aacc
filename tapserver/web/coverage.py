"""The archive's sky coverage as a MOC (IVOA MOC 2.0, built with mocpy from the fields of view).

Served at ``/tap/coverage`` as FITS (NUNIQ ordering, which MOC 1.x readers such as Aladin Lite v2 also
read) or JSON, and drawn on the landing page. Rebuilt when the footprints change (checked at most every
``ttl`` seconds).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import io
import json
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from cachetools import TTLCache, cached
from sqlalchemy import Engine

from tapserver.errors import UsageFault
from tapserver.web import stats, storage

#: Order of the published MOC: 9 is 6.9 arcmin cells, well below the fields of view of IACTs (> 3 deg).
MOC_ORDER = 9
#: Coarsest order used for very large archives (1.8 deg cells): building the union costs about
#: footprints x 2**order, so the order drops by one each time the number of footprints doubles past
#: FULL_ORDER_FOOTPRINTS (1,000,000 fields of view: order 5, some 10 s in the child process).
MIN_ORDER = 5
FULL_ORDER_FOOTPRINTS = 12_500
#: Fewer fields of view than this are united in the server process (milliseconds; a spawned process costs a
#: Python start-up, about 1.5 s of CPU); more, in a child process.
IN_PROCESS_FOOTPRINTS = 1000
#: Order at which the landing page draws it (0.9 deg cells, about 2 px on the map).
DRAW_ORDER = 6

FITS_MIME = "application/fits"
JSON_MIME = "application/json"
ASCII_MIME = "text/plain"

_FORMATS = {
    "": "fits", "fits": "fits", "application/fits": "fits", "image/fits": "fits",
    "json": "json", "application/json": "json",
    "ascii": "ascii", "text/plain": "ascii",
}


def response_format(value: str | None, accept: str | None = None) -> str:
    """fits, json or ascii for a RESPONSEFORMAT value (or, when none is given, the Accept header)."""
    if value is None or not value.strip():
        accepted = (accept or "").lower()
        if "application/json" in accepted and "fits" not in accepted:
            return "json"
        return "fits"
    key = value.split(";")[0].strip().lower()
    try:
        return _FORMATS[key]
    except KeyError:
        raise UsageFault(f"RESPONSEFORMAT {value!r} is not available for the coverage: "
                         "use fits (application/fits), json (application/json) or ascii (text/plain)") from None


@dataclass(frozen=True)
class Coverage:
    """One build of the MOC and what the pages need from it."""

    fingerprint: str
    footprints: int
    sky_fraction: float
    moc: Any = field(repr=False)  # a mocpy.MOC (mocpy is imported lazily: it costs a second)

    @property
    def order(self) -> int:
        """The order the MOC was built at (lower than MOC_ORDER for very large archives: coverage_order)."""
        return int(self.moc.max_order)

    @property
    def etag(self) -> str:
        return hashlib.sha256(self.fingerprint.encode()).hexdigest()[:20]

    def degraded(self, order: int) -> Any:
        moc = self.moc
        if order < moc.max_order:
            return moc.degrade_to_order(order)
        return moc

    def serialize(self, fmt: str, order: int | None = None) -> bytes:
        """The MOC in ``fmt`` (fits, json or ascii), degraded to ``order`` if given."""
        moc = self.degraded(order) if order is not None else self.moc
        if fmt == "fits":
            hdul = moc.serialize(
                format="fits", v1_compatible=True,
                optional_kw_dict={"MOCTOOL": "tapserver", "MOCID": "tapserver-coverage",
                                  "EXTNAME": "COVERAGE"})
            buffer = io.BytesIO()
            hdul.writeto(buffer)
            return buffer.getvalue()
        if fmt == "json":
            # mocpy's JSON is {"order": [cells]}; compact it (the indented text is much larger).
            return json.dumps(json.loads(moc.to_string(format="json")), separators=(",", ":")).encode()
        return (moc.to_string(format="ascii") + "\n").encode()

    def cells(self, order: int = DRAW_ORDER, max_cells: int = 20_000) -> list[tuple[int, int]]:
        """(order, NESTED index) of the cells to draw, coarsened until there are at most ``max_cells``."""
        while True:
            moc = self.degraded(order)
            data: dict[str, list[int]] = json.loads(moc.to_string(format="json"))
            cells = [(int(o), int(i)) for o, ipix in data.items() for i in ipix]
            if len(cells) <= max_cells or order <= 3:
                return cells
            order -= 1


def _union_of_cones(lon_deg: list[float], lat_deg: list[float], radius_deg: list[float], order: int) -> Any:
    """The MOC of a union of cones (runs in a child process: mocpy holds the GIL while it computes)."""
    import astropy.units as u
    import numpy as np
    from mocpy import MOC

    order = coverage_order(len(lon_deg), order)
    if not lon_deg:
        return MOC.new_empty(order)
    lat = np.clip(np.array(lat_deg), -90.0, 90.0)
    radius = np.clip(np.array(radius_deg), 1e-6, 179.0)
    return MOC.from_cones(lon=np.array(lon_deg) * u.deg, lat=lat * u.deg, radius=radius * u.deg, max_depth=order,
                          union_strategy="large_cones", n_threads=1)


def coverage_order(footprints: int, order: int = MOC_ORDER) -> int:
    """The MOC order for an archive of ``footprints`` fields of view (``order`` for small ones)."""
    excess = max(0, footprints - 1) // FULL_ORDER_FOOTPRINTS
    return max(min(MIN_ORDER, order), order - excess.bit_length())


def _exit_with_parent(parent: int) -> None:
    """Pool initializer: end this child when the server process that spawned it is gone (a server killed with
    SIGKILL cannot shut its pool down, and the idle child would otherwise wait on its own pipe for ever).

    On Linux the kernel does it (PR_SET_PDEATHSIG, also while mocpy holds the GIL); elsewhere, and in case
    the parent died before the call, a thread watches the parent process id."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _child_pool() -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_exit_with_parent, initargs=(os.getpid(),))


def build_coverage(fingerprint: str, fovs: Sequence[stats.Footprint], order: int = MOC_ORDER) -> Coverage:
    """The union of the fields of view as a MOC of ``order``.

    Computed in a separate (spawned) process: on a large archive the union takes tens of seconds with
    the GIL held, which would stall every other request of this server process.
    """
    args = ([f.ra for f in fovs], [f.dec for f in fovs], [f.radius for f in fovs], order)
    if len(fovs) < IN_PROCESS_FOOTPRINTS:  # small archives: not worth a process
        moc = _union_of_cones(*args)
    else:
        with _child_pool() as pool:
            moc = pool.submit(_union_of_cones, *args).result()
    return Coverage(fingerprint, len(fovs), float(moc.sky_fraction), moc)


def _moc_of_archive(dsn: str, order: int) -> tuple[Any, int]:
    """(MOC, number of footprints) of every field of view in the archive, fetched and computed here.

    Runs in a child process: the footprints of a large archive never enter the server process.
    """
    return _moc_of_footprints(storage.footprints(dsn), order)


def _moc_of_footprints(rows: list[tuple[float, float, float]], order: int) -> tuple[Any, int]:
    moc = _union_of_cones([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], order)
    return moc, len(rows)


def build_coverage_of_archive(fingerprint: str, engine: Engine, order: int = MOC_ORDER) -> Coverage:
    """The coverage of the whole archive, computed from the database: in a spawned process for a large
    archive, here for a small one (read on a connection of the engine's pool, not on one opened for it)."""
    dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    if storage.footprint_count(engine) < IN_PROCESS_FOOTPRINTS:
        moc, count = _moc_of_footprints(storage.footprints_of(engine), order)
    else:
        with _child_pool() as pool:
            moc, count = pool.submit(_moc_of_archive, dsn, order).result()
    return Coverage(fingerprint, count, float(moc.sky_fraction), moc)


class CoverageCache:
    """Keeps the last MOC; checks the footprints' fingerprint at most every ``ttl`` seconds."""

    def __init__(self, engine: Engine, ttl: float = 30.0,
                 builder: Callable[[str, Engine], Coverage] = build_coverage_of_archive) -> None:
        self._engine = engine
        self._builder = builder
        self._lock = threading.Lock()
        self._coverage: Coverage | None = None
        self._fingerprint = cached(TTLCache[tuple[()], str](maxsize=1, ttl=ttl))(self._read_fingerprint)

    def _read_fingerprint(self) -> str:
        return storage.fingerprint(self._engine)

    def get(self) -> Coverage:
        with self._lock:
            fingerprint = self._fingerprint()
            if self._coverage is None or fingerprint != self._coverage.fingerprint:
                self._coverage = self._builder(fingerprint, self._engine)
            return self._coverage
