"""One query run for sync and async: its outcome, fault words, query-log line and cleanup, mode by mode."""

from __future__ import annotations

import gc
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import pytest
from sqlalchemy import Engine, create_engine

from tapserver.catalog.cache import CatalogCache
from tapserver.config import Settings
from tapserver.dali.params import Params
from tapserver.dali.tapquery import parse_tap_query
from tapserver.errors import DALIFault, TimeoutFault, UsageFault
from tapserver.tap.query import QueryService
from tapserver.tap.run import QueryRun
from tests.uws.synthetic import positions, votable_bytes

TOP3 = "SELECT TOP 3 table_name FROM tap_schema.tables WHERE schema_name = 'tap_schema' ORDER BY table_name"
#: Streams for a long while (tens of millions of rows before MAXREC).
BIG = ("SELECT a.column_name, b.column_name AS b_name, c.column_name AS c_name "
       "FROM tap_schema.columns AS a, tap_schema.columns AS b, tap_schema.columns AS c")
#: Runs for seconds before its one row.
SLOW = "SELECT COUNT(*) AS n FROM tap_schema.columns AS a, tap_schema.columns AS b, tap_schema.columns AS c"


class Stopped(Exception):
    """What the test cancellation raises."""


class Recorder:
    """A cancellation that records its calls and raises at the step named ``stop_at``."""

    def __init__(self, stop_at: str | None = None) -> None:
        self.calls: list[str] = []
        self.stop_at = stop_at

    def _step(self, name: str) -> None:
        self.calls.append(name)
        if name == self.stop_at:
            raise Stopped(name)

    def check(self) -> None:
        self._step("check")

    def attach(self, raw_connection: Any) -> None:
        self._step("attach")

    def detach(self) -> None:
        self._step("detach")


