"""End to end: ingest H.E.S.S. DR1, run `tapserver serve`, then TOPCAT- and pyvo-style use of DataLink."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pyvo
import requests
from astropy.io.votable import parse
from astropy.table import Table
from lxml import etree

from tapserver.config import Settings
from tests import stilts
from tests.conftest import settings_for
from tests.datalink.conftest import DL3, RESPONSE_TYPES, decompressed, hdu_bytes, sha256
from tests.dbutil import migrated_database
from tests.e2e.server import running_server

pytestmark = pytest.mark.e2e

HESS_DIR = DL3 / "gammapy-data-hess-dl3-dr1"
V = "{http://www.ivoa.net/xml/VOTable/v1.3}"
OBSCORE_QUERY = ("SELECT TOP 3 obs_id, obs_publisher_did, access_url, access_format FROM ivoa.obscore "
                 "WHERE obs_collection = 'hess-dr1' ORDER BY obs_id")


@dataclass(frozen=True)
class Archive:
    base: str
    settings: Settings

    def dids(self, limit: int = 3) -> list[tuple[str, str]]:
        """(publisher DID, obs_id) of the first datasets, read from the database directly."""
        from sqlalchemy import create_engine, text
        from sqlalchemy.pool import NullPool

        engine = create_engine(self.settings.admin_url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                rows = conn.execute(text("SELECT obs_publisher_did, obs_id FROM ivoa.obscore "
                                         "ORDER BY obs_id LIMIT :n"), {"n": limit}).all()
        finally:
            engine.dispose()
        return [(row[0], row[1]) for row in rows]


def _ingest(settings: Settings) -> None:
    from ingest.config import load_config
    from ingest.pipeline import Options, ingest
    from ingest.progress import Reporter

    config = load_config(None, "hess-dr1")
    summary = ingest(Options(inputs=(str(HESS_DIR),), config=config, jobs=2), settings, Reporter(quiet=True))
    assert summary.exit_code == 0


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    with migrated_database("tapserver_datalink_e2e") as url:
        database_url = url.render_as_string(hide_password=False).replace("+psycopg", "")
        settings = settings_for(database_url, data_dir=tmp_path_factory.mktemp("e2e"))
        log = tmp_path_factory.mktemp("log") / "server.log"
        env = {"TAPSERVER_DATA_ROOTS": json.dumps([str(DL3)]), "TAPSERVER_WORKERS": "0"}
        with running_server(database_url, extra_env=env, log=log) as base:
            # ingest once the base URL is known (access_url is still written at ingest today)
            _ingest(settings.model_copy(update={"base_url": base}))
            yield Archive(base, settings)


def _source(obs_id: str) -> Path:
    return HESS_DIR / "data" / f"hess_dl3_dr1_obs_id_{int(obs_id):06d}.fits.gz"


def _check_links(links: pyvo.dal.adhoc.DatalinkResults, source: Path) -> None:
    """#this is the source file byte for byte, the effective area its HDU, ranges are slices."""
    this = next(links.bysemantics("#this", include_narrower=False))
    event_file = requests.get(this.access_url, timeout=30)
    assert event_file.status_code == 200
    # the gzip file is delivered as the FITS file it holds, with the content type the link announces
    fits_bytes = decompressed(source)
    assert sha256(event_file.content) == sha256(fits_bytes)
    assert int(this["content_length"]) == len(event_file.content)
    assert this["content_type"] == event_file.headers["content-type"] == "application/fits"
    assert (this["content_qualifier"], this["local_semantics"]) == ("#event", "events")
    assert event_file.headers["content-disposition"] == \
        f'attachment; filename="{source.name.removesuffix(".gz")}"'

    calibration = list(links.bysemantics("#calibration", include_narrower=False))
    assert len(calibration) == 4  # effective area, energy dispersion, PSF, background
    # pyvo's rows say which response function each link is (the HEA ObsCore note's terms)
    assert {str(r["local_semantics"]): str(r["content_qualifier"]) for r in calibration} == RESPONSE_TYPES
    gti = next(r for r in links if str(r["local_semantics"]) == "gti")
    assert str(gti["content_qualifier"]).endswith("/events/gti.html")
    aeff = next(r for r in calibration if r.access_url.endswith("%23aeff"))
    served = requests.get(aeff.access_url, timeout=30).content
    assert int(aeff["content_length"]) == len(served)
    assert sha256(served[2880:]) == sha256(hdu_bytes(source, 3))

    middle = len(served) // 2
    ranged = requests.get(aeff.access_url, headers={"Range": f"bytes={middle}-{middle + 9999}"}, timeout=30)
    assert ranged.status_code == 206 and ranged.content == served[middle:middle + 10000]
    whole_range = requests.get(this.access_url, headers={"Range": "bytes=1000-200999"}, timeout=30)
    assert whole_range.status_code == 206 and whole_range.content == fits_bytes[1000:201000]
    provenance = [r for r in links if "/provsap?" in str(r["access_url"])]
    assert len(provenance) == 2
    for row in provenance:  # the ProvSAP record answers in the advertised type
        answer = requests.get(row.access_url, timeout=60)
        assert answer.status_code == 200, answer.text[:500]
        assert answer.headers["content-type"].split(";")[0] == row["content_type"]
    assert sorted(str(r["service_def"]) for r in links if r["service_def"]) == ["gadf", "provsap", "soda"]


