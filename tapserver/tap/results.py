"""Run a translated query and stream its result in an output format: the query-to-bytes pipeline.

The query runs as ``COPY (SELECT <encoders> FROM (<sql>) AS q(c0, ...) LIMIT maxrec+1) TO STDOUT``:
PostgreSQL encodes every cell (see :mod:`tapserver.votable.sqlenc`) and streams rows while Python
frames them in batches, so throughput stays close to the database's own COPY and memory is bounded
by one batch whatever the row count.

Errors: the first ``next()`` on the stream describes the query, starts the COPY and reads the first
batch, so anything that fails early (bad SQL, timeout, a division by zero in the first rows) raises a
:class:`~tapserver.errors.DALIFault` before a single byte exists: call ``next()`` once before sending
the status line. A failure after the first byte ends a VOTable properly (the table is closed and a
post-table ``INFO QUERY_STATUS=ERROR`` carries the message); CSV, TSV and Parquet cannot say so, so
the stream raises the fault after the bytes already sent: the HTTP layer lets it propagate so the
response is cut short (no final chunk, the client sees a truncated transfer, and a Parquet file has no
footer); FITS is only written once the whole result is in, so its errors always come before the first
byte. :attr:`ResultStream.error` records the fault either way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from typing import Any

import numpy as np
import psycopg
from psycopg import errors as pgerrors

from tapserver.dali.dbfaults import fault_from_database
from tapserver.errors import DALIFault, FatalFault, UsageFault
from tapserver.formats.registry import OutputFormat
from tapserver.votable.base import TableWriter, WriteContext
from tapserver.votable.fields import ResultColumn
from tapserver.votable.sqlenc import (
    TYPE_LOOKUP_SQL,
    PgType,
    builtin_type,
    make_cells,
    types_from_rows,
)

log = logging.getLogger(__name__)

#: A batch is handed to the writer after this many bytes even if batch_rows is not reached.
MAX_BATCH_BYTES = 4 * 1024 * 1024
#: Rows of the first batch (at most): the head of the document leaves with it.
FIRST_BATCH_ROWS = 500

# SET LOCAL, not set_config(): the reader role has no EXECUTE on set_config (tapserver.migrate). No JIT: on a
# large table PostgreSQL would compile the expressions before the first row (0.2-0.3 s of first byte at 1M rows).
_SESSION_SQL = ("SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL extra_float_digits = 1; "
                "SET LOCAL client_encoding = 'UTF8'; SET LOCAL jit = off")
_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"


class ResultStream(Iterator[bytes]):
    """The encoded result, chunk by chunk (each chunk one batch, typically 64 kB to a few MB).

    After iteration: :attr:`rows` rows were written, :attr:`overflow` tells whether rows were cut at
    MAXREC, :attr:`error` holds the fault of a failed stream (None on success).
    """

    def __init__(self, conn: Any, sql: str, columns: Sequence[ResultColumn], fmt: OutputFormat, *,
                 maxrec: int | None, batch_rows: int, info: Mapping[str, str],
                 extra_resources: Sequence[bytes],
                 database_fault: Callable[[BaseException], DALIFault] = fault_from_database) -> None:
        if maxrec is not None and maxrec < 0:
            raise UsageFault("MAXREC must not be negative")
        if batch_rows <= 0:
            raise ValueError("batch_rows must be positive")
        self.format = fmt
        self.media_type = fmt.content_type
        self.rows = 0
        self.overflow = False
        self.error: DALIFault | None = None
        self.started = False
        self._conn = conn
        self._sql = sql.strip().rstrip(";").strip()
        self._columns = tuple(columns)
        self._maxrec = maxrec
        self._batch_rows = batch_rows
        self._database_fault = database_fault
        self._context = WriteContext(self._columns, dict(info), tuple(extra_resources))
        self._gen = self._generate()

    def __iter__(self) -> ResultStream:
        return self

    def __next__(self) -> bytes:
        return next(self._gen)

    def close(self) -> None:
        """Stop early (client gone): cancels the running COPY and releases the writer."""
        self._gen.close()

    # -- pipeline -----------------------------------------------------------------------------------

    def _generate(self) -> Generator[bytes, None, None]:
        writer: TableWriter | None = None
        try:
            writer = self.format.make_writer(self._context)
            yield from self._run(writer)
        except DALIFault as fault:
            self.error = fault
            if self.started and writer is not None and writer.reports_errors:
                log.warning("query failed after the first byte: %s", fault.message)
                closing = writer.abort(fault.message)
                if closing:
                    yield closing
                return
            raise
        finally:
            if writer is not None:
                writer.close()

    def _run(self, writer: TableWriter) -> Iterator[bytes]:
        try:
            raw = driver_connection(self._conn)
            # the SET LOCALs and the COPY need one transaction: open one if the caller has none
            with raw.transaction() if raw.autocommit else nullcontext():
                cells_sql = self._prepare(raw, writer)
                if self._maxrec == 0:  # metadata only (DALI): the query is described, never run
                    self.overflow = True
                    yield from self._emit_all([writer.head()], writer.tail(True))
                    return
                with raw.cursor() as cur, cur.copy(cells_sql) as copy:
                    pending = [writer.head()]
                    whole_rows = writer.copy_format == "rows"
                    for payload, starts in self._batches(copy, writer.copy_format):
                        n = len(starts)
                        self.rows += n
                        body = writer.body_rows(payload, starts) if whole_rows else writer.body(payload, n)
                        yield from self._emit([*pending, *body])
                        pending = []
                yield from self._emit_all(pending, writer.tail(self.overflow))
        except psycopg.Error as exc:
            raise self._database_fault(exc) from exc
        except DALIFault:
            raise
        except Exception as exc:  # a bug in a writer: report it as our fault, in the document if we can
            log.exception("writing the result failed")
            raise FatalFault(f"internal error while writing the result: {exc}") from exc

    def _emit_all(self, pending: list[bytes], parts: Iterable[bytes]) -> Iterator[bytes]:
        """Emit pending bytes with the first part, then each part as it comes (FITS streams its tail)."""
        iterator = iter(parts)
        yield from self._emit([*pending, next(iterator, b"")])
        for part in iterator:
            yield from self._emit([part])

    def _emit(self, parts: list[bytes]) -> Iterator[bytes]:
        chunk = b"".join(parts)
        if chunk:
            self.started = True
            yield chunk

    def _prepare(self, raw: psycopg.Connection[Any], writer: TableWriter) -> str:
        """Fix the session's output settings, describe the query and build the COPY statement."""
        with raw.cursor() as cur:
            cur.execute(_SESSION_SQL)
            cur.execute(f"SELECT * FROM ({self._sql}) AS q LIMIT 0")
            description = cur.description or []
            oids = [d.type_code for d in description]
            types = {oid: t for oid in oids if (t := builtin_type(oid)) is not None}
            missing = sorted(set(oids) - set(types))
            if missing:
                cur.execute(TYPE_LOOKUP_SQL, (missing,))
                types.update(types_from_rows(cur.fetchall()))
        pg_types: list[PgType] = [types[oid] for oid in oids]
        refs = [f"q.c{i}" for i in range(len(pg_types))]
        cells = make_cells(refs, pg_types, self._columns)
        select = ", ".join(writer.select_list(cells)) or "NULL"
        aliases = ", ".join(f"c{i}" for i in range(len(pg_types)))
        limit = f" LIMIT {self._maxrec + 1}" if self._maxrec is not None else ""
        options = {"binary": "FORMAT binary", "rows": "FORMAT binary", "csv": "FORMAT csv",
                   "text": "FORMAT text, NULL ''"}
        source = f"({self._sql}) AS q({aliases})" if aliases else f"({self._sql}) AS q"
        return f"COPY (SELECT {select} FROM {source}{limit}) TO STDOUT ({options[writer.copy_format]})"

    def _batches(self, copy: psycopg.Copy, copy_format: str) -> Iterator[tuple[bytes, np.ndarray]]:
        """Rows of the COPY in batches of (concatenated payload, row start offsets); drops the row past
        MAXREC.

        PostgreSQL sends one CopyData message per row (the binary header rides on the first, the
        trailer comes alone), so framing is handled per message without parsing the payload: ``binary``
        keeps the one value of each row (its field count and length stripped), ``rows`` keeps the rows
        whole. The first batch is small (:data:`FIRST_BATCH_ROWS`) so that the first bytes leave early.
        """
        limit = -1 if self._maxrec is None else self._maxrec
        batch_rows, max_bytes = min(self._batch_rows, FIRST_BATCH_ROWS), MAX_BATCH_BYTES
        buf = bytearray()
        starts: list[int] = []
        total = 0
        binary = copy_format in ("binary", "rows")
        skip = 6 if copy_format == "binary" else 0
        first = binary
        for data in _messages(copy):
            if first:
                data = _strip_copy_header(data, one_value=bool(skip))
                first = False
                if not data:
                    continue
            if binary and len(data) == 2:  # trailer: int16 -1
                continue
            if total == limit:
                self.overflow = True
                continue
            starts.append(len(buf))
            buf += data[skip:]
            total += 1
            if len(starts) >= batch_rows or len(buf) >= max_bytes:
                yield bytes(buf), np.array(starts, dtype=np.int64)
                buf = bytearray()
                starts = []
                batch_rows = self._batch_rows
        if starts:
            yield bytes(buf), np.array(starts, dtype=np.int64)


