"""The pages' TTL caches (cachetools): the landing statistics and the coverage MOC."""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace
from typing import Any, cast

import pytest
from sqlalchemy import Engine

from tapserver.config import load_settings
from tapserver.web import context, storage
from tapserver.web.coverage import Coverage, CoverageCache
from tapserver.web.stats import TimedCache

pytestmark = pytest.mark.nodb


def test_timed_cache_computes_once_per_ttl_and_once_at_a_time() -> None:
    calls: list[float] = []

    def compute() -> int:
        calls.append(time.monotonic())
        time.sleep(0.2)
        return len(calls)

    cache = TimedCache(compute, ttl=0.6)
    got: list[int] = []
    threads = [threading.Thread(target=lambda: got.append(cache.get())) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == [1] * 6 and len(calls) == 1  # the callers that came meanwhile waited for the one computation
    assert cache.get() == 1
    time.sleep(0.7)
    assert cache.get() == 2  # expired: computed again
    cache.invalidate()
    assert cache.get() == 3


def test_timed_cache_does_not_keep_a_failure() -> None:
    outcomes: list[Any] = [RuntimeError("database down"), 7]

    def compute() -> int:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return int(outcome)

    cache = TimedCache(compute, ttl=60)
    with pytest.raises(RuntimeError):
        cache.get()
    assert cache.get() == 7


@pytest.mark.parametrize(("fingerprints", "ttl", "pause", "builds"), [
    # (fingerprints the database shows in turn, ttl, pause between the two calls, fingerprints built)
    (["a", "a"], 60.0, 0.0, ["a"]),   # within the ttl: no second look at the database
    (["a", "b"], 60.0, 0.0, ["a"]),   # a change is seen only after the ttl
    (["a", "a"], 0.1, 0.2, ["a"]),    # looked again, nothing changed: no rebuild
    (["a", "b"], 0.1, 0.2, ["a", "b"]),  # looked again, changed: rebuilt
])
def test_coverage_cache_rebuilds_when_the_fingerprint_changes(
        monkeypatch: pytest.MonkeyPatch, fingerprints: list[str], ttl: float, pause: float,
        builds: list[str]) -> None:
    shown = list(fingerprints)
    looks: list[str] = []

    def fingerprint(engine: Engine) -> str:
        looks.append(shown[0])
        return shown.pop(0) if len(shown) > 1 else shown[0]

    built: list[str] = []

    def build(fp: str, engine: Engine) -> Coverage:
        built.append(fp)
        return Coverage(fp, 1, 0.5, moc=None)

    monkeypatch.setattr(storage, "fingerprint", fingerprint)
    cache = CoverageCache(cast(Engine, object()), ttl=ttl, builder=build)
    first = cache.get()
    time.sleep(pause)
    second = cache.get()
    assert built == builds
    assert first.fingerprint == fingerprints[0]
    assert second.fingerprint == builds[-1]
    assert (second is first) == (len(builds) == 1)
    assert len(looks) == (1 if pause == 0 else 2)


@pytest.mark.parametrize("enabled", [True, False])
def test_the_warm_up_starts_with_the_server_unless_switched_off(enabled: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """``TAPSERVER_WEB_WARM_UP``: the lifespan fills the page caches in a background thread, or leaves them to
    the first visit."""
    warmed: list[object] = []
    done = threading.Event()

    def warm_up(web: object) -> None:
        warmed.append(web)
        done.set()

    monkeypatch.setattr(context, "warm_up", warm_up)
    web = object()
    factory = SimpleNamespace(settings=load_settings(web_warm_up=enabled), web=web)
    app = SimpleNamespace(state=SimpleNamespace(factory=factory))

    async def serve() -> None:
        async with context.lifespan(app):
            pass

    asyncio.run(serve())
    assert done.wait(5 if enabled else 0.2) is enabled
    assert warmed == ([web] if enabled else [])
