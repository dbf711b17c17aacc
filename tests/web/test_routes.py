"""The pages and endpoints of tapserver.web through the ASGI app, on a database of their own holding the FACT
demo data (ingested by the real `tapserver ingest`), and on an empty archive."""

from __future__ import annotations

import io
import json
import math
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import astropy.units as u
import pytest
from astropy.io import fits
from astropy.io.votable import parse_single_table
from fastapi.testclient import TestClient
from lxml import etree
from mocpy import MOC
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tapserver.app import create_app
from tapserver.config import Settings
from tapserver.tap.examples import EXAMPLES
from tapserver.web.assets import assets
from tests.conftest import settings_for
from tests.dbutil import migrated_database
from tests.e2e.server import run

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "demo"
BASE_URL = "http://testserver"
DID = "ivo://tapserver.example/FACT/open-data?20131103103"


@pytest.fixture(scope="module")
def demo_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with migrated_database("tapserver_webroutes") as url:
        raw = url.render_as_string(hide_password=False)
        settings = settings_for(raw, base_url=BASE_URL, data_roots=[DEMO / "data"], workers=0,
                                data_dir=tmp_path_factory.mktemp("webdata"), title="FACT <demo> & co")
        env = {k: v for k, v in os.environ.items() if not k.startswith("TAPSERVER_")}
        env.update({"TAPSERVER_DATABASE_URL": raw.replace("+psycopg", ""), "TAPSERVER_BASE_URL": BASE_URL})
        code, output = run(["ingest", str(DEMO / "data" / "fact"), "--config", str(DEMO / "fact.toml"), "--quiet"],
                           env, timeout=300)
        assert code == 0, output
        yield settings


@pytest.fixture(scope="module")
def client(demo_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(demo_settings), base_url=BASE_URL) as test_client:
        yield test_client


def _expected(settings: Settings) -> dict[str, float]:
    """The demo's figures computed here, straight from the table."""
    engine = create_engine(settings.admin_url, poolclass=NullPool)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT count(*) AS n, sum(t_exptime) AS exposure, min(t_min) AS t0, "
                                "max(t_max) AS t1 FROM ivoa.obscore")).one()
    engine.dispose()
    return {"n": row.n, "exposure": row.exposure, "t0": row.t0, "t1": row.t1}


def test_landing_page(client: TestClient, demo_settings: Settings) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    page = response.text
    expected = _expected(demo_settings)
    # the title is escaped, never markup
    assert "FACT &lt;demo&gt; &amp; co" in page and "<demo>" not in page
    assert f'value="{BASE_URL}/tap"' in page and f"{BASE_URL}/tap/sync" in page
    assert f"<strong>{expected['n']:,}</strong> <span>datasets</span>" in page
    assert "FACT/open-data" in page and "2013-11-04" in page
    doc = etree.fromstring(page.encode(), etree.HTMLParser())
    moc = doc.xpath('//svg[contains(@class, "skymap")]//path[@class="moc"]/@d')
    assert moc and moc[0].count("M") >= 1
    boxes = doc.xpath('//svg[contains(@class, "time-energy")]//g[@class="boxes"]//rect')
    assert len(boxes) == expected["n"]
    assert doc.xpath('//svg[contains(@class, "skymap")]//path[@class="galactic-plane"]')
    # no external resource: every src/href of the head is local
    for ref in doc.xpath("//script/@src | //link/@href | //img/@src"):
        assert ref.startswith("/"), ref
    assert "Available" in page


def test_stats_json(client: TestClient, demo_settings: Settings) -> None:
    stats = client.get("/api/stats").json()
    expected = _expected(demo_settings)
    assert stats["datasets"] == expected["n"]
    (collection,) = stats["collections"]
    assert collection["name"] == "FACT/open-data" and collection["datasets"] == expected["n"]
    assert collection["exposure_s"] == pytest.approx(expected["exposure"])
    assert collection["t_min"] == pytest.approx(expected["t0"]) and collection["t_max"] == pytest.approx(expected["t1"])
    assert 0.1 < collection["e_min_tev"] < collection["e_max_tev"] < 1000
    # FACT's field of view is 4.5 deg wide, two pointings (wobble): between one and two caps of 2.25 deg
    cap = 2 * math.pi * (1 - math.cos(math.radians(2.25))) / (4 * math.pi)
    assert cap * 0.95 < stats["coverage"]["sky_fraction"] < 2 * cap * 1.05
    assert stats["status"]["available"] is True and stats["status"]["published_tables"] >= 3


