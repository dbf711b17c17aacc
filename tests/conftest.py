"""Shared fixtures: a migrated throwaway database per session and settings pointing at it; the nodb marker."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from tapserver.config import Settings, get_settings, load_settings
from tests import dbutil
from tests.dbutil import engine_for, migrated_database, throwaway_database

#: What a test marked nodb sees as its database: nothing listens on port 9, so any connection fails at once.
NO_DATABASE_URL = "postgresql://nodb@127.0.0.1:9/nodb"


def settings_for(url: str, **overrides: object) -> Settings:
    """Settings for a test database URL."""
    return load_settings(database_url=url, **overrides)


_SAVED_URL = pytest.StashKey[str | None]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    """A test marked nodb, and every fixture it sets up, gets an unreachable TAPSERVER_DATABASE_URL and no
    throwaway database: the marker cannot lie, and `pytest -m nodb` runs without PostgreSQL."""
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
