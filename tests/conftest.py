"""Shared fixtures: a migrated throwaway database per session and settings pointing at it; the nodb marker."""

from __future__ import annotations

import gc
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from tapserver.config import Settings, get_settings, load_settings
from tests import dbutil
from tests.dbutil import engine_for, migrated_database, throwaway_database

if TYPE_CHECKING:
    from tests.gadf.archive import Archive

# The apps the tests build warm no page caches up in the background unless a test asks for it (test_pages serves
# the landing page warmed up, as production does; test_caches tests the switch): most apps serve no page, and the
# warm-up of each (the archive's coverage map, the sky images) cost as much CPU as the tests that use the app.
os.environ.setdefault("TAPSERVER_WEB_WARM_UP", "false")

#: What a test marked nodb sees as its database: nothing listens on port 9, so any connection fails at once.
NO_DATABASE_URL = "postgresql://nodb@127.0.0.1:9/nodb"


def settings_for(url: str, **overrides: object) -> Settings:
    """Settings for a test database URL."""
    return load_settings(database_url=url, **overrides)


_SAVED_URL = pytest.StashKey[str | None]()


class _FitsConfReadOnce:
    """astropy.io.fits's configuration items, each read once through astropy's configuration machinery and
    then kept as a plain attribute. astropy reads some of them for every header card it parses (several
    configobj look-ups and a validation each time), which made them a tenth of the CPU of the tests that compare
    many FITS files with astropy. The values cannot differ from astropy's: no test changes astropy.io.fits.conf
    (one that did would have to give the modules their ``conf`` back first: see _read_fits_conf_once)."""

    def __init__(self, conf: object) -> None:
        self._conf = conf

    def __getattr__(self, name: str) -> object:
        value = getattr(self._conf, name)
        setattr(self, name, value)
        return value


#: The modules of astropy.io.fits that read ``conf`` per card or per HDU, as ``conf`` in their namespace.
_FITS_CONF_READERS = ("astropy.io.fits.card", "astropy.io.fits.hdu.base")