def test_coverage_endpoint(client: TestClient) -> None:
    response = client.get("/tap/coverage")
    assert response.status_code == 200 and response.headers["content-type"] == "application/fits"
    moc = MOC.from_fits(io.BytesIO(response.content))
    assert moc.contains_lonlat(83.1375 * u.deg, 21.6281 * u.deg)[0]
    with fits.open(io.BytesIO(response.content)) as hdul:
        assert hdul[1].header["MOCORDER"] == 9
    etag = response.headers["etag"]
    assert client.get("/tap/coverage", headers={"If-None-Match": etag}).status_code == 304

    as_json = client.get("/tap/coverage", params={"responseformat": "json"})
    assert as_json.headers["content-type"] == "application/json"
    assert MOC.from_json(as_json.json()).sky_fraction == pytest.approx(moc.sky_fraction)
    by_accept = client.get("/tap/coverage", headers={"Accept": "application/json"})
    assert by_accept.headers["content-type"] == "application/json"
    coarse = client.get("/tap/coverage", params={"MOCORDER": "3"})
    assert MOC.from_fits(io.BytesIO(coarse.content)).max_order == 3

    for params in ({"MOCORDER": "12"}, {"MOCORDER": "x"}, {"RESPONSEFORMAT": "votable"}):
        bad = client.get("/tap/coverage", params=params)
        assert bad.status_code == 400 and 'value="ERROR"' in bad.text


def test_tables_page(client: TestClient) -> None:
    page = client.get("/tables").text
    assert 'id="t-ivoa-obscore"' in page and 'id="t-provenance-entity"' in page
    doc = etree.fromstring(page.encode(), etree.HTMLParser())
    s_ra = doc.xpath('//section[@id="t-ivoa-obscore"]//tr[th/code="s_ra"]/td')
    assert [td.xpath("string()") for td in s_ra[:3]] == ["double", "deg", "pos.eq.ra"]


def test_row_counts_on_tables(client: TestClient, demo_settings: Settings) -> None:
    """VODataService nrows on every table of /tap/tables (and /tap/tables/{name}), and on the /tables page."""
    engine = create_engine(demo_settings.admin_url, poolclass=NullPool)
    with engine.connect() as conn:
        obscore = conn.execute(text("SELECT count(*) FROM ivoa.obscore")).scalar_one()
        hea = conn.execute(text("SELECT count(*) FROM ivoa.obscore_hea")).scalar_one()
    engine.dispose()
    assert obscore == hea > 0
    for detail in ("max", "min"):
        doc = etree.fromstring(client.get("/tap/tables", params={"detail": detail}).content)
        counts = {t.findtext("name"): t.findtext("nrows") for t in doc.iter("table")}
        assert all(value is not None and value.isdigit() for value in counts.values()), counts
        assert counts["ivoa.obscore"] == counts["ivoa.obscore_hea"] == str(obscore)
        assert int(counts["tap_schema.columns"]) > 100
        # VODataService 1.2 order: name, description, utype, nrows, then the columns.
        table = next(t for t in doc.iter("table") if t.findtext("name") == "ivoa.obscore")
        tags = [child.tag for child in table]
        assert tags.index("nrows") > tags.index("description")
        assert detail == "min" or tags.index("nrows") < tags.index("column")
    one = etree.fromstring(client.get("/tap/tables/ivoa.obscore_hea").content)
    assert one.findtext("nrows") == str(obscore)
    page = etree.fromstring(client.get("/tables").text.encode(), etree.HTMLParser())
    shown = page.xpath('string(//section[@id="t-ivoa-obscore"]//small[@class="nrows"])')
    assert shown == f"≈ {obscore:,} rows"


def test_query_page(client: TestClient) -> None:
    query = "SELECT TOP 5 * FROM ivoa.obscore WHERE target_name = '<Crab>'"
    page = client.get("/query", params={"query": query}).text
    assert "&lt;Crab&gt;" in page and "'<Crab>'" not in page
    config = json.loads(re.search(r'<script type="application/json" id="page-config">(.*?)</script>', page,
                                  re.S).group(1))
    assert config["defaultMaxrec"] == 10_000 and {f["name"] for f in config["formats"]} >= {"votable", "csv", "fits"}
    assert 'action="/tap/sync"' in page and 'name="QUERY"' in page


def test_dataset_page(client: TestClient) -> None:
    response = client.get(f"/dataset?ID={quote(DID, safe='')}")
    assert response.status_code == 200
    doc = etree.fromstring(response.content, etree.HTMLParser())
    downloads = doc.xpath('//table[contains(@class, "products")]//a[@class="download"]/@href')
    events_url = f"{BASE_URL}/files/{quote(DID + '#events', safe='')}"
    assert events_url in downloads
    # the event list can be sent through SAMP as a FITS table, from the top of the page and from its row
    for where in ('//p[@class="actions"]', '//table[contains(@class, "products")]'):
        slots = doc.xpath(f'{where}//span[@class="samp-slot"][@data-samp-url="{events_url}"]')
        assert [slot.get("data-samp-mtype") for slot in slots] == ["table.load.fits"], where
    # a response function's qualifier is shown as its term, linked to the vocabulary URI
    terms = {a.text: a.get("href") for a in doc.xpath('//table[contains(@class, "products")]//small/a')}
    assert terms["aeff"] == "http://www.ivoa.net/rdf/response-type#aeff"
    assert terms["gti"].endswith("/events/gti.html")
    prov = doc.xpath('//object[@id="prov-graph"]/@data')[0]
    assert prov.startswith("/provsap?") and "RESPONSEFORMAT=PROV-SVG" in prov
    svg = client.get(prov)
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert "Crab" in response.text and "20131103103" in response.text
    for link in downloads:
        if link.startswith(f"{BASE_URL}/files/"):
            file = client.get(link[len(BASE_URL):])
            assert file.status_code == 200 and file.content[:6] == b"SIMPLE"


