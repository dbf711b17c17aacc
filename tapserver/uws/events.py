"""Phase-change events for WAIT: one LISTEN connection per server process, fanned out to waiters.

The ``uws.job`` trigger NOTIFYs ``uws_phase`` with ``"<job_id> <PHASE>"`` on every phase change (and
``"<job_id> DELETED"``). A blocked ``GET /async/{id}?WAIT=n`` subscribes to its job id and sleeps on
an asyncio event; nothing polls. When the listener loses its connection it wakes every waiter (they
re-read the job, since changes may have been missed) and reconnects with back-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

from tapserver.uws.store import phase_listener

log = logging.getLogger("tapserver.uws.events")


class PhaseEvents:
    """Subscriptions to phase changes of single jobs, fed by LISTEN ``uws_phase``."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self._tried = asyncio.Event()  # the first connection attempt has ended (connected or failed)

    async def start(self, wait_connected: float = 5.0) -> None:
        """Start listening (in the running event loop); waits a little for the first connection attempt, not
        for the reconnections after a failed one (the database is down: nothing to wait for)."""
        self._task = asyncio.create_task(self._run(), name="uws-phase-events")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._tried.wait(), wait_connected)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        self._wake_all()

    @contextlib.contextmanager
    def subscribe(self, job_id: str) -> Iterator[asyncio.Event]:
        """An event set at the next phase change of the job (or when changes may have been missed)."""
        event = asyncio.Event()
        self._waiters.setdefault(job_id, set()).add(event)
        try:
            yield event
        finally:
            waiters = self._waiters.get(job_id)
            if waiters is not None:
                waiters.discard(event)
                if not waiters:
                    del self._waiters[job_id]

    def waiting(self) -> int:
        return sum(len(w) for w in self._waiters.values())

    def _wake_all(self) -> None:
        for waiters in self._waiters.values():
            for event in waiters:
                event.set()

    def dispatch(self, payload: str) -> None:
        job_id = payload.partition(" ")[0]
        for event in self._waiters.get(job_id, ()):
            event.set()

    async def _run(self) -> None:
        backoff = 0.5
        while True:
            try:
                conn = await phase_listener(self._conninfo)
                async with conn:
                    self.connected.set()
                    self._tried.set()
                    self._wake_all()  # changes may have happened while we were not listening
                    backoff = 0.5
                    async for notify in conn.notifies():
                        self.dispatch(notify.payload)
            except asyncio.CancelledError:
                self.connected.clear()
                raise
            except Exception as exc:
                self._tried.set()
                log.warning("phase listener disconnected (%s); reconnecting in %.1f s", exc, backoff)
            self.connected.clear()
            self._wake_all()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10.0)
