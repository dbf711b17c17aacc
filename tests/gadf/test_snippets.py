"""The landing page's gammapy and cutout snippets run as pasted against a live server.

Each snippet runs as ``python -c SNIPPET`` runs it (fresh globals, its own working directory, its output
captured), in a process forked from an interpreter that has imported gammapy.data, pyvo, requests and
astropy.units already (tests/preloaded.py): each import takes a new interpreter about 3 s of CPU. The snippet's
own import statements still run, so a snippet missing an import fails as it would when pasted.
"""

from __future__ import annotations

import html
import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from astropy.io import fits

from tests.e2e.server import running_server
from tests.gadf.archive import DL3, Archive
from tests.preloaded import Preloaded

pytest.importorskip("gammapy")


@pytest.fixture(scope="module")
def live(store_archive: Archive) -> Iterator[str]:
    url = store_archive.settings.admin_url.set(drivername="postgresql").render_as_string(hide_password=False)
    # the job results where the archive's own job slots (same database) read and write them too
    env = {"TAPSERVER_DATA_ROOTS": json.dumps([str(DL3)]), "TAPSERVER_DATA_DIR": str(store_archive.settings.data_dir)}
    with running_server(url, extra_env=env) as base:
        yield base


@pytest.fixture(scope="module")
def python() -> Iterator[Preloaded]:
    """Where the snippets run: the modules they import, imported once."""
    with Preloaded(["gammapy.data", "pyvo", "requests", "astropy.units"]) as preloaded:
        yield preloaded


def _snippet(base: str, name: str) -> str:
    page = urllib.request.urlopen(f"{base}/", timeout=60).read().decode()
    match = re.search(rf'<code id="{name}">(.*?)</code>', page, re.S)
    assert match, f"no {name} on the landing page"
    return html.unescape(match.group(1))


def _run(python: Preloaded, code: str, cwd: Path) -> str:
    out = python.run(code, cwd=cwd, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_gammapy_snippet(live: str, python: Preloaded, tmp_path: Path) -> None:
    code = _snippet(live, "gammapy-snippet")
    assert len([line for line in code.splitlines() if line and not line.startswith(("import", "from"))]) <= 5
    assert "obs_collection = 'FACT'" in code  # the largest collection (125 runs)
    stdout = _run(python, code, tmp_path)
    assert stdout.startswith("20 observations,")
    assert (tmp_path / "datastore" / "hdu-index.fits.gz").is_file()


def test_cutout_snippet(live: str, python: Preloaded, tmp_path: Path) -> None:
    _run(python, _snippet(live, "cutout-snippet"), tmp_path)
    with fits.open(tmp_path / "cutout.fits") as hdul:
        assert "EVENTS" in hdul and "GTI" in hdul
        assert any("SODA cutout" in str(card) for card in hdul["EVENTS"].header["HISTORY"])
        energy = hdul["EVENTS"].data["ENERGY"]
        assert len(energy) > 0 and energy.min() >= 0.5 and energy.max() <= 50


def test_readme_async_bundle_snippet(live: str, python: Preloaded, store_archive: Archive, tmp_path: Path) -> None:
    """The README's pyvo snippet: an async bundle job, its result unpacked into a gammapy DataStore."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    [code] = [block for block in re.findall(r"```python\n(.*?)```", readme, re.S) if "/gadf/async" in block]
    stdout = _run(python, code.replace("http://127.0.0.1:8000", live) + "print(len(observations))\n", tmp_path)
    [(runs,)] = store_archive.rows("SELECT count(*) FROM ivoa.obscore WHERE obs_collection = 'FACT'")
    assert stdout.split() == [str(runs)]
    assert (tmp_path / "fact" / "hdu-index.fits.gz").is_file()
