"""ProvSAP BACK from one dataset is that dataset's history: after a fresh ingest of H.E.S.S. DR1, and after the
migration of an archive the previous ingester wrote (one activity using every file of the batch, server paths).
No server path appears in any serialisation."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import text
from starlette.testclient import TestClient

from tapserver.app import create_app
from tapserver.config import Settings
from tapserver.migrate import _alembic_config, admin_engine, upgrade
from tests.conftest import settings_for
from tests.dbutil import migrated_database, throwaway_database
from tests.provenance.conftest import insert

DL3 = Path(__file__).resolve().parents[3] / "shared" / "data" / "dl3"
HESS = DL3 / "gammapy-data-hess-dl3-dr1"
FORMATS = ("PROV-JSON", "PROV-N", "PROV-XML", "PROV-VOTABLE", "PROV-SVG")
#: Absolute paths of a Unix disk as they may appear in a document (after a quote, space, '>' or '=').
_DISK_PATH = re.compile(r"""(?:^|[\s"'>=(])(?:file://)?/(?:[\w.~-]+/)+[\w.~-]+""")

requires_dl3 = pytest.mark.skipif(not HESS.is_dir(), reason=f"the staged DL3 files are not at {HESS}")


@dataclass(frozen=True)
class Served:
    client: TestClient
    settings: Settings


def _serve(settings: Settings) -> Iterator[Served]:
    with TestClient(create_app(settings)) as client:
        yield Served(client, settings)


def provsap(client: TestClient, did: str, response_format: str) -> str:
    response = client.get("/provsap", params={"ID": did, "DEPTH": "ALL", "DIRECTION": "BACK",
                                              "RESPONSEFORMAT": response_format})
    assert response.status_code == 200, response.text[:500]
    return response.text


def assert_no_server_path(document: str, *roots: Path) -> None:
    for root in roots:
        assert str(root) not in document and str(root.resolve()) not in document
    found = _DISK_PATH.findall(document)
    assert not found, found[:5]


def entities(client: TestClient, did: str) -> dict[str, dict[str, Any]]:
    """The entities of the BACK answer, by id (PROV-JSON)."""
    document = json.loads(provsap(client, did, "PROV-JSON"))
    prefixes = document.get("prefix", {})

    def expand(qname: str) -> str:
        prefix, _, local = qname.partition(":")
        return prefixes[prefix] + local if prefix in prefixes else qname

    # descriptions, parameters and configuration files are entities too: keep the data (datasets and files)
    return {expand(key): value for key, value in document.get("entity", {}).items()
            if expand(key).startswith(("urn:tapserver:file:", "ivo://"))}


def _did(settings: Settings, obs_id: str) -> str:
    engine = admin_engine(settings)
    try:
        with engine.connect() as conn:
            return str(conn.execute(text("SELECT obs_publisher_did FROM ivoa.obscore WHERE obs_id = :o"),
                                    {"o": obs_id}).scalar_one())
    finally:
        engine.dispose()


# -- a fresh ingest --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hess(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if not HESS.is_dir():
        pytest.skip(f"the staged DL3 files are not at {HESS}")
    from ingest.config import load_config
    from ingest.pipeline import Options, ingest
    from ingest.progress import Reporter

    with migrated_database("tapserver_prov_history") as url:
        settings = settings_for(url.render_as_string(hide_password=False), workers=0,
                                data_dir=tmp_path_factory.mktemp("history"), data_roots=[DL3])
        summary = ingest(Options(inputs=(str(HESS),), config=load_config(None, "hess-dr1"), jobs=2), settings,
                         Reporter(quiet=True))
        assert summary.exit_code == 0
        yield from _serve(settings)


@requires_dl3
def test_back_from_one_run_is_that_run(hess: Served) -> None:
    did = _did(hess.settings, "23523")
    found = entities(hess.client, did)
    names = sorted(str(e.get("voprov:name", e.get("prov:label", ""))) for e in found.values())
    # the dataset, its event file (which holds its GTI and IRFs) and the index rows that described it
    assert len(found) == 4, names
    locations = {str(e.get("prov:location", "")) for e in found.values()}
    assert "gammapy-data-hess-dl3-dr1/data/hess_dl3_dr1_obs_id_023523.fits.gz" in locations
    assert {"gammapy-data-hess-dl3-dr1/hdu-index.fits.gz#OBS_ID=23523",
            "gammapy-data-hess-dl3-dr1/obs-index.fits.gz#OBS_ID=23523"} <= locations
    assert not any("023524" in location or "020136" in location for location in locations)


@requires_dl3
@pytest.mark.parametrize("response_format", FORMATS)
def test_no_server_path_in_any_format(hess: Served, response_format: str) -> None:
    for obs_id in ("23523", "33787"):
        document = provsap(hess.client, _did(hess.settings, obs_id), response_format)
        assert f"hess_dl3_dr1_obs_id_{int(obs_id):06d}" in document or response_format == "PROV-SVG"
        assert_no_server_path(document, DL3)


@requires_dl3
def test_forth_from_an_event_file_reaches_its_dataset_only(hess: Served) -> None:
    did = _did(hess.settings, "23523")
    events = next(i for i, e in entities(hess.client, did).items() if str(e.get("prov:location", "")).endswith(
        "023523.fits.gz"))
    response = hess.client.get("/provsap", params={"ID": events, "DEPTH": "ALL", "DIRECTION": "FORTH"})
    assert response.status_code == 200
    forth = json.loads(response.text)
    generated = [v for v in forth.get("wasGeneratedBy", {}).values()]
    assert len(generated) == 1


# -- an archive of the previous ingester, migrated ------------------------------------------------------------

def _legacy_rows(root: Path, dids: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """What the previous ingester wrote for two observations of one run: the run used every file."""
    run, agent, description = "ingest:legacy-run", "agent:ada", "tapserver ingest/0.9"
    files = {  # role, path
        "ev1": ("events", root / "data" / "obs_1.fits.gz"), "ev2": ("events", root / "data" / "obs_2.fits.gz"),
        "irf": ("irf", root / "irf.fits"), "hdu": ("hdu-index", root / "hdu-index.fits.gz"),
        "obs": ("obs-index", root / "obs-index.fits.gz"),
    }
    entity = {key: f"file://{path}#sha256:{key}" for key, (_, path) in files.items()}
    rows: dict[str, list[dict[str, Any]]] = {
        "activitydescription": [{"id": description, "name": "tapserver ingest", "version": "0.9"}],
        "agent": [{"id": agent, "name": "ada", "type": "Person"}],
        "activity": [{"id": run, "name": "ingest", "activitydescription_id": description}],
        "wasassociatedwith": [{"activity_id": run, "agent_id": agent, "role": "Operator"}],
        "parameter": [{"activity_id": run, "name": "inputs", "value": str(root)},
                      {"activity_id": run, "name": "config", "value": "/etc/tapserver/legacy.toml"}],
        "configfile": [{"activity_id": run, "name": "legacy.toml", "location": "/etc/tapserver/legacy.toml"}],
        "entity": [{"id": entity[key], "name": path.name, "location": str(path), "entity_class": "DatasetEntity",
                    "checksum": f"sha256:{key}"} for key, (_, path) in files.items()]
        + [{"id": did, "name": did, "location": f"http://x/datalink/links?ID={did}", "entity_class": "DatasetEntity"}
           for did in dids.values()],
        "used": [{"activity_id": run, "entity_id": entity[key], "role": role} for key, (role, _) in files.items()],
        "wasgeneratedby": [{"entity_id": did, "activity_id": run, "role": "obscore"} for did in dids.values()],
        "wasderivedfrom": [{"generatedentity_id": entity[index], "usedentity_id": entity[events]}
                           for index in ("hdu", "obs") for events in ("ev1", "ev2")],
    }
    return rows


def test_migration_splits_a_legacy_run(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    (root / "data").mkdir(parents=True)
    source = HESS / "data" / "hess_dl3_dr1_obs_id_023523.fits.gz"
    (root / "data" / "obs_1.fits.gz").write_bytes(source.read_bytes() if source.is_file()
                                                  else gzip.compress(b"SIMPLE" + b" " * 2874))
    dids = {"1": "ivo://x/legacy?1", "2": "ivo://x/legacy?2"}
    with throwaway_database("tapserver_prov_0009") as url:
        settings = settings_for(url.render_as_string(hide_password=False), workers=0,
                                data_dir=tmp_path / "var", data_roots=[tmp_path])
        engine = admin_engine(settings)
        try:
            with engine.connect() as conn:
                command.upgrade(_alembic_config(conn, settings), "0007")
                conn.commit()
            with engine.begin() as conn:
                for obs_id, did in dids.items():
                    conn.execute(text("INSERT INTO ivoa.obscore (obs_publisher_did, obs_collection, obs_id, "
                                      "calib_level) VALUES (:d, 'legacy', :o, 2)"), {"d": did, "o": obs_id})
                    path = root / "data" / f"obs_{obs_id}.fits.gz"
                    conn.execute(text(
                        "INSERT INTO datalink.product (product_id, obs_publisher_did, semantics, content_type, "
                        "content_length, content_qualifier, file_path, hdu_name, hdu_index, sort_order) VALUES "
                        "(:d || '#events', :d, '#this', 'application/x-fits-gzip', 1, 'event', :p, NULL, NULL, 0), "
                        "(:d || '#gti', :d, '#auxiliary', 'application/fits', 2, NULL, :p, 'GTI', 2, 1), "
                        "(:d || '#aeff', :d, '#calibration', 'application/fits', 3, NULL, :irf, 'AEFF', 1, 2), "
                        "(:d || '#bkg-2', :d, '#calibration', 'application/fits', 4, NULL, :irf, 'BKG', 3, 3)"),
                        {"d": did, "p": str(path), "irf": str(root / "irf.fits")})
            insert(engine, _legacy_rows(root, dids))
            upgrade(settings)
            with engine.connect() as conn:
                products = {r[0].rpartition("#")[2]: r[1:] for r in conn.execute(text(
                    "SELECT product_id, content_type, content_length, content_qualifier, local_semantics "
                    "FROM datalink.product WHERE obs_publisher_did = :d"), {"d": dids["1"]})}
        finally:
            engine.dispose()
        expected_length = len(gzip.decompress((root / "data" / "obs_1.fits.gz").read_bytes()))
        assert products == {
            "events": ("application/fits", expected_length, "#event", "events"),
            "gti": ("application/fits", 2, "https://gamma-astro-data-formats.readthedocs.io/en/v0.3/events/gti.html",
                    "gti"),
            "aeff": ("application/fits", 3, "http://www.ivoa.net/rdf/response-type#aeff", "aeff"),
            "bkg-2": ("application/fits", 4, "http://www.ivoa.net/rdf/response-type#bkgrate", "bkg"),
        }
        for served in _serve(settings):
            found = entities(served.client, dids["1"])
            locations = sorted(str(e.get("prov:location", "")) for e in found.values())
            assert locations == sorted([
                f"http://x/datalink/links?ID={dids['1']}", "archive/data/obs_1.fits.gz", "archive/irf.fits",
                "archive/hdu-index.fits.gz#OBS_ID=1", "archive/obs-index.fits.gz#OBS_ID=1"])
            for response_format in FORMATS:
                assert_no_server_path(provsap(served.client, dids["1"], response_format), tmp_path,
                                      Path("/etc/tapserver"))
