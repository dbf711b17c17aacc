"""The query service shared by sync requests and async jobs: ADQL in, a stream of encoded bytes out.

It never sees HTTP. Errors before the first byte are raised as DALI faults; errors after it are written
into the document by the writers (trailing QUERY_STATUS=ERROR).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from tapserver import __version__
from tapserver.adql import Translation, translate
from tapserver.catalog.cache import CatalogCache
from tapserver.catalog.model import Table
from tapserver.config import Settings
from tapserver.dali.tapquery import TapQuery
from tapserver.datalink.descriptors import service_descriptor
from tapserver.formats import OutputFormat, find_format
from tapserver.observability import query_finished
from tapserver.tap.dbfaults import fault_from_database
from tapserver.tap.results import ResultStream, driver_connection, stream_query
from tapserver.uploads import UploadedTable, bind_uploads

log = logging.getLogger("tapserver.query")


@dataclass(frozen=True)
class PreparedQuery:
    """A translated query with its output format and effective MAXREC."""

    request: TapQuery
    translation: Translation
    output: OutputFormat
    maxrec: int


class QueryService:
    """Translate and run TAP queries as the read-only role, streaming the result."""

    def __init__(self, settings: Settings, engine: Engine, catalogs: CatalogCache) -> None:
        self.settings = settings
        self.engine = engine
        self.catalogs = catalogs

    def effective_maxrec(self, requested: int | None) -> int:
        """MAXREC as applied: the default when none is given, never above the hard limit."""
        if requested is None:
            return self.settings.default_maxrec
        return min(requested, self.settings.hard_maxrec)

    def prepare(self, request: TapQuery, uploads: Mapping[str, Table] | None = None) -> PreparedQuery:
        """Check the format and translate the ADQL (UsageFault on any problem); ``uploads`` are the
        TAP_UPLOAD tables (tapserver.uploads.upload_tables)."""
        output = find_format(request.response_format or "votable")
        maxrec = self.effective_maxrec(request.maxrec)
        translation = translate(request.query, self.catalogs.get(), maxrec=maxrec, uploads=uploads,
                                base_url=self.settings.base_url)
        return PreparedQuery(request=request, translation=translation, output=output, maxrec=maxrec)

    def info(self, prepared: PreparedQuery) -> dict[str, str]:
        """INFO elements written before the table (the query echo helps users and federating archives)."""
        return {
            "standardID": "ivo://ivoa.net/std/TAP",
            "QUERY": prepared.request.query,
            "request_date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "server_software": f"tapserver {__version__}",
            **({"RUNID": prepared.request.runid} if prepared.request.runid else {}),
        }

    def stream(self, prepared: PreparedQuery, *, timeout_s: float, sync: bool = True,
               extra_info: Mapping[str, str] | None = None,
               uploads: Sequence[UploadedTable] = ()) -> Generator[bytes, None, None]:
        """Run the query in a read-only transaction with a statement timeout and yield encoded chunks.

        The first ``next()`` executes the query: a failure there raises a DALI fault. Closing the
        iterator early (client gone) rolls the transaction back and returns the connection.
        """
        # --- query log and metrics (tapserver.observability) ---
        started, status, nbytes = time.monotonic(), "ERROR", 0
        chunks: ResultStream | None = None
        try:
            try:
                conn = self.engine.connect()
            except DBAPIError as exc:
                raise fault_from_database(exc, timeout_s=timeout_s, sync=sync) from None
            try:
                try:
                    chunks = self.execute(conn, prepared, timeout_s=timeout_s, extra_info=extra_info,
                                          uploads=uploads, sync=sync)
                    first = next(chunks)
                except StopIteration:
                    status = "OK"
                    return
                except (DBAPIError, psycopg.Error) as exc:
                    raise fault_from_database(exc, timeout_s=timeout_s, sync=sync) from None
                nbytes += len(first)
                yield first
                for chunk in chunks:
                    nbytes += len(chunk)
                    yield chunk
                status = "ERROR" if chunks.error is not None else "OK"  # an error after the first byte
            finally:
                try:
                    if chunks is not None:
                        chunks.close()  # stops a running COPY when the client went away (no-op at the end)
                    conn.rollback()
                finally:
                    conn.close()
        except GeneratorExit:
            status = "ABORTED"
            raise
        finally:
            query_finished(prepared.request.query, mode="sync" if sync else "async", status=status,
                           duration_s=time.monotonic() - started, rows=chunks.rows if chunks else None,
                           nbytes=nbytes)
        # --- end query log ---

    def execute(self, conn: Connection, prepared: PreparedQuery, *, timeout_s: float,
                extra_info: Mapping[str, str] | None = None,
                uploads: Sequence[UploadedTable] = (), sync: bool = True) -> ResultStream:
        """Start the read-only transaction on ``conn`` and return the result stream (its first ``next()``
        runs the query). ``uploads`` are bound into the query itself: nothing is written, so the query
        connection may be a hot standby. The caller owns ``conn`` and ends the transaction; database
        errors are raised as they come (``fault_from_database`` maps them)."""
        self._begin(conn, timeout_s)
        sql = bind_uploads(driver_connection(conn), prepared.translation.sql, uploads)
        return stream_query(
            conn,
            sql,
            prepared.translation.columns,
            prepared.output,
            maxrec=prepared.maxrec,
            batch_rows=self.settings.batch_rows,
            info={**self.info(prepared), **(extra_info or {})},
            extra_resources=self.extra_resources(prepared),
            timeout_s=timeout_s,
            sync=sync,
        )

    def extra_resources(self, prepared: PreparedQuery) -> tuple[bytes, ...]:
        """Resources after the results: the DataLink service descriptor when publisher DIDs are selected."""
        if not prepared.output.is_votable:
            return ()
        descriptor = service_descriptor(prepared.translation.columns, self.settings.base_url)
        return (descriptor,) if descriptor else ()

    @staticmethod
    def _begin(conn: Connection, timeout_s: float) -> None:
        # One round trip for all (no parameters, so psycopg sends them as one simple query). The translated
        # ADQL holds standard string literals: standard_conforming_strings must be on whatever the defaults.
        conn.exec_driver_sql("SET TRANSACTION READ ONLY; "
                             f"SET LOCAL statement_timeout = {max(1, int(timeout_s * 1000))}; "
                             "SET LOCAL standard_conforming_strings = on")
