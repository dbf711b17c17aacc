"""The pages in real browsers: Debian's chromium (CDP) and firefox-esr (WebDriver BiDi) driven by playwright-core
(tests/web/pages.spec.mjs) against a real `tapserver serve` with the FACT demo data, and astropy's SAMP hub
(pyvo.samp) with its Web Profile standing in for TOPCAT's.

Install: `apt-get install -y chromium firefox-esr` and `npm ci --prefix tests/web`. Screenshots and the JSON
reports go to var/artifacts/web/<browser> (or $TAPSERVER_WEB_ARTIFACTS/<browser>).
"""

from __future__ import annotations

import html
import io
import json
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from astropy.io.votable import parse_single_table
from astropy.table import Table

from tests.dbutil import migrated_database
from tests.e2e import server as e2e_server

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SPEC = HERE / "pages.spec.mjs"
DEMO = ROOT / "demo"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FIREFOX = os.environ.get("FIREFOX", "/usr/bin/firefox-esr")
RECEIVER = "TOPCAT (test receiver)"

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _requirements(kind: str) -> str | None:
    """Why the browser test cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not installed (Node 20: apt-get install -y nodejs)"
    if kind == "chromium" and not Path(CHROMIUM).exists():
        return f"chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
    if kind == "firefox" and not Path(FIREFOX).exists():
        return f"firefox-esr is not installed at {FIREFOX} (apt-get install -y firefox-esr)"
    if not (HERE / "node_modules" / "playwright-core" / "package.json").exists():
        return "playwright-core is not installed (npm ci --prefix tests/web)"
    return None


def artifact_dir() -> Path:
    path = Path(os.environ.get("TAPSERVER_WEB_ARTIFACTS", ROOT / "var" / "artifacts" / "web"))
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("localhost", port))
        except OSError:
            return False
    return True


class SampFixture:
    """The astropy/pyvo SAMP hub with the Web Profile (registrations accepted automatically) and one receiving client
    subscribed to table.load.votable, standing for TOPCAT."""

    def __init__(self, workdir: Path) -> None:
        try:  # astropy.samp is deprecated since astropy 8 in favour of pyvo.samp (the same code)
            from pyvo.samp import SAMPHubServer, SAMPIntegratedClient, conf
            from pyvo.samp.hub import WebProfileDialog
        except ImportError:
            from astropy.samp import SAMPHubServer, SAMPIntegratedClient, conf  # type: ignore[no-redef]
            from astropy.samp.hub import WebProfileDialog  # type: ignore[no-redef]

        conf.use_internet = False  # the hub would otherwise probe the internet for its host name
        received: queue.Queue[dict[str, Any]] = queue.Queue()
        self.received = received

        class Accept(WebProfileDialog):
            def show_dialog(self, samp_name: str, details: Any, client: Any, origin: str) -> None:
                self.consent()

        self.dialog = Accept()
        port = 21012 if _port_free(21012) else e2e_server.free_port()
        self.hub = SAMPHubServer(web_profile=True, web_port=port, web_profile_dialog=self.dialog,
                                 lockfile=str(workdir / "samp-hub"), label="tapserver test hub")
        self.hub.start(wait=False)
        self.web_url = f"http://localhost:{port}/"
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, daemon=True)
        self._poller.start()
        self.client = SAMPIntegratedClient(name=RECEIVER, metadata={"samp.name": RECEIVER}, addr="127.0.0.1")
        self.client.connect(hub=self.hub)

        def on_table(private_key: str, sender_id: str, mtype: str, params: dict[str, Any],
                     extra: dict[str, Any]) -> None:
            received.put({"sender": sender_id, "mtype": mtype, "params": params})

        self.client.bind_receive_notification("table.load.votable", on_table)
        self.client.bind_receive_notification("table.load.fits", on_table)

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.dialog.handle_queue()
            time.sleep(0.05)

    def close(self) -> None:
        self._stop.set()
        try:
            self.client.disconnect()
        finally:
            self.hub.stop()


@dataclass
class Served:
    base: str
    artifacts: Path
    hub: SampFixture


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A `tapserver serve` with the demo data in a database of its own, and a SAMP hub."""
    if not Path(CHROMIUM).exists() and not Path(FIREFOX).exists():
        pytest.skip(f"no browser: chromium ({CHROMIUM}) or firefox-esr ({FIREFOX}) is needed")
    missing = _requirements("")
    if missing:
        pytest.skip(missing)
    artifacts = artifact_dir()
    hub = SampFixture(tmp_path_factory.mktemp("samp"))
    try:
        with migrated_database("tapserver_web") as url, pytest.MonkeyPatch.context() as patch:
            database_url = url.render_as_string(hide_password=False).replace("+psycopg", "")
            # the base URL is known before the server starts, so that the ingested access_url values point at it
            port = e2e_server.free_port()
            base = f"http://127.0.0.1:{port}"
            _ingest_demo(database_url, base)
            patch.setattr(e2e_server, "free_port", lambda: port)
            extra = {"TAPSERVER_DATA_ROOTS": json.dumps([str(DEMO / "data")]),
                     "TAPSERVER_DATA_DIR": str(artifacts / "data"),
                     "TAPSERVER_WEB_WARM_UP": "true"}  # the landing page as production serves it: warmed up
            with e2e_server.running_server(database_url, extra_env=extra, workers=1,
                                           log=artifacts / "server.log") as started:
                assert started == base
                yield Served(base, artifacts, hub)
    finally:
        hub.close()