def test_unknown_dataset(client: TestClient) -> None:
    assert client.get("/dataset?ID=ivo://nowhere/none").status_code == 404
    assert client.get("/dataset").status_code == 404


def test_static_files(client: TestClient) -> None:
    css = assets()["app.css"]
    response = client.get(css.url)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/css")
    assert "immutable" in response.headers["cache-control"]
    assert client.get("/static/app.css").headers["cache-control"] == "no-cache"
    assert client.get("/static/app.css", headers={"If-None-Match": f'"{css.digest}"'}).status_code == 304
    assert client.get("/static/query.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/static/nothing.js").status_code == 404
    assert client.get("/static/..%2Froutes.py").status_code == 404


def test_every_module_import_is_served() -> None:
    """The ES modules import each other by relative name: each must exist under static/."""
    names = assets()
    for asset in names.values():
        if asset.name.endswith(".js"):
            for target in re.findall(r"from '\./([^']+)'", asset.body.decode()):
                assert target in names, f"{asset.name} imports {target}"


def test_empty_archive(migrated_database_url: str, tmp_path: Path) -> None:
    settings = settings_for(migrated_database_url, base_url=BASE_URL, workers=0, data_dir=tmp_path)
    with TestClient(create_app(settings), base_url=BASE_URL) as empty:
        page = empty.get("/")
        assert page.status_code == 200 and "The archive is empty" in page.text
        assert "No field of view yet" in page.text
        coverage = empty.get("/tap/coverage")
        assert MOC.from_fits(io.BytesIO(coverage.content)).sky_fraction == 0.0
        assert empty.get("/api/stats").json()["datasets"] == 0


def test_landing_page_when_the_database_is_down(tmp_path: Path) -> None:
    """An operator opening the page sees that the database does not answer, instead of an error page."""
    settings = settings_for("postgresql://postgres@127.0.0.1:9/nowhere", workers=0, data_dir=tmp_path)
    with TestClient(create_app(settings), base_url=BASE_URL) as down:
        page = down.get("/")
        assert page.status_code == 200
        assert "The archive database is not answering" in page.text and "Unavailable" in page.text


# Example id -> how many demo runs it returns (footprints, a time range and the High-Energy extension).
EXAMPLE_ROWS = {
    "footprint-contains": 10,  # every demo pointing lies within 0.7 deg of the Crab
    "footprint-overlap": 10,
    "time-overlap": 6,  # runs 103 to 110 overlap 02:00-02:30 UTC
    "hea-energy": 10,
}


@pytest.mark.parametrize(("example_id", "rows"), sorted(EXAMPLE_ROWS.items()))
def test_example_returns_rows_on_the_demo(client: TestClient, example_id: str, rows: int) -> None:
    example = next(e for e in EXAMPLES if e.id == example_id)
    response = client.post("/tap/sync", data={"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": example.query})
    assert response.status_code == 200, response.text
    table = parse_single_table(io.BytesIO(response.content)).to_table()
    assert len(table) == rows, example_id
    if example_id == "hea-energy":
        assert set(table["messenger"]) == {"photon"} and (table["energy_min"] <= 1e12).all()
        assert str(table["energy_min"].unit) == "eV"


def test_hea_table_is_queryable_joinable_and_described(client: TestClient) -> None:
    """ivoa.obscore_hea: 1:1 with ivoa.obscore by NATURAL JOIN, and its TAP_SCHEMA rows carry units and utypes."""
    def query(adql: str) -> Any:
        response = client.post("/tap/sync", data={"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": adql})
        assert response.status_code == 200, response.text
        return parse_single_table(io.BytesIO(response.content)).to_table()

    joined = query("SELECT obs_id, energy_min, energy_max, ev_xel FROM ivoa.obscore NATURAL JOIN ivoa.obscore_hea")
    assert len(joined) == len(query("SELECT obs_id FROM ivoa.obscore")) == 10
    assert (joined["energy_min"] < joined["energy_max"]).all() and (joined["ev_xel"] > 0).all()
    columns = query("SELECT column_name, unit, utype, ucd FROM TAP_SCHEMA.columns "
                    "WHERE table_name = 'ivoa.obscore_hea'")
    described = {str(r["column_name"]): (str(r["unit"] or ""), str(r["utype"] or "")) for r in columns}
    assert described["energy_min"] == ("eV", "hea:energy_min") and described["s_ref_oaa"][0] == "deg"
    assert all(utype for _, utype in described.values())
    keys = query("SELECT from_table, target_table FROM TAP_SCHEMA.keys WHERE from_table = 'ivoa.obscore_hea'")
    assert [(str(r["from_table"]), str(r["target_table"])) for r in keys] == [("ivoa.obscore_hea", "ivoa.obscore")]
