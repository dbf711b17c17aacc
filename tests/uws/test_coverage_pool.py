"""The coverage of a small archive is read in the server process on a connection of the engine's pool."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import Engine

from tapserver.web import coverage, storage
from tests.uws.synthetic import OBSCORE_ROWS


def test_a_small_archive_is_read_on_the_engines_pool(uws_database: str, uws_admin: Engine,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    expected = storage.footprints(uws_database)  # the child process's reading, on a connection of its own
    assert len(expected) == OBSCORE_ROWS

    def no_connection_of_its_own(*args: object, **kwargs: object) -> None:
        raise AssertionError("the coverage opened a connection outside the engine's pool")

    monkeypatch.setattr(coverage, "IN_PROCESS_FOOTPRINTS", OBSCORE_ROWS + 1)
    monkeypatch.setattr(psycopg, "connect", no_connection_of_its_own)
    with uws_admin.connect():  # a connection in the pool before the build: the build takes no other one
        pass
    before = uws_admin.pool.checkedin()
    assert sorted(storage.footprints_of(uws_admin)) == sorted(expected)
    built = coverage.build_coverage_of_archive("fingerprint", uws_admin)
    assert built.footprints == OBSCORE_ROWS
    assert uws_admin.pool.checkedin() == before
    assert built.moc.contains_lonlat(*_degrees(expected[0][:2])).all()


def _degrees(point: tuple[float, float]) -> tuple[object, object]:
    import astropy.units as u

    return [point[0]] * u.deg, [point[1]] * u.deg
