"""What the pages show about the archive (collections, observations, targets, footprints, operations), and
the cache of the landing statistics; :mod:`tapserver.web.storage` reads them from the database."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from cachetools import TTLCache, cached

#: h c in eV m: a wavelength in metres is HC_EV_M / energy in eV.
HC_EV_M = 1.23984198e-6

T = TypeVar("T")


def wavelength_to_tev(metres: float | None) -> float | None:
    """Photon energy in TeV of a wavelength in metres."""
    if metres is None or metres <= 0:
        return None
    return HC_EV_M / metres / 1e12


@dataclass(frozen=True)
class CollectionStats:
    """What one collection of ivoa.obscore holds."""

    name: str
    facilities: str
    instruments: str
    datasets: int
    targets: int
    exposure_s: float | None
    t_min: float | None  # MJD
    t_max: float | None
    e_min_tev: float | None
    e_max_tev: float | None
    calib_levels: str
    rights: str


@dataclass(frozen=True)
class Observation:
    """One dataset as the time-energy plot draws it."""

    did: str
    obs_id: str
    collection: str
    target: str | None
    t_min: float
    t_max: float
    e_min_tev: float | None
    e_max_tev: float | None


@dataclass(frozen=True)
class Footprint:
    """A field of view: centre and radius in degrees."""

    ra: float
    dec: float
    radius: float


@dataclass(frozen=True)
class Target:
    name: str
    ra: float
    dec: float
    datasets: int


@dataclass(frozen=True)
class Archive:
    """Everything the landing page shows about the contents."""

    collections: tuple[CollectionStats, ...]
    observations: tuple[Observation, ...]
    observations_total: int
    targets: tuple[Target, ...]

    @property
    def datasets(self) -> int:
        return sum(c.datasets for c in self.collections)


@dataclass(frozen=True)
class Operations:
    """The operator's view: is the database answering, are jobs moving, when was the last ingest."""

    database_ok: bool
    database_ms: float | None
    database_note: str
    published_tables: int | None
    jobs_by_phase: dict[str, int] | None
    oldest_queued: datetime | None
    source_files: int | None
    last_ingest: datetime | None


class TimedCache(Generic[T]):
    """A value recomputed at most every ``ttl`` seconds; one computation at a time (callers that arrive
    meanwhile wait for it instead of computing it again)."""

    def __init__(self, compute: Callable[[], T], ttl: float) -> None:
        condition = threading.Condition()
        self._cached = cached(TTLCache[tuple[()], T](maxsize=1, ttl=ttl), lock=condition,
                              condition=condition)(compute)

    def get(self) -> T:
        return self._cached()

    def invalidate(self) -> None:
        self._cached.cache_clear()


def archive_cache(load: Callable[[], Archive], ttl: float = 30.0) -> TimedCache[Archive]:
    """The landing statistics, loaded by ``load`` at most every ``ttl`` seconds."""
    return TimedCache(load, ttl)
