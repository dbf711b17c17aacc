"""The catalog cache: a value refreshed at most every ttl seconds without making other threads wait, and the
catalog reloaded when TAP_SCHEMA changes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from tapserver.catalog.cache import CatalogCache, Refreshed
from tests.dbutil import engine_for


class Counter:
    """A compute function that counts its calls; ``gate`` (when set) holds a call until it is released."""

    def __init__(self) -> None:
        self.calls = 0
        self.previous: list[int | None] = []
        self.gate: threading.Event | None = None
        self.started = threading.Event()

    def __call__(self, previous: int | None) -> int:
        self.previous.append(previous)
        self.started.set()
        if self.gate is not None:
            assert self.gate.wait(5)
        self.calls += 1
        return self.calls


@pytest.mark.nodb
def test_computed_once_per_ttl() -> None:
    counter = Counter()
    value = Refreshed(0.2, counter)
    assert [value.get() for _ in range(5)] == [1] * 5
    time.sleep(0.25)
    assert value.get() == 2 and value.get() == 2
    assert counter.previous == [None, 1]
    value.expire()
    assert value.get() == 3


@pytest.mark.nodb
def test_other_threads_get_the_previous_value_while_one_computes() -> None:
    counter = Counter()
    value = Refreshed(0.05, counter)
    assert value.get() == 1
    time.sleep(0.1)
    counter.gate, counter.started = threading.Event(), threading.Event()
    results: list[int] = []
    computing = threading.Thread(target=lambda: results.append(value.get()))
    computing.start()
    assert counter.started.wait(5)
    started = time.monotonic()
    assert value.get() == 1  # the previous value, at once
    assert time.monotonic() - started < 1
    counter.gate.set()
    computing.join(5)
    assert results == [2] and value.get() == 2


@pytest.mark.nodb
def test_the_first_computation_is_waited_for_and_a_failure_retried() -> None:
    calls = []

    def failing_once(previous: int | None) -> int:
        calls.append(previous)
        if len(calls) == 1:
            raise RuntimeError("database down")
        return 7

    value = Refreshed(60, failing_once)
    with pytest.raises(RuntimeError):
        value.get()
    assert value.get() == 7 and value.get() == 7
    assert calls == [None, None]


@pytest.fixture()
def engine(migrated_database_url: str) -> Iterator[Engine]:
    with engine_for(migrated_database_url) as engine:
        yield engine


def test_catalog_reloaded_when_tap_schema_changes(engine: Engine) -> None:
    cache = CatalogCache(engine, ttl=0.3, counts_ttl=60)
    first = cache.get()
    with engine.begin() as conn:
        conn.execute(text("UPDATE tap_schema.tables SET description = 'changed' WHERE table_name = 'ivoa.obscore'"))
    assert cache.get() is first  # checked again only after the ttl
    time.sleep(0.35)
    second = cache.get()
    assert second is not first
    table = second.table("obscore", "ivoa")
    assert table is not None and table.description == "changed"
    time.sleep(0.35)
    assert cache.get() is second  # the fingerprint did not change: the same catalog
    cache.invalidate()
    assert cache.get() is not second
    counts = cache.row_counts()
    assert "ivoa.obscore" in counts and cache.row_counts() is counts
