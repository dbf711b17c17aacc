"""``/metrics``: the process's Prometheus metrics (:mod:`tapserver.observability`) and, read at scrape time
from the running server, the database pool usage and the UWS jobs by phase."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from tapserver.db import Engines, limit_transaction
from tapserver.observability import JOBS_CACHE_SECONDS, METRICS_CONTENT_TYPE, REGISTRY
from tapserver.uws.store import jobs_by_phase

log = logging.getLogger("tapserver.observability")


class _StateCollector(Collector):
    """Gauges read from a running server at scrape time: jobs by phase (cached) and pool usage."""

    _lock = threading.Lock()

    def __init__(self, engines: Engines, cache: dict[str, Any]) -> None:
        self.engines = engines
        self.cache = cache

    def collect(self) -> Iterable[Metric]:
        pool = GaugeMetricFamily("tapserver_db_pool_connections",
                                 "Database pool connections of this process, by engine and state",
                                 labels=["engine", "state"])
        for name, engine in (("admin", self.engines.admin), ("query", self.engines.query)):
            for key, value in _pool_usage(engine).items():
                pool.add_metric([name, key], value)
        yield pool
        jobs = GaugeMetricFamily("tapserver_jobs", "UWS jobs by phase (from uws.job, cached "
                                 f"{JOBS_CACHE_SECONDS:g} s)", labels=["phase"])
        for phase, count in sorted(self._jobs().items()):
            jobs.add_metric([phase], count)
        yield jobs

    def _jobs(self) -> dict[str, int]:
        with self._lock:
            now = time.monotonic()
            if now - self.cache.get("at", -1e9) > JOBS_CACHE_SECONDS:
                try:
                    with self.engines.admin.connect() as conn:
                        limit_transaction(conn, timeout_s=2.0)
                        self.cache["jobs"] = jobs_by_phase(conn)
                except Exception as exc:  # database down: keep the last known counts
                    log.warning("cannot count jobs for /metrics: %s", str(exc).splitlines()[0] if str(exc) else exc)
                self.cache["at"] = now
            jobs: dict[str, int] = self.cache.get("jobs", {})
            return jobs


def _pool_usage(engine: Engine) -> dict[str, float]:
    pool: Any = engine.pool
    usage: dict[str, float] = {}
    for key, attr in (("size", "size"), ("checked_out", "checkedout"), ("idle", "checkedin"),
                      ("overflow", "overflow")):
        method = getattr(pool, attr, None)
        if callable(method):
            try:
                usage[key] = max(0.0, float(method()))  # QueuePool.overflow() starts at -size
            except Exception:
                continue
    return usage


router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    factory = getattr(request.app.state, "factory", None)  # the metrics of the process are served without it

    def render() -> bytes:
        body = generate_latest(REGISTRY)
        if factory is not None:
            scrape = CollectorRegistry(auto_describe=False)
            cache = request.app.state.__dict__.setdefault("_state_metrics_cache", {})
            scrape.register(_StateCollector(factory.engines, cache))
            body += generate_latest(scrape)
        return body

    return Response(await run_in_threadpool(render), media_type=METRICS_CONTENT_TYPE)