def _read_fits_conf_once() -> None:
    """Once astropy.io.fits is imported (by a test module or by the code under test), its card and HDU
    modules read its configuration through a _FitsConfReadOnce."""
    fits = sys.modules.get("astropy.io.fits")
    if fits is None:
        return
    for name in _FITS_CONF_READERS:
        module = sys.modules.get(name)
        if module is not None and getattr(module, "conf", None) is fits.conf:
            module.conf = _FitsConfReadOnce(fits.conf)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    """A test marked nodb, and every fixture it sets up, gets an unreachable TAPSERVER_DATABASE_URL and no
    throwaway database: the marker cannot lie, and `pytest -m nodb` runs without PostgreSQL."""
    _read_fits_conf_once()
    if item.get_closest_marker("nodb") is not None:
        item.stash[_SAVED_URL] = os.environ.get("TAPSERVER_DATABASE_URL")
        os.environ["TAPSERVER_DATABASE_URL"] = NO_DATABASE_URL
        dbutil._forbidden = item.nodeid
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    """Restore the database URL before the fixtures (perhaps of earlier tests) are torn down."""
    if _SAVED_URL in item.stash:
        saved = item.stash[_SAVED_URL]
        if saved is None:
            os.environ.pop("TAPSERVER_DATABASE_URL", None)
        else:
            os.environ["TAPSERVER_DATABASE_URL"] = saved
        dbutil._forbidden = None
    return (yield)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`make test` runs ``--dist loadfile``), the files holding slow tests go first,
    so that no worker starts a minute-long file when the others are about to run dry. Every worker collects
    the same items and sorts them the same way (a stable sort: the order within a file stays)."""
    if not hasattr(config, "workerinput"):
        return
    slow_files = {item.path for item in items if item.get_closest_marker("slow") is not None}
    items.sort(key=lambda item: item.path not in slow_files)


def pytest_configure(config: pytest.Config) -> None:
    """The controller of a pytest-xdist run names one template database for its workers (they inherit the
    environment): the schema is migrated once per run, not once per worker."""
    if not hasattr(config, "workerinput") and config.getoption("numprocesses", default=None):
        os.environ[dbutil.SHARED_TEMPLATE] = f"tapserver_template_{os.getpid()}_shared"


def pytest_sessionfinish(session: pytest.Session) -> None:
    for failure in dbutil.finish():
        warnings.warn(f"could not drop a test database: {failure}", stacklevel=1)
    if not hasattr(session.config, "workerinput") and os.environ.get(dbutil.SHARED_TEMPLATE):
        try:
            dbutil.drop_shared_template()
        except OperationalError:  # no database server: no worker can have made the template
            pass
        except Exception as exc:
            warnings.warn(f"could not drop the shared template database: {exc}", stacklevel=1)


def pytest_collectstart(collector: pytest.Collector) -> None:
    """Before each collector (each test module is imported by its own), and below after each: move the objects
    that exist to the garbage collector's permanent generation. What pytest and the test modules import stays
    for the whole session; left tracked, the ~350 000 objects of a full collection are traversed by every full
    collection (a fifth of a CPU-second each, half a dozen during collection and more while the tests run)."""
    gc.freeze()


def pytest_collectreport(report: pytest.CollectReport) -> None:
    gc.freeze()


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """The last hook of every pytest process (the xdist workers and their controller): move every object to
    the garbage collector's permanent generation. The interpreter's shutdown then skips them in the full
    collections it runs while it clears the modules (a worker holds some 350 000 tracked objects: about a
    CPU-second of collections that free nothing the exit does not free anyway). Objects are still freed by
    their reference counts, and the atexit handlers (drops of databases, the fork server's exit) run as before."""
    gc.freeze()


@pytest.fixture(scope="session")
def migrated_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings of a freshly migrated database, shared by the session (tests must not leave rows behind
    unless they use their own database)."""
    with migrated_database("tapserver_session") as url:
        settings = settings_for(
            url.render_as_string(hide_password=False), data_dir=tmp_path_factory.mktemp("data")
        )
        yield settings


@pytest.fixture(scope="session")
def admin_engine(migrated_settings: Settings) -> Iterator[Engine]:
    with engine_for(migrated_settings.admin_url) as engine:
        yield engine


@pytest.fixture(scope="session")
def reader_engine(migrated_settings: Settings) -> Iterator[Engine]:
    with engine_for(migrated_settings.query_url) as engine:
        yield engine


@pytest.fixture(scope="session")
def dl3_archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    """Every staged DL3 collection ingested into one archive, served by the app in this process: shared by the
    SODA and GADF tests of a test process, which read it (a test that changes a row puts it back), so that a
    process running both ingests the collections once."""
    from tests.gadf.archive import DL3, ingested_archive

    if not DL3.is_dir():
        pytest.skip(f"the staged DL3 files are not at {DL3}")
    with ingested_archive("tapserver_dl3", tmp_path_factory.mktemp("dl3")) as archive:
        yield archive


@pytest.fixture()
def fresh_database() -> Iterator[str]:
    """An empty (not migrated) database of its own, dropped after the test."""
    with throwaway_database("tapserver_fresh") as url:
        yield url.render_as_string(hide_password=False)


@pytest.fixture()
def migrated_database_url() -> Iterator[str]:
    """A migrated database of its own (a copy of the session's template), dropped after the test."""
    with migrated_database("tapserver_migrated") as url:
        yield url.render_as_string(hide_password=False)


#: `tapserver_main(*args, **env)`: exit code, stdout and stderr of the `tapserver` command.
TapserverMain = Callable[..., tuple[int, str, str]]


@pytest.fixture()
def tapserver_main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> TapserverMain:
    """`tapserver *args` run by `cli.main` in this process, with ``env`` as its only TAPSERVER_* variables, as
    a child process would run it: a Python start-up saved where the process boundary is not what is tested
    (`main` catches setup errors itself; argparse's exits are caught here)."""
    from tapserver import cli

    def run(*args: str, **env: str) -> tuple[int, str, str]:
        for name in [k for k in os.environ if k.startswith("TAPSERVER_")]:
            monkeypatch.delenv(name)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()
        get_settings.cache_clear()
        try:
            code = cli.main([str(a) for a in args])
        except SystemExit as exc:  # argparse: --help and usage errors
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            get_settings.cache_clear()
        out, err = capsys.readouterr()
        return code, out, err

    return run
