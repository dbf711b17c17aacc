"""The published catalog as the server sees it: loaded from TAP_SCHEMA, reloaded when TAP_SCHEMA changes."""

from __future__ import annotations

import threading
import time

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from tapserver.catalog.model import Catalog
from tapserver.catalog.store import load_catalog, row_counts, tap_schema_fingerprint


class CatalogCache:
    """Holds the catalog; at most every ``ttl`` seconds it checks TAP_SCHEMA's fingerprint and reloads."""

    def __init__(self, engine: Engine, ttl: float = 5.0, counts_ttl: float = 60.0) -> None:
        self._engine = engine
        self._ttl = ttl
        self._lock = threading.Lock()
        self._catalog: Catalog | None = None
        self._fingerprint: str | None = None
        self._checked = 0.0
        self._counts_ttl = counts_ttl
        self._counts: dict[str, int] = {}
        self._counts_lock = threading.Lock()
        self._counted = -counts_ttl

    def get(self) -> Catalog:
        """The current catalog (loading it on first use)."""
        now = time.monotonic()
        current = self._catalog
        if current is not None and now - self._checked < self._ttl:
            return current
        # While one thread checks the fingerprint, the others keep serving the catalog they have
        # instead of queueing behind the check (under load every request would wait for it).
        if not self._lock.acquire(blocking=current is None):
            assert current is not None
            return current
        try:
            if self._catalog is not None and now - self._checked < self._ttl:
                return self._catalog
            with self._engine.connect() as conn:
                fingerprint = tap_schema_fingerprint(conn)
                if self._catalog is None or fingerprint != self._fingerprint:
                    self._catalog = load_catalog(conn)
                    self._fingerprint = fingerprint
            self._checked = time.monotonic()
            return self._catalog
        finally:
            self._lock.release()

    def row_counts(self) -> dict[str, int]:
        """Approximate row counts of the published tables (recounted at most every ``counts_ttl`` seconds;
        a failed count keeps the previous figures)."""
        if time.monotonic() - self._counted < self._counts_ttl or not self._counts_lock.acquire(
                blocking=not self._counts):
            return self._counts
        try:
            if time.monotonic() - self._counted >= self._counts_ttl:
                catalog = self.get()
                try:
                    with self._engine.connect() as conn:
                        self._counts = row_counts(conn, catalog)
                except SQLAlchemyError:
                    pass
                self._counted = time.monotonic()
            return self._counts
        finally:
            self._counts_lock.release()

    def invalidate(self) -> None:
        """Force a reload on the next access."""
        with self._lock:
            self._checked = 0.0
            self._fingerprint = None
