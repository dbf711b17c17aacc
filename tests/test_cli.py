"""The `tapserver` command: help for every subcommand, one clear line and a non-zero exit on setup errors.

Help and the setup errors come from `cli.main` called here (the tapserver_main fixture: a Python start-up per
case cost about a second of CPU); the tests that run the command as a process (a missing database, `serve`,
`db upgrade` of a new database) cover the entry point.
"""

from __future__ import annotations

import contextlib
import gc
import os
import subprocess
import sys

import pytest

from tapserver import cli, migrate
from tapserver.config import get_settings
from tests.conftest import TapserverMain
from tests.dbutil import server_url

TAPSERVER = [sys.executable, "-m", "tapserver.cli"]


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TAPSERVER_")}
    full_env.update(env)
    return subprocess.run([*TAPSERVER, *args], capture_output=True, text=True, env=full_env, timeout=120)


@pytest.mark.parametrize("command", [[], ["db"], ["db", "upgrade"], ["serve"], ["ingest"], ["demo"], ["adql"],
                                     ["worker"], ["prov"], ["prov", "import"]])
def test_help(command: list[str], tapserver_main: TapserverMain) -> None:
    code, out, _ = tapserver_main(*command, "--help")
    assert code == 0
    assert "usage: tapserver" in out


@pytest.mark.parametrize(("env", "expected"), [
    ({"TAPSERVER_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nothing"}, "cannot connect"),
    ({"TAPSERVER_DATABASE_URL": "mysql://root@localhost/x"}, "TAPSERVER_DATABASE_URL"),
    ({"TAPSERVER_DATABASE_URL": "not a url"}, "TAPSERVER_DATABASE_URL"),
    ({"TAPSERVER_DEFAULT_MAXREC": "many"}, "TAPSERVER_DEFAULT_MAXREC"),
    ({"TAPSERVER_BASE_URL": "ftp://example.org"}, "TAPSERVER_BASE_URL"),
])
def test_setup_errors_are_one_line(env: dict[str, str], expected: str, tapserver_main: TapserverMain) -> None:
    code, _, err = tapserver_main("db", "upgrade", **env)
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("tapserver: error:") and expected in lines[0]
    assert "Traceback" not in err


def test_missing_database_is_named(fresh_database: str) -> None:
    url = server_url().set(database="tapserver_no_such_db").render_as_string(hide_password=False)
    result = _run("db", "upgrade", TAPSERVER_DATABASE_URL=url)
    assert result.returncode == 1
    assert "tapserver_no_such_db" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_serve_refuses_unreachable_database() -> None:
    result = _run("serve", "--port", "1", TAPSERVER_DATABASE_URL="postgresql://postgres@127.0.0.1:1/x")
    assert result.returncode == 1 and "cannot connect" in result.stderr


def test_database_without_pgsphere(fresh_database: str, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A server without pgsphere: every PostgreSQL 15 here has it, so ask for an extension name it lacks."""
    monkeypatch.setenv("TAPSERVER_DATABASE_URL", fresh_database)
    monkeypatch.setattr(migrate, "PGSPHERE_EXTENSION", "pg_sphere_not_installed")
    get_settings.cache_clear()
    try:
        code = cli.main(["db", "upgrade"])
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert code == 1
    assert "no pgsphere extension" in err and "postgresql-15-pgsphere" in err


def test_db_upgrade_twice_via_cli(fresh_database: str, tapserver_main: TapserverMain) -> None:
    """The first upgrade runs the command as a process; the second, which finds nothing to do, `cli.main` here."""
    first = _run("db", "upgrade", TAPSERVER_DATABASE_URL=fresh_database)
    assert first.returncode == 0, first.stderr
    assert "applied migration 0001" in first.stdout
    code, out, _ = tapserver_main("db", "upgrade", TAPSERVER_DATABASE_URL=fresh_database)
    assert code == 0 and "nothing changed" in out


@pytest.mark.nodb
@pytest.mark.parametrize("enabled", [True, False])
@pytest.mark.parametrize("fails", [False, True])
def test_the_collector_is_paused_for_the_start_up_only(enabled: bool, fails: bool) -> None:
    """A server or worker imports its modules with the garbage collector paused; it is left as it was found,
    also when an import fails."""
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        with pytest.raises(ImportError) if fails else contextlib.nullcontext(), cli._collector_paused():
            assert not gc.isenabled()
            if fails:
                raise ImportError("a module that does not import")
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