def _ingest_demo(database_url: str, base_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAPSERVER_")}
    env.update({"TAPSERVER_DATABASE_URL": database_url, "TAPSERVER_BASE_URL": base_url})
    code, output = e2e_server.run(["ingest", str(DEMO / "data" / "fact"), "--config", str(DEMO / "fact.toml"),
                                   "--quiet"], env, timeout=300)
    assert code == 0, output


def _run_spec(kind: str, served: Served) -> tuple[dict[str, Any], Path]:
    """Run pages.spec.mjs in one browser; its report (JSON) and its artifact directory."""
    artifacts = served.artifacts / kind
    env = {**os.environ, "BROWSER": kind, "CHROMIUM": CHROMIUM, "FIREFOX": FIREFOX,
           "SAMP_HUB_URL": served.hub.web_url, "SAMP_RECEIVER": RECEIVER}
    node = subprocess.run(["node", str(SPEC), served.base, str(artifacts)], capture_output=True, text=True,
                          timeout=600, env=env, cwd=HERE)
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / "node.stderr.txt").write_text(node.stderr)
    lines = [line for line in node.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no report from the {kind} test (exit {node.returncode}):\n{node.stderr[-3000:]}"
    return json.loads(lines[-1]), artifacts


def _print_timings(report: dict[str, Any], artifacts: Path) -> None:
    t = report["timings"]
    print(f"\n{report['browser']}: screenshots in {artifacts}")
    print(f"  landing page (first visit): load {t['landing']['load_ms']} ms, DOMContentLoaded "
          f"{t['landing']['dom_content_loaded_ms']} ms, navigation wall time {t['landing_wall_ms']} ms; "
          f"reload: load {t['landing_reload']['load_ms']} ms")
    print(f"  query page: load {t['query_page']['load_ms']} ms; example query {t['example_query_ms']} ms; "
          f"async job to COMPLETED {t['async_job_ms']} ms; dataset page load {t['dataset']['load_ms']} ms")
    print(f"  requests recorded: {report['requests']} to {', '.join(report['hosts'])}; to other hosts: "
          f"{len(report['offsite'])}")


@pytest.mark.parametrize("kind", ["chromium", "firefox"])
def test_pages_in_a_browser(kind: str, served: Served) -> None:
    missing = _requirements(kind)
    if missing:
        pytest.skip(missing)
    while not served.hub.received.empty():
        served.hub.received.get_nowait()
    report, artifacts = _run_spec(kind, served)
    _print_timings(report, artifacts)

    assert report["failures"] == [], "\n".join(report["failures"])
    for name in ("nojs_landing", "nojs_tables", "landing", "example_query", "footprints", "time_energy", "overflow",
                 "adql_error", "async_job", "samp", "dataset", "no_offsite_requests"):
        assert report["checks"].get(name) is True, name
    assert report["offsite"] == []
    assert report["adql_error"]["line"] == 2
    assert len(report["screenshots"]) >= 10
    # SAMP: the receiver got a table.load.votable whose URL gives the result as a VOTable
    message = served.hub.received.get(timeout=10)
    assert message["mtype"] == "table.load.votable"
    with urllib.request.urlopen(message["params"]["url"], timeout=60) as response:
        sent = response.read()
    table = parse_single_table(io.BytesIO(sent)).to_table()
    assert len(table) >= 1 and "obs_id" in table.colnames
    # and from the dataset page, the event list as a FITS table that astropy reads
    assert report["checks"].get("dataset_samp") is True
    if kind == "firefox":  # the spec clicks through the hub in Chromium only (see pages.spec.mjs)
        return
    message = served.hub.received.get(timeout=10)
    assert message["mtype"] == "table.load.fits"
    with urllib.request.urlopen(message["params"]["url"], timeout=60) as response:
        assert response.headers["Content-Type"] == "application/fits"
        events = Table.read(io.BytesIO(response.read()), hdu=1)
    assert len(events) >= 1 and "ENERGY" in events.colnames


def test_landing_page_pyvo_snippet(served: Served) -> None:
    """The snippet of the landing page runs as pasted and reaches the files through DataLink."""
    page = urllib.request.urlopen(f"{served.base}/", timeout=30).read().decode()
    match = re.search(r'<code id="pyvo-snippet">(.*?)</code>', page, re.S)
    assert match, "no pyvo snippet on the landing page"
    out = subprocess.run([sys.executable, "-c", html.unescape(match.group(1))], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "20131103103" in out.stdout and "#this application/fits" in out.stdout
