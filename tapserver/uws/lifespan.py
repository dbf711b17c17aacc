"""What the app lifespan starts for UWS: the phase listener, the job service and embedded workers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI

from tapserver.state import ServerState
from tapserver.uws.events import PhaseEvents
from tapserver.uws.results import FileResultsStore
from tapserver.uws.service import JobService
from tapserver.uws.store import JobStore
from tapserver.uws.worker import build_worker, libpq_conninfo


@asynccontextmanager
async def running(app: FastAPI, state: ServerState) -> AsyncIterator[None]:
    """Serve /tap/async for the block: ``app.state.uws`` is the JobService; with ``Settings.workers``
    > 0 that many job slots run in this process (one-command deployment)."""
    settings = state.settings
    events = PhaseEvents(libpq_conninfo(settings))
    await events.start()
    app.state.uws = JobService(settings, JobStore(state.engines.admin), FileResultsStore(settings.data_dir), events)
    worker = build_worker(settings, state.engines, settings.workers, state.catalogs) if settings.workers > 0 else None
    if worker is not None:
        worker.start()
    try:
        yield
    finally:
        if worker is not None:
            await to_thread.run_sync(worker.stop)
        await events.stop()