def _messages(copy: psycopg.Copy) -> Iterator[bytes | bytearray | memoryview]:
    """The CopyData messages of a COPY TO, one per row: those libpq already holds are taken without
    psycopg's per-message wait machinery; when none is ready psycopg waits for the next (and collects
    the final result of the COPY)."""
    pgconn = copy.connection.pgconn
    while True:
        nbytes, data = pgconn.get_copy_data(1)  # non-blocking
        if nbytes > 0:
            yield data
            continue
        if nbytes < 0:  # the COPY ended: its result (or error) comes next
            _finish_copy(copy)
            return
        waited = copy.read()  # nothing buffered: wait for the next message
        if not waited:
            return
        yield waited


def _finish_copy(copy: psycopg.Copy) -> None:
    """Collect the results of a COPY whose end libpq has already read (as psycopg does on its own path)."""
    pgconn = copy.connection.pgconn
    results = []
    while (result := pgconn.get_result()) is not None:
        results.append(result)
    copy._finished = True
    for result in results:
        if result.status != psycopg.pq.ExecStatus.COMMAND_OK:
            raise pgerrors.error_from_result(result, encoding=copy.connection.info.encoding)


def _strip_copy_header(data: bytes | bytearray | memoryview, *, one_value: bool) -> memoryview:
    data = memoryview(data)
    if bytes(data[:11]) != _COPY_SIGNATURE:
        raise FatalFault("unexpected binary COPY header")
    extension = int.from_bytes(data[15:19], "big")
    rest = data[19 + extension:]
    if one_value and len(rest) >= 6 and bytes(rest[:2]) != b"\x00\x01":
        raise FatalFault("unexpected binary COPY row framing")
    return rest