@pytest.fixture(scope="module")
def pooled(migrated_settings: Settings) -> Iterator[Engine]:
    """A pooled query engine, so that a connection a run keeps shows in ``pool.checkedout()``."""
    engine = create_engine(migrated_settings.query_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def service(migrated_settings: Settings, pooled: Engine) -> QueryService:
    return QueryService(migrated_settings.model_copy(update={"batch_rows": 500}), pooled, CatalogCache(pooled))


def make_run(service: QueryService, query: str, *, sync: bool, timeout_s: float = 30.0, maxrec: str = "100",
             upload: str | None = None, parts: dict[str, bytes] | None = None, **kw: Any) -> QueryRun:
    items = [("LANG", "ADQL"), ("QUERY", query), ("FORMAT", "csv"), ("MAXREC", maxrec)]
    if upload is not None:
        items.append(("UPLOAD", upload))
    stored = parts or {}

    def open_part(name: str) -> IO[bytes] | None:
        return io.BytesIO(stored[name]) if name in stored else None

    return QueryRun(service, parse_tap_query(Params(items)), open_part=open_part, timeout_s=timeout_s, sync=sync,
                    **kw)


def query_lines(caplog: pytest.LogCaptureFixture, query: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "tapserver.query" and getattr(r, "adql", None) == query]


@dataclass(frozen=True)
class Case:
    query: str
    sync: bool
    consume: str  # "all": read to the end; "first": close after the first chunk
    status: str
    fault: type[DALIFault] | None = None
    words: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    timeout_s: float = 30.0
    maxrec: str = "100"


CASES = {
    "ok sync": Case(TOP3, True, "all", "OK"),
    "ok async": Case(TOP3, False, "all", "OK"),
    "client gone": Case(BIG, True, "first", "ABORTED", maxrec="40000000"),
    "database error sync": Case("SELECT 1/0 AS boom FROM tap_schema.tables", True, "all", "ERROR", UsageFault,
                                ("division by zero",)),
    "database error async": Case("SELECT 1/0 AS boom FROM tap_schema.tables", False, "all", "ERROR", UsageFault,
                                 ("division by zero",)),
    "timeout sync": Case(SLOW, True, "all", "ERROR", TimeoutFault,
                         ("time limit of 0.5 s", "submit it as an asynchronous job (/tap/async)"), timeout_s=0.5),
    "timeout async": Case(SLOW, False, "all", "ERROR", TimeoutFault, ("time limit of 0.5 s",), ("/tap/async",),
                          timeout_s=0.5),
    "bad ADQL": Case("SELEKT nothing", True, "all", "ERROR", UsageFault),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_run_outcome(service: QueryService, pooled: Engine, caplog: pytest.LogCaptureFixture, case: Case) -> None:
    """Each run ends with its connection back in the pool; a sync run writes one query-log line with its
    outcome, an async run none (its job runner writes it with the job's phase)."""
    run = make_run(service, case.query, sync=case.sync, timeout_s=case.timeout_s, maxrec=case.maxrec)
    with caplog.at_level(logging.INFO, logger="tapserver.query"):
        if case.fault is not None:
            with pytest.raises(case.fault) as raised:
                run.start()
            assert all(w in raised.value.message for w in case.words), raised.value.message
            assert not any(w in raised.value.message for w in case.absent), raised.value.message
        else:
            first = run.start()
            assert first.startswith(b"table_name" if case.query == TOP3 else b"column_name")
            assert pooled.pool.checkedout() == 1  # type: ignore[attr-defined]
            body = first + (b"".join(run) if case.consume == "all" else b"")
            if case.consume == "all":
                assert body.decode().splitlines()[1:] == ["tap_schema.columns", "tap_schema.key_columns",
                                                          "tap_schema.keys"]
                assert run.rows == 3 and run.error is None
        run.close()
        run.close()  # closing twice is harmless
    assert pooled.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert run.status == case.status
    lines = query_lines(caplog, case.query)
    if case.sync:
        assert [(r.mode, r.status) for r in lines] == [("sync", case.status)]  # type: ignore[attr-defined]
    else:
        assert lines == []
        assert run.log.mode == "async" and run.log.adql == case.query


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
def test_uploads_are_read_from_the_sources_given(service: QueryService, sync: bool) -> None:
    """Sync and async hand the run their upload sources; it reads and binds them the same way."""
    parts = {"p": votable_bytes(positions(4))}
    run = make_run(service, "SELECT COUNT(*) AS n, MAX(t.id) AS top FROM TAP_UPLOAD.t AS t", sync=sync,
                   upload="t,param:p", parts=parts)
    body = run.start() + b"".join(run)
    run.close()
    assert body.decode().splitlines() == ["n,top", "4,4"]
    missing = make_run(service, "SELECT * FROM TAP_UPLOAD.t", sync=sync, upload="t,param:gone", parts=parts)
    with pytest.raises(UsageFault, match="no multipart part named 'gone'"):
        missing.start()


STOPS = {
    "not stopped": (None, ["check", "check", "attach", "check", "detach"]),
    "stopped before the uploads": ("check", ["check"]),
    "stopped when given the connection": ("attach", ["check", "check", "attach", "detach"]),
}


@pytest.mark.parametrize(("stop_at", "calls"), STOPS.values(), ids=STOPS.keys())
def test_cancellation_sees_every_step(service: QueryService, pooled: Engine, stop_at: str | None,
                                      calls: list[str]) -> None:
    """An async run checks its cancellation between steps, attaches the connection while it holds one and
    always detaches it; a cancelled run stops there and returns its connection."""
    cancellation = Recorder(stop_at)
    run = make_run(service, TOP3, sync=False, cancellation=cancellation)
    if stop_at is None:
        assert b"".join([run.start(), *run]).count(b"\n") == 4
    else:
        with pytest.raises(Stopped):
            run.start()
    run.close()
    assert cancellation.calls == calls
    assert pooled.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_a_run_dropped_unclosed_returns_its_connection_at_once(service: QueryService, pooled: Engine,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    """A sync response that is never sent drops its run: the connection comes back without waiting for the
    cycle collector, and the run is logged ABORTED."""
    gc.disable()
    try:
        with caplog.at_level(logging.INFO, logger="tapserver.query"):
            run = make_run(service, BIG, sync=True, maxrec="40000000")
            assert run.start()
            assert pooled.pool.checkedout() == 1  # type: ignore[attr-defined]
            del run
            assert pooled.pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        gc.enable()
    assert [r.status for r in query_lines(caplog, BIG)] == ["ABORTED"]  # type: ignore[attr-defined]
