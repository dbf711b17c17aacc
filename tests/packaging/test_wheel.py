"""The production install starts: the wheel, built from what docker/Dockerfile copies and installed without
extras into a fresh virtual environment, migrates a database, ingests, and serves TAP, pages and static files.

Nothing of the checkout is importable in that environment: the commands run from a directory outside it,
without PYTHONPATH, so a missing dependency or a file left out of the wheel fails here as in production.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from astropy.io.votable import parse_single_table
from lxml import etree

from tests.dbutil import throwaway_database
from tests.e2e.server import free_port, wait_until_available
from tests.packaging.install import ROOT, Installed, dockerfile_sources

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.timeout(1500)]

DEMO = ROOT / "demo"
VOSI_AV = "{http://www.ivoa.net/xml/VOSIAvailability/v1.0}"


def tapserver(installed: Installed, *args: str, env: dict[str, str]) -> str:
    result = subprocess.run([str(installed.bin / "tapserver"), *args], env=env, cwd=installed.workdir,
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, f"tapserver {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def database_env(installed: Installed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The environment's variables with an empty database of its own and a free port for the base URL."""
    with throwaway_database("tapserver_wheel") as url:
        yield {**installed.env,
               "TAPSERVER_DATABASE_URL": url.render_as_string(hide_password=False).replace("+psycopg", ""),
               "TAPSERVER_BASE_URL": f"http://127.0.0.1:{free_port()}",
               "TAPSERVER_DATA_DIR": str(tmp_path_factory.mktemp("wheel-data"))}


@pytest.fixture(scope="module")
def served(installed: Installed, database_env: dict[str, str]) -> Iterator[str]:
    """`tapserver db upgrade`, `tapserver ingest` of the demo data, then `tapserver serve`: its base URL."""
    first = tapserver(installed, "db", "upgrade", env=database_env)
    assert "applied migration" in first, first
    tapserver(installed, "ingest", str(DEMO / "data" / "fact"), "--config", str(DEMO / "fact.toml"), "--quiet",
              env=database_env)
    base = database_env["TAPSERVER_BASE_URL"]
    log = installed.workdir / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(installed.bin / "tapserver"), "serve", "--port", base.rsplit(":", 1)[1], "--log-level", "warning"],
            env=database_env, cwd=installed.workdir, stdout=out, stderr=subprocess.STDOUT)
        try:
            try:
                wait_until_available(base, process)
            except RuntimeError as exc:
                raise AssertionError(f"{exc}:\n{log.read_text()}") from None
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)


def test_dockerfile_copies_the_packages() -> None:
    """The image's build context holds the project metadata and every package the wheel ships."""
    assert {"pyproject.toml", "README.md", "tapserver", "ingest", "migrations"} <= set(dockerfile_sources())


def test_the_environment_holds_the_wheel_only(installed: Installed) -> None:
    """The code runs from the environment's site-packages, and the dev extra is absent. The distributions are
    listed by the environment's interpreter as `pip list` lists them (importlib.metadata, on its sys.path): a pip
    start (two, with --python) saved."""
    code = ("import importlib.metadata, tapserver, ingest, migrations; "
            "print(tapserver.__file__, ingest.__file__, migrations.__file__); "
            "print(*(d.metadata['Name'] for d in importlib.metadata.distributions()))")
    result = subprocess.run([str(installed.bin / "python"), "-c", code], env=installed.env, cwd=installed.workdir,
                            capture_output=True, text=True, timeout=120, check=True)
    files, listed = result.stdout.splitlines()
    site = (installed.venv / "lib").resolve()
    assert all(Path(f).resolve().is_relative_to(site) for f in files.split()), result.stdout
    names = {name.lower() for name in listed.split()}
    assert "tapserver" in names and not names & {"pytest", "pyvo", "hypothesis", "mypy"}, names


def test_available(served: str) -> None:
    response = httpx.get(f"{served}/tap/availability", timeout=30)
    assert response.status_code == 200
    assert etree.fromstring(response.content).findtext(f"{VOSI_AV}available") == "true"


def test_sync_query_returns_a_votable(served: str, tmp_path: Path) -> None:
    response = httpx.post(f"{served}/tap/sync", timeout=60, data={
        "LANG": "ADQL", "QUERY": "SELECT obs_id, s_ra, s_dec FROM ivoa.obscore ORDER BY obs_id"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-votable+xml")
    (tmp_path / "result.xml").write_bytes(response.content)
    table = parse_single_table(tmp_path / "result.xml").to_table()
    assert table.colnames == ["obs_id", "s_ra", "s_dec"]
    assert len(table) == len(list((DEMO / "data" / "fact").glob("*_dl3.fits"))) > 0


def test_page_and_static_assets(served: str) -> None:
    page = httpx.get(f"{served}/", timeout=30)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f"{served}/tap/sync" in page.text
    assets = sorted(set(re.findall(r"(/static/[\w.-]+)\?v=\w+", page.text)))
    assert any(a.endswith(".css") for a in assets) and any(a.endswith(".js") for a in assets), assets
    for asset in assets:
        response = httpx.get(f"{served}{asset}", timeout=30)
        assert response.status_code == 200, asset
        assert response.content == (ROOT / "tapserver" / "web" / asset.lstrip("/")).read_bytes(), asset


def test_upgrade_again_changes_nothing(served: str, installed: Installed, database_env: dict[str, str]) -> None:
    """The migrations shipped in the wheel are the ones the database is at."""
    assert "nothing changed" in tapserver(installed, "db", "upgrade", env=database_env)
