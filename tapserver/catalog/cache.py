"""The published catalog as the server sees it: loaded from TAP_SCHEMA, reloaded when TAP_SCHEMA changes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from cachetools import TTLCache
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from tapserver.catalog.model import Catalog
from tapserver.catalog.store import load_catalog, row_counts, tap_schema_fingerprint

T = TypeVar("T")


class Refreshed(Generic[T]):
    """A value computed again at most every ``ttl`` seconds (a cachetools TTLCache of one entry says whether
    it is still fresh). Thread-safe.

    While one thread computes it again, the others get the previous value instead of waiting: under load
    every request would otherwise queue behind the database. Only the first computation is waited for.
    ``compute`` is given the previous value (None the first time); an exception it raises reaches the caller
    and the next call tries again.
    """

    def __init__(self, ttl: float, compute: Callable[[T | None], T]) -> None:
        self._compute = compute
        self._fresh: TTLCache[str, T] = TTLCache(maxsize=1, ttl=ttl)
        self._fresh_lock = threading.Lock()  # cachetools caches are not thread-safe
        self._computing = threading.Lock()
        self._last: T | None = None

    def _fresh_value(self) -> T | None:
        with self._fresh_lock:
            return self._fresh.get("value")

    def get(self) -> T:
        value = self._fresh_value()
        if value is not None:
            return value
        last = self._last
        if not self._computing.acquire(blocking=last is None):
            assert last is not None
            return last
        try:
            value = self._fresh_value()  # another thread may have computed it while this one waited
            if value is None:
                value = self._last = self._compute(self._last)
                with self._fresh_lock:
                    self._fresh["value"] = value
            return value
        finally:
            self._computing.release()

    def expire(self) -> None:
        """Compute the value again on the next access."""
        with self._fresh_lock:
            self._fresh.clear()


class CatalogCache:
    """Holds the catalog; at most every ``ttl`` seconds it checks TAP_SCHEMA's fingerprint and reloads."""

    def __init__(self, engine: Engine, ttl: float = 5.0, counts_ttl: float = 60.0) -> None:
        self._engine = engine
        self._fingerprint: str | None = None
        self._catalog = Refreshed(ttl, self._check)
        self._counts = Refreshed(counts_ttl, self._count)

    def get(self) -> Catalog:
        """The current catalog (loading it on first use)."""
        return self._catalog.get()

    def row_counts(self) -> dict[str, int]:
        """Approximate row counts of the published tables (recounted at most every ``counts_ttl`` seconds;
        a failed count keeps the previous figures)."""
        return self._counts.get()

    def invalidate(self) -> None:
        """Force a reload on the next access."""
        self._fingerprint = None
        self._catalog.expire()

    def _check(self, current: Catalog | None) -> Catalog:
        with self._engine.connect() as conn:
            fingerprint = tap_schema_fingerprint(conn)
            if current is None or fingerprint != self._fingerprint:
                current = load_catalog(conn)
                self._fingerprint = fingerprint
        return current

    def _count(self, previous: dict[str, int] | None) -> dict[str, int]:
        catalog = self.get()
        try:
            with self._engine.connect() as conn:
                return row_counts(conn, catalog)
        except SQLAlchemyError:
            return previous or {}
