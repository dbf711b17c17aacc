"""Operations: Prometheus metrics at /metrics, request ids, structured (JSON) logs and the query log.

* :class:`ObservabilityMiddleware` (pure ASGI) gives every request an id (a sane incoming ``X-Request-ID``
  is kept, otherwise a new one is made), echoes it in the response, counts requests by route template and
  status, times them, counts the bytes sent and writes one ``tapserver.access`` log line.
* :func:`query_finished` is called by the query service when a sync query ends and by the job runner
  when an async job's query ends (in the process that ran it: a standalone ``tapserver worker`` counts
  its jobs in its own registry): it writes the ``tapserver.query`` log line (ADQL, duration, rows,
  status; job id and owner for jobs) and updates the query metrics.
* ``GET /metrics`` renders the process metrics plus gauges computed at scrape time from the server state:
  jobs by phase (from ``uws.job``, cached a few seconds) and database pool usage.
* :func:`configure_logging` installs a text or JSON formatter (``TAPSERVER_LOG_FORMAT``) on the
  ``tapserver`` logger, and :class:`ControlCharacterFilter` there and on uvicorn's handlers: control
  characters from requests are escaped in every line (access, audit, query and application logs).

With several uvicorn worker processes each process keeps its own counters (scrape each, or run one
process per container); the job gauges come from the database and are the same everywhere.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from sqlalchemy import Connection
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tapserver.controlchars import escape_controls, escape_controls_but_newlines, has_controls

if TYPE_CHECKING:
    from fastapi import FastAPI

    from tapserver.config import Settings

query_log = logging.getLogger("tapserver.query")
access_log = logging.getLogger("tapserver.access")
log = logging.getLogger("tapserver.observability")

#: The id of the request being served (also in every log record, see :class:`RequestIdFilter`).
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("tapserver_request_id", default="-")

REQUEST_ID_HEADER = b"x-request-id"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
UNMATCHED = "<unmatched>"
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
JOBS_CACHE_SECONDS = 10.0

#: Reads the number of UWS jobs in each phase on a connection of the owner role.
JobCounter = Callable[[Connection], dict[str, int]]

# One registry for the process (not prometheus_client's global one, so tests can build many apps).
REGISTRY = CollectorRegistry(auto_describe=True)
HTTP_REQUESTS = Counter("tapserver_http_requests", "HTTP requests served, by route template and status",
                        ["method", "endpoint", "status"], registry=REGISTRY)
HTTP_DURATION = Histogram("tapserver_http_request_duration_seconds",
                          "Time to serve a request (until the last body byte), by route template",
                          ["method", "endpoint"], registry=REGISTRY,
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300))
HTTP_BYTES = Counter("tapserver_http_response_bytes", "Response body bytes sent, by route template",
                     ["endpoint"], registry=REGISTRY)
QUERIES = Counter("tapserver_queries", "TAP queries run, by mode (sync/async) and final status",
                  ["mode", "status"], registry=REGISTRY)
QUERY_DURATION = Histogram("tapserver_query_duration_seconds", "Time from the start of a query to its last row",
                           ["mode"], registry=REGISTRY,
                           buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600))
QUERY_ROWS = Counter("tapserver_query_rows", "Result rows written by TAP queries", ["mode"], registry=REGISTRY)
QUERY_BYTES = Counter("tapserver_query_bytes", "Encoded result bytes written by TAP queries", ["mode"],
                      registry=REGISTRY)


def sane_request_id(value: bytes | None) -> str:
    """The incoming id when it is short and plain ASCII, otherwise a fresh one."""
    if value:
        try:
            candidate = value.decode("ascii")
        except UnicodeDecodeError:
            candidate = ""
        if _SANE_ID.match(candidate):
            return candidate
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    """The path template of the route that served ``scope`` (``/tap/async/{job_id}``), never the raw path,
    so metric labels stay few. :class:`RouteProbe` records it in ``scope["state"]`` (shared by the shallow
    scope copies middleware make); requests no route served share one label."""
    state = scope.get("state")
    found = state.get(_ROUTE_KEY) if isinstance(state, dict) else None
    return found if isinstance(found, str) else UNMATCHED


_ROUTE_KEY = "tapserver_route_template"


class RouteProbe:
    """Innermost middleware: after the router ran, note the template of the route it chose."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or getattr(route, "path_format", None)
            state = scope.get("state")
            if isinstance(path, str) and isinstance(state, dict):
                state[_ROUTE_KEY] = path


