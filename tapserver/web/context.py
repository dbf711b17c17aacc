"""What the pages keep between requests (caches); one per process, owned by the factory."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import Engine

from tapserver.web import stats, storage
from tapserver.web.coverage import Coverage, CoverageCache


@dataclass
class WebContext:
    archive: stats.TimedCache[stats.Archive]
    coverage: CoverageCache
    _sky_lock: threading.Lock = field(default_factory=threading.Lock)
    _sky: tuple[str, str] | None = None

    @classmethod
    def build(cls, engine: Engine) -> WebContext:
        """The caches, empty: they read the archive through ``engine`` (the query engine) when asked."""
        return cls(archive=stats.archive_cache(partial(storage.archive, engine)), coverage=CoverageCache(engine))

    def sky_svg(self, coverage: Coverage, targets: tuple[stats.Target, ...]) -> str:
        """The landing page's sky map, drawn again only when the coverage or the targets change."""
        from tapserver.web.sky import Marker, SkyFrame, render_sky_map

        key = coverage.fingerprint + "|" + "|".join(f"{t.name}:{t.ra:.3f}:{t.dec:.3f}" for t in targets)
        with self._sky_lock:
            if self._sky is not None and self._sky[0] == key:
                return self._sky[1]
        description = (f"{coverage.footprints} fields of view covering {coverage.sky_fraction * 100:.3g} % of "
                       "the sky" if coverage.footprints else "No field of view yet")
        if targets:
            description += "; most observed targets: " + ", ".join(t.name for t in targets[:6])
        svg = render_sky_map(SkyFrame(), coverage.cells(), title="Sky coverage of the archive",
                             description=description,
                             markers=[Marker(t.ra, t.dec, t.name) for t in targets[:6]])
        with self._sky_lock:
            self._sky = (key, svg)
        return svg


log = logging.getLogger(__name__)


def warm_up(context: WebContext) -> None:
    """Import mocpy and fill the caches, so that the first visitor does not wait for them."""
    try:
        archive = context.archive.get()
        context.sky_svg(context.coverage.get(), archive.targets)
    except Exception as exc:  # an empty or unreachable database: the pages say so when asked
        log.debug("web: warm-up skipped: %s", exc)


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """Runs inside the application's lifespan (after the factory exists): warm up in the background unless
    ``Settings.web_warm_up`` is off."""
    factory = getattr(app.state, "factory", None)
    if factory is not None and factory.settings.web_warm_up:
        threading.Thread(target=warm_up, args=(factory.web,), name="tapserver-web-warm-up", daemon=True).start()
    yield
