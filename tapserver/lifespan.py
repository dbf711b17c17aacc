"""What the app lifespan starts besides the factory: the UWS phase listener and embedded job slots."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread

from tapserver.factory import Factory


@asynccontextmanager
async def running(factory: Factory) -> AsyncIterator[None]:
    """Serve /tap/async for the block: the factory's phase listener runs (WAIT); with
    ``Settings.workers`` > 0 that many job slots run in this process (one-command deployment)."""
    workers = factory.settings.workers
    await factory.events.start()
    worker = factory.create_worker(workers) if workers > 0 else None
    if worker is not None:
        worker.start()
    try:
        yield
    finally:
        if worker is not None:
            await to_thread.run_sync(worker.stop)
        await factory.events.stop()
