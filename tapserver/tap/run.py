"""One TAP query from its parameters to its last byte, the same for sync requests and async jobs.

A :class:`QueryRun` reads the uploads from the sources its caller hands it (multipart parts of a sync
request, the stored files of a job; URLs either way), translates the ADQL, takes a connection of the
query engine, opens the read-only transaction with its time limit, binds the uploads into the query and
streams the encoded result (:mod:`tapserver.tap.results`). It owns the cleanup (the COPY stopped, the
transaction rolled back, the connection returned), the one mapping of database errors to DALI faults
(:func:`~tapserver.dali.dbfaults.fault_from_database`) and the query-log line.

Use: ``first = run.start()`` (everything up to the first chunk: a failure raises a DALI fault before any
byte exists), then iterate the remaining chunks, then ``run.close()`` (also when stopping early; closing
twice is harmless). A sync run writes its query-log line when it ends; an async run leaves the line to
its job runner, which knows the job's outcome (:meth:`QueryLog.write`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

import psycopg
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from tapserver.dali.dbfaults import fault_from_database
from tapserver.dali.tapquery import TapQuery
from tapserver.errors import DALIFault
from tapserver.formats import OutputFormat
from tapserver.observability import query_finished
from tapserver.tap.query import PreparedQuery, QueryService
from tapserver.tap.results import ResultStream, driver_connection, stream_query
from tapserver.uploads import (
    UploadedTable,
    bind_uploads,
    parse_upload_param,
    read_uploads,
    upload_limits,
    upload_tables,
)

#: How often PostgreSQL checks, while running a job's statement, that the worker is still connected
#: (a worker killed mid-query must not leave its statement running until the timeout).
CLIENT_CHECK_MS = 1000

#: Opens a multipart part or stored upload by name (None: there is no such part).
OpenPart = Callable[[str], IO[bytes] | None]
#: Fetches an upload URL within a timeout (None: :func:`tapserver.uploads.fetch_url` within the URL policy).
Fetch = Callable[[str, float], IO[bytes]]


class Cancellation(Protocol):
    """Lets another thread stop a run (an async job's ABORT): :meth:`check` raises once it was
    cancelled; :meth:`attach` hands over the query connection, whose statement it may then cancel."""

    def check(self) -> None: ...

    def attach(self, raw_connection: Any) -> None: ...

    def detach(self) -> None: ...


@dataclass
class QueryLog:
    """What the query log says of one run: its ADQL, when it began, the rows and bytes it wrote."""

    adql: str
    mode: str
    started: float = field(default_factory=time.monotonic)
    rows: int | None = None
    nbytes: int | None = None

    def write(self, status: str, *, job_id: str | None = None, user: str | None = None,
              phase: str | None = None) -> None:
        """One ``tapserver.query`` line and the query metrics (:func:`~tapserver.observability.query_finished`)."""
        query_finished(self.adql, mode=self.mode, status=status, duration_s=time.monotonic() - self.started,
                       rows=self.rows, nbytes=self.nbytes, job_id=job_id, user=user, phase=phase)


class QueryRun(Iterator[bytes]):
    """One query run: uploads, translation, the read-only timed transaction, the result stream, cleanup.

    ``open_part`` and ``fetch`` are the upload sources; ``timeout_s`` the statement timeout; ``sync`` words
    the faults (a sync client stopped by the time limit is told to go async) and makes the run write its
    own query-log line; ``cancellation`` (async jobs) is checked between steps and given the connection;
    ``log`` is the caller's query-log record (default: a new one for ``request.query``).
    """

    def __init__(self, service: QueryService, request: TapQuery, *, open_part: OpenPart, timeout_s: float,
                 sync: bool, fetch: Fetch | None = None, cancellation: Cancellation | None = None,
                 log: QueryLog | None = None) -> None:
        self._steps = _Steps(service, request, open_part, fetch, timeout_s, sync, cancellation,
                             log or QueryLog(request.query, "sync" if sync else "async"))
        # The generator holds the steps, not this object: a run dropped unclosed (a response never sent)
        # is freed, and so cleaned up, at once rather than by the cycle collector.
        self._chunks = self._steps.generate()

    @property
    def log(self) -> QueryLog:
        return self._steps.log

    @property
    def status(self) -> str:
        """``OK``, ``ERROR`` (also until the run ends) or ``ABORTED`` (closed before the end)."""
        return self._steps.status

    @property
    def output(self) -> OutputFormat:
        """The output format (known once :meth:`start` returned)."""
        if self._steps.prepared is None:
            raise RuntimeError("the run has not started")
        return self._steps.prepared.output

    @property
    def rows(self) -> int:
        stream = self._steps.stream
        return stream.rows if stream is not None else 0

    @property
    def error(self) -> DALIFault | None:
        """The fault that ended the result after its first byte (None: none)."""
        stream = self._steps.stream
        return stream.error if stream is not None else None

    def start(self) -> bytes:
        """Run everything up to the first chunk and return it; a DALI fault (or the cancellation's exception)
        if anything fails before the first byte, the run then being closed."""
        return next(self._chunks, b"")

    def __iter__(self) -> QueryRun:
        return self

    def __next__(self) -> bytes:
        return next(self._chunks)

    def close(self) -> None:
        """End the run (early: the client went away or the job stopped): stops the COPY, rolls back, returns
        the connection."""
        self._chunks.close()


@dataclass
class _Steps:
    """What a run does, and what it found out; :meth:`generate` is the run itself."""

    service: QueryService
    request: TapQuery
    open_part: OpenPart
    fetch: Fetch | None
    timeout_s: float
    sync: bool
    cancellation: Cancellation | None
    log: QueryLog
    prepared: PreparedQuery | None = None
    stream: ResultStream | None = None
    status: str = "ERROR"

    def database_fault(self, exc: BaseException) -> DALIFault:
        """The DALI fault for a database error of this run: the one mapping, which knows its time limit and
        mode."""
        return fault_from_database(exc, timeout_s=self.timeout_s, sync=self.sync)

    def generate(self) -> Generator[bytes, None, None]:
        """The chunks of the result; the finally blocks are the cleanup (also of a run dropped unclosed)."""
        try:
            self._check()
            uploads = self._read_uploads()
            self._check()
            self.prepared = self.service.prepare(self.request, upload_tables(uploads))
            yield from self._execute(self.prepared, uploads)
        except GeneratorExit:
            self.status = "ABORTED"
            raise
        finally:
            if self.stream is not None:
                self.log.rows = self.stream.rows
            if self.sync:
                self.log.write(self.status)

    def _execute(self, prepared: PreparedQuery, uploads: list[UploadedTable]) -> Iterator[bytes]:
        try:
            conn = self.service.engine.connect()
        except DBAPIError as exc:
            raise self.database_fault(exc) from None
        try:
            if self.cancellation is not None:
                self.cancellation.attach(driver_connection(conn))
            self._check()
            try:
                self._begin(conn)
                sql = bind_uploads(driver_connection(conn), prepared.translation.sql, uploads)
            except (DBAPIError, psycopg.Error) as exc:
                raise self.database_fault(exc) from None
            self.stream = stream_query(
                conn, sql, prepared.translation.columns, prepared.output, maxrec=prepared.maxrec,
                batch_rows=self.service.settings.batch_rows, info=self.service.info(prepared),
                extra_resources=self.service.extra_resources(prepared), database_fault=self.database_fault)
            self.log.nbytes = 0
            for chunk in self.stream:
                self.log.nbytes += len(chunk)
                yield chunk
            self.status = "ERROR" if self.stream.error is not None else "OK"
        finally:
            try:
                if self.stream is not None:
                    self.stream.close()  # stops a running COPY when the run ends early (no-op at the end)
                conn.rollback()
            finally:
                if self.cancellation is not None:
                    self.cancellation.detach()
                conn.close()

    def _begin(self, conn: Connection) -> None:
        # One round trip for all (no parameters, so psycopg sends them as one simple query). The translated
        # ADQL holds standard string literals: standard_conforming_strings must be on whatever the defaults.
        settings = ["SET TRANSACTION READ ONLY",
                    f"SET LOCAL statement_timeout = {max(1, int(self.timeout_s * 1000))}",
                    "SET LOCAL standard_conforming_strings = on"]
        if not self.sync:  # a job's statement stops when its worker dies
            settings.append(f"SET LOCAL client_connection_check_interval = {CLIENT_CHECK_MS}")
        conn.exec_driver_sql("; ".join(settings))

    def _read_uploads(self) -> list[UploadedTable]:
        refs = parse_upload_param(self.request.uploads)
        if not refs:
            return []
        return read_uploads(refs, self.open_part, upload_limits(self.service.settings), fetch=self.fetch)

    def _check(self) -> None:
        if self.cancellation is not None:
            self.cancellation.check()