def test_pyvo_on_the_links_endpoint(archive: Archive) -> None:
    for did, obs_id in archive.dids():
        url = requests.Request("GET", f"{archive.base}/datalink/links", params={"ID": did}).prepare().url
        links = pyvo.dal.adhoc.DatalinkResults.from_result_url(url)
        assert {str(r["ID"]) for r in links} == {did}
        _check_links(links, _source(obs_id))


def test_pyvo_reaches_event_file_and_irfs(archive: Archive) -> None:
    service = pyvo.dal.TAPService(f"{archive.base}/tap")
    result = service.run_sync(OBSCORE_QUERY)
    assert len(result) == 3
    obs_ids = {str(row["obs_publisher_did"]): str(row["obs_id"]) for row in result}
    seen = set()
    for links in result.iter_datalinks():
        did = str(links[0]["ID"])
        seen.add(did)
        _check_links(links, _source(obs_ids[did]))
    assert seen == set(obs_ids)


def test_obscore_result_carries_a_resolvable_datalink_descriptor(archive: Archive) -> None:
    response = requests.get(f"{archive.base}/tap/sync", params={"LANG": "ADQL", "QUERY": OBSCORE_QUERY},
                            timeout=30)
    assert response.status_code == 200
    doc = etree.fromstring(response.content)
    descriptors = [r for r in doc.iter(f"{V}RESOURCE") if r.get("utype") == "adhoc:service"]
    assert len(descriptors) == 1, "no DataLink service descriptor in the ObsCore result"
    params = {p.get("name"): p for p in descriptors[0].findall(f"{V}PARAM")}
    assert params["standardID"].get("value") == "ivo://ivoa.net/std/DataLink#links-1.1"
    assert params["accessURL"].get("value") == f"{archive.base}/datalink/links"
    (id_param,) = descriptors[0].findall(f"{V}GROUP[@name='inputParams']/{V}PARAM[@name='ID']")
    fields = doc.findall(f".//{V}RESOURCE[@type='results']/{V}TABLE/{V}FIELD")
    target = [f for f in fields if f.get("ID") == id_param.get("ref")]
    assert len(target) == 1 and target[0].get("name") == "obs_publisher_did"
    # and the link pyvo builds from it works
    result = pyvo.dal.TAPResults(parse(io.BytesIO(response.content)), url=f"{archive.base}/tap/sync")
    links = result[0].getdatalink()  # the ID comes from the FIELD the descriptor refers to
    assert next(links.bysemantics("#this", include_narrower=False)).access_url.startswith(
        f"{archive.base}/files/")