def driver_connection(conn: Any) -> psycopg.Connection[Any]:
    """The psycopg 3 connection behind a SQLAlchemy Connection (or the connection itself)."""
    if isinstance(conn, psycopg.Connection):
        return conn
    proxied = getattr(conn, "connection", None)
    driver = getattr(proxied, "driver_connection", None)
    if isinstance(driver, psycopg.Connection):
        return driver
    raise TypeError(f"need a psycopg 3 or SQLAlchemy (psycopg) connection, got {type(conn).__name__}")


def stream_query(
    conn: Any,
    sql: str,
    columns: Sequence[ResultColumn],
    fmt: OutputFormat,
    *,
    maxrec: int | None,
    batch_rows: int,
    info: Mapping[str, str] | None = None,
    extra_resources: Sequence[bytes] = (),
    database_fault: Callable[[BaseException], DALIFault] = fault_from_database,
) -> ResultStream:
    """Run ``sql`` (the translated ADQL; its columns described by ``columns``) on ``conn`` and stream
    the result in ``fmt``.

    ``conn``: a SQLAlchemy Connection on psycopg 3, or a psycopg Connection, inside the caller's
    (read-only, statement_timeout) transaction; settings are changed with SET LOCAL only.
    ``maxrec``: rows to emit at most (None: all); one more row is fetched to mark OVERFLOW exactly;
    0 gives the metadata only with OVERFLOW. ``info``: extra INFO elements (name -> value) after
    QUERY_STATUS. ``extra_resources``: raw XML RESOURCE elements appended after the results (DataLink
    service descriptors). ``database_fault`` maps a database error to the fault the client sees (the run's
    own mapping, which knows its time limit and mode). See the module docstring for how errors surface.
    """
    return ResultStream(conn, sql, columns, fmt, maxrec=maxrec, batch_rows=batch_rows, info=info or {},
                        extra_resources=extra_resources, database_fault=database_fault)
