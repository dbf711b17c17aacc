"""What a running server holds: settings, engines and caches, built once in the app lifespan."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from tapserver.catalog.cache import CatalogCache
from tapserver.config import Settings
from tapserver.db import Engines, make_engines


@dataclass
class ServerState:
    settings: Settings
    engines: Engines
    catalogs: CatalogCache
    started: datetime = field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def build(cls, settings: Settings) -> ServerState:
        engines = make_engines(settings)
        return cls(settings=settings, engines=engines, catalogs=CatalogCache(engines.query))

    def close(self) -> None:
        self.engines.dispose()