def test_writer_output_with_the_descriptor_drives_pyvo(archive: Archive) -> None:
    """The wiring the TAP layer does: translate, stream with the descriptor as an extra RESOURCE; pyvo's
    iter_datalinks then calls {links} in batches through the descriptor (not through access_url)."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    from tapserver.adql import translate
    from tapserver.catalog.cache import CatalogCache
    from tapserver.datalink import service_descriptor
    from tapserver.formats import find_format
    from tapserver.tap.results import stream_query

    engine = create_engine(archive.settings.admin_url, poolclass=NullPool)
    try:
        query = OBSCORE_QUERY.replace("access_url, access_format", "obs_title")
        translation = translate(query, CatalogCache(engine).get(), maxrec=100)
        descriptor = service_descriptor(translation.columns, archive.base)
        assert descriptor is not None
        with engine.connect() as conn:
            content = b"".join(stream_query(conn, translation.sql, translation.columns, find_format("votable"),
                                            maxrec=100, batch_rows=100, extra_resources=[descriptor]))
    finally:
        engine.dispose()
    result = pyvo.dal.TAPResults(parse(io.BytesIO(content)), url=f"{archive.base}/tap/sync")
    assert "access_url" not in result.fieldnames  # so pyvo can only use the descriptor
    obs_ids = {str(row["obs_publisher_did"]): str(row["obs_id"]) for row in result}
    seen = set()
    for links in result.iter_datalinks():
        did = str(links[0]["ID"])
        seen.add(did)
        _check_links(links, _source(obs_ids[did]))
    assert seen == set(obs_ids) and len(seen) == 3


def test_access_url_is_the_links_url(archive: Archive) -> None:
    service = pyvo.dal.TAPService(f"{archive.base}/tap")
    for row in service.run_sync(OBSCORE_QUERY):
        assert row["access_format"] == "application/x-votable+xml;content=datalink"
        url = str(row["access_url"])
        assert url.startswith(f"{archive.base}/datalink/links?ID=")
        links = requests.get(url, timeout=30)
        assert links.status_code == 200
        assert links.headers["content-type"] == "application/x-votable+xml;content=datalink"


def test_datalinklint_on_live_links(archive: Archive) -> None:
    dids = [did for did, _ in archive.dids()]
    for query in ([dids[0]], dids, []):
        url = requests.Request("GET", f"{archive.base}/datalink/links", params={"ID": query}).prepare().url
        run = stilts.run("datalinklint", f"votable={url}", timeout=300)
        assert "Totals: Errors: 0; Warnings: 0;" in run.stdout, run.stdout + run.stderr


def test_moving_the_server_needs_no_reingest(archive: Archive) -> None:
    database_url = archive.settings.admin_url.render_as_string(hide_password=False).replace("+psycopg", "")
    with running_server(database_url, extra_env={"TAPSERVER_DATA_ROOTS": json.dumps([str(DL3)]),
                                                 "TAPSERVER_WORKERS": "0"}) as moved:
        rows = pyvo.dal.TAPService(f"{moved}/tap").run_sync(OBSCORE_QUERY)
        for row in rows:
            assert str(row["access_url"]).startswith(f"{moved}/datalink/links?ID=")
        links = next(iter(rows.iter_datalinks()))
        this = next(links.bysemantics("#this", include_narrower=False))
        assert this.access_url.startswith(f"{moved}/files/")
        assert len(requests.get(this.access_url, timeout=30).content) == int(this["content_length"])


#: STILTS input formats of the content types a DataLink row may announce for a table (parameters ignored).
STILTS_FORMATS = {"application/fits": "fits", "application/x-votable+xml": "votable", "text/csv": "csv"}


@pytest.mark.parametrize("detect", ["content-type", "auto"])
def test_stilts_reads_the_event_list_as_a_table(archive: Archive, detect: str) -> None:
    """STILTS opens the #this link of an event list as the EVENTS table: with the input format taken from the
    link's content type, and with its own format detection on the URL."""
    did, obs_id = archive.dids(1)[0]
    url = requests.Request("GET", f"{archive.base}/datalink/links", params={"ID": did}).prepare().url
    this = next(pyvo.dal.adhoc.DatalinkResults.from_result_url(url).bysemantics("#this", include_narrower=False))
    fmt = STILTS_FORMATS.get(str(this["content_type"]).split(";")[0].strip())
    assert fmt is not None, f"STILTS has no table format for {this['content_type']}"
    args = ["tpipe", f"in={this.access_url}", "omode=meta"]
    if detect == "content-type":
        args.append(f"ifmt={fmt}")
    run = stilts.run(*args, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    events = Table.read(_source(obs_id), hdu="EVENTS")
    assert re.search(rf"Rows:\s+{len(events)}\b", run.stdout), run.stdout
    for column in ("EVENT_ID", "TIME", "RA", "DEC", "ENERGY"):
        assert re.search(rf"\b{column}\b", run.stdout), run.stdout