class ObservabilityMiddleware:
    """Request id, access log and HTTP metrics for every HTTP request. Add it last (outermost)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = sane_request_id(dict(scope.get("headers", [])).get(REQUEST_ID_HEADER))
        token = request_id.set(rid)
        scope = dict(scope)
        scope["state"] = dict(scope.get("state") or {})  # our own, shared with the copies made further in
        scope["state"]["request_id"] = rid
        started = time.perf_counter()
        status = 500
        sent = 0

        async def observed_send(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != REQUEST_ID_HEADER]
                headers.append((REQUEST_ID_HEADER, rid.encode("ascii")))
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            elapsed = time.perf_counter() - started
            endpoint = route_template(scope)
            method = scope.get("method", "GET")
            if endpoint != "/metrics":
                HTTP_REQUESTS.labels(method, endpoint, str(status)).inc()
                HTTP_DURATION.labels(method, endpoint).observe(elapsed)
                HTTP_BYTES.labels(endpoint).inc(sent)
            access_log.info(
                "%s %s %d %.1f ms %d bytes", method, scope.get("path", ""), status, elapsed * 1000, sent,
                extra={"method": method, "path": scope.get("path", ""), "endpoint": endpoint, "status": status,
                       "duration_ms": round(elapsed * 1000, 3), "bytes": sent},
            )
            request_id.reset(token)


def query_finished(adql: str, *, mode: str, status: str, duration_s: float, rows: int | None,
                   nbytes: int | None = None, job_id: str | None = None, user: str | None = None,
                   phase: str | None = None) -> None:
    """Record one finished query: a ``tapserver.query`` log line and the query metrics.

    ``status`` is ``OK``, ``ERROR`` or ``ABORTED`` (the client went away, or the job was aborted or
    deleted, before the end). Async jobs also give their ``job_id``, owner (``user``, None when
    anonymous) and final UWS ``phase``; those appear in the line only when given.
    """
    QUERIES.labels(mode, status).inc()
    QUERY_DURATION.labels(mode).observe(duration_s)
    if rows:
        QUERY_ROWS.labels(mode).inc(rows)
    if nbytes:
        QUERY_BYTES.labels(mode).inc(nbytes)
    extra: dict[str, Any] = {"adql": adql, "mode": mode, "status": status,
                             "duration_ms": round(duration_s * 1000, 3), "rows": rows, "bytes": nbytes}
    job = ""
    if job_id is not None:
        extra.update(job_id=job_id, user=user, phase=phase)
        job = f" [job {job_id}, user {user or '-'}]"
    query_log.info(
        "%s query %s in %.1f ms, %s rows%s: %s", mode, status, duration_s * 1000,
        "?" if rows is None else rows, job, " ".join(adql.split())[:2000], extra=extra,
    )


def serve_worker_metrics(settings: Settings) -> Callable[[], None] | None:
    """For a standalone ``tapserver worker``: serve this process's metrics (the query counters of the jobs
    it runs) at ``http://{worker_metrics_host}:{worker_metrics_port}/metrics``. Returns the function
    that stops the server, or None when no port is configured."""
    if settings.worker_metrics_port is None:
        return None
    from prometheus_client import start_http_server

    from tapserver.errors import SetupError

    try:
        server, thread = start_http_server(settings.worker_metrics_port, settings.worker_metrics_host,
                                           registry=REGISTRY)
    except OSError as exc:
        raise SetupError(f"cannot serve the worker metrics on {settings.worker_metrics_host}:"
                         f"{settings.worker_metrics_port}: {exc.strerror or exc}") from None
    log.info("worker metrics at http://%s:%d/metrics", settings.worker_metrics_host, settings.worker_metrics_port)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5.0)

    return stop


# -- logging --------------------------------------------------------------------------------------------

_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {"message", "asctime"}


class ControlCharacterFilter(logging.Filter):
    """Escape control characters in every record that reaches a handler, so that no request can forge or
    split a log line: the message, its arguments and ``extra`` strings get ``\\n``/``\\x00`` escapes;
    a traceback keeps its line breaks, but every line after the first is indented (and escaped) so that
    none can pass for a record of its own. Records are changed in place, once."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, _ESCAPED, False):
            return True
        record.msg = _escaped(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_escaped(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _escaped(arg) for key, arg in record.args.items()}
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, key, escape_controls(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = _indented(record.exc_text)
        if record.stack_info:
            record.stack_info = _indented(record.stack_info)
        setattr(record, _ESCAPED, True)
        return True


_ESCAPED = "_tapserver_escaped"


def _escaped(value: Any) -> Any:
    """A log argument with its control characters escaped (numbers and clean objects untouched)."""
    if value is None or isinstance(value, (int, float)):
        return value
    text = value if isinstance(value, str) else str(value)
    return escape_controls(text) if has_controls(text) else value


def _indented(text: str) -> str:
    return escape_controls_but_newlines(text).replace("\n", "\n    ")


class RequestIdFilter(logging.Filter):
    """Put the current request id on every record (``%(request_id)s``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", request_id.get()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and key not in entry and key != _ESCAPED:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
_HANDLER_MARK = "_tapserver_observability"


def configure_logging(log_format: str, *, stream: Any = None) -> logging.Handler:
    """Send the ``tapserver`` loggers (INFO and up) to stderr in ``text`` or ``json`` format; idempotent
    (a second call replaces the handler). In ``json`` mode uvicorn's own loggers use the formatter too."""
    logger = logging.getLogger("tapserver")
    for old in [h for h in logger.handlers if getattr(h, _HANDLER_MARK, False)]:
        logger.removeHandler(old)
    handler = logging.StreamHandler(stream or sys.stderr)
    setattr(handler, _HANDLER_MARK, True)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(ControlCharacterFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > logging.INFO:
        logger.setLevel(logging.INFO)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        for h in logging.getLogger(name).handlers:
            if not any(isinstance(f, ControlCharacterFilter) for f in h.filters):
                h.addFilter(ControlCharacterFilter())
            if log_format == "json":
                h.addFilter(RequestIdFilter())
                h.setFormatter(JsonFormatter())
    return handler


def install(app: FastAPI, settings: Settings) -> None:
    """Configure logging and add the middleware (call after the other middleware: it must be outermost)."""
    configure_logging(settings.log_format)
    app.user_middleware.append(Middleware(RouteProbe))  # innermost: sees the router's scope
    app.add_middleware(ObservabilityMiddleware)  # outermost
