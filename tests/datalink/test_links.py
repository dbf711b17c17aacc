"""/datalink/links: the DataLink 1.1 table, per-ID errors, RESPONSEFORMAT, POST, self-description."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import numpy as np
import pytest
from astropy.io.votable import parse
from lxml import etree
from starlette.testclient import TestClient

from tapserver.datalink.links import LinksService
from tapserver.datalink.model import LINKS_STANDARD_ID
from tapserver.datalink.rights import NoGrants
from tapserver.datalink.storage import ProductStore
from tests import stilts
from tests.datalink.conftest import BASE_URL, DATASETS, FACT, HESS, RESPONSE_TYPES, World, decompressed, hdu_bytes

V = "{http://www.ivoa.net/xml/VOTable/v1.3}"
FACT_DID, HESS_DID = DATASETS["fact"][0], DATASETS["hess"][0]
COLUMNS = ["ID", "access_url", "service_def", "error_message", "semantics", "description", "content_type",
           "content_length", "content_qualifier", "local_semantics", "link_auth", "link_authorized"]


def _value(cell: object) -> object:
    if np.ma.is_masked(cell):
        return None
    value = cell.item() if isinstance(cell, np.generic) else cell
    return None if value == "" else value  # an empty TD is a null


def table(content: bytes) -> list[dict[str, object]]:
    """The links table as dicts, parsed by astropy (nulls as None)."""
    parsed = parse(io.BytesIO(content), verify="exception").get_first_table().to_table()
    return [{name: _value(row[name]) for name in parsed.colnames} for row in parsed]


def links(client: TestClient, *ids: str, **params: str) -> list[dict[str, object]]:
    response = client.get("/datalink/links", params={"ID": list(ids), **params})
    assert response.status_code == 200, response.text
    return table(response.content)


def test_fields_follow_the_standard(client: TestClient) -> None:
    response = client.get("/datalink/links", params={"ID": FACT_DID})
    assert response.headers["content-type"] == "application/x-votable+xml;content=datalink"
    doc = etree.fromstring(response.content)
    fields = doc.findall(f"{V}RESOURCE/{V}TABLE/{V}FIELD")
    assert [f.get("name") for f in fields] == COLUMNS
    by_name = {f.get("name"): f for f in fields}
    for name in COLUMNS:
        if name not in ("content_length", "link_authorized"):
            assert (by_name[name].get("datatype"), by_name[name].get("arraysize")) == ("char", "*"), name
    assert by_name["content_length"].get("datatype") == "long"
    assert by_name["content_length"].get("unit") == "byte"
    assert by_name["content_length"].get("arraysize") is None
    assert by_name["link_authorized"].get("datatype") == "boolean"
    ucds = {name: by_name[name].get("ucd") for name in COLUMNS}
    assert ucds["ID"] == "meta.id;meta.main" and ucds["access_url"] == "meta.ref.url"
    assert ucds["error_message"] == "meta.code.error" and ucds["content_length"] == "phys.size;meta.file"
    results = doc.find(f"{V}RESOURCE[@type='results']")
    infos = {i.get("name"): i.get("value") for i in results.findall(f"{V}INFO")}
    assert infos == {"QUERY_STATUS": "OK", "standardID": LINKS_STANDARD_ID}
    assert doc.find(f"{V}RESOURCE[@utype='adhoc:this']") is not None


def test_products_of_a_dataset(client: TestClient, world: World) -> None:
    rows = links(client, HESS_DID)
    assert {r["ID"] for r in rows} == {HESS_DID}
    files = [r for r in rows if str(r["access_url"] or "").startswith(f"{BASE_URL}/files/")]
    assert [r["semantics"] for r in files] == ["#this", "#auxiliary", "#auxiliary", "#calibration",
                                               "#calibration", "#calibration", "#calibration"]
    this = files[0]
    assert this["access_url"] == world.url("hess:020136#events")
    # the gzip event file is delivered as the FITS file it holds
    assert this["content_type"] == "application/fits"
    assert this["content_length"] == len(decompressed(HESS))
    assert (this["content_qualifier"], this["local_semantics"]) == ("#event", "events")
    calibration = {r["local_semantics"]: r for r in files if r["semantics"] == "#calibration"}
    assert set(calibration) == {"aeff", "edisp", "psf", "bkg"}
    assert {kind: r["content_qualifier"] for kind, r in calibration.items()} == RESPONSE_TYPES
    # An extension HDU is served behind a one-block primary HDU: the advertised length says so.
    assert calibration["aeff"]["content_length"] == 2880 + len(hdu_bytes(HESS, 3))
    assert calibration["aeff"]["content_type"] == "application/fits"
    primary = next(r for r in files if r["access_url"] == world.url("hess:020136#primary"))
    assert primary["content_length"] == len(hdu_bytes(HESS, 0))
    for r in files:
        assert (r["link_auth"], r["link_authorized"], r["error_message"], r["service_def"]) == \
            ("false", True, None, None)


def test_bare_product_type_is_written_as_a_relative_term(client: TestClient) -> None:
    rows = links(client, FACT_DID)
    assert rows[0]["semantics"] == "#this" and rows[0]["content_qualifier"] == "#event"
    assert rows[0]["content_length"] == FACT.stat().st_size


def test_provenance_links(client: TestClient) -> None:
    rows = [r for r in links(client, FACT_DID) if "provsap" in str(r["access_url"]) or r["service_def"] == "provsap"]
    assert len(rows) == 3
    direct = {r["content_type"]: r["access_url"] for r in rows if r["access_url"]}
    encoded = "ivo%3A%2F%2Ftest.example%2Ffact%3F103"
    assert direct["application/json"] == \
        f"{BASE_URL}/provsap?ID={encoded}&DEPTH=ALL&DIRECTION=BACK&RESPONSEFORMAT=PROV-JSON"
    assert str(direct["image/svg+xml"]).endswith("RESPONSEFORMAT=PROV-SVG")
    assert all(r["semantics"] == "#progenitor" for r in rows)
    (service,) = [r for r in rows if r["service_def"]]
    assert service["service_def"] == "provsap"


@pytest.mark.parametrize("service", ["provsap", "soda", "gadf"])
def test_service_def_points_to_a_descriptor_bound_to_the_id_field(client: TestClient, service: str) -> None:
    doc = etree.fromstring(client.get("/datalink/links", params={"ID": FACT_DID}).content)
    descriptor = doc.find(f"{V}RESOURCE[@ID='{service}']")
    assert descriptor is not None and descriptor.get("utype") == "adhoc:service"
    (id_param,) = descriptor.findall(f"{V}GROUP[@name='inputParams']/{V}PARAM[@name='ID']")
    field = doc.find(f"{V}RESOURCE/{V}TABLE/{V}FIELD[@ID='{id_param.get('ref')}']")
    assert field is not None and field.get("name") == "ID"


def test_datasets_with_an_event_file_offer_cutouts_and_a_gadf_store(client: TestClient) -> None:
    rows = links(client, FACT_DID)
    services = {r["service_def"]: r for r in rows if r["service_def"]}
    assert set(services) == {"provsap", "soda", "gadf"}
    assert services["soda"]["semantics"] == "#cutout"
    assert services["gadf"]["semantics"] == "#auxiliary"
    assert not any(r["service_def"] in ("soda", "gadf") for r in links(client, DATASETS["empty"][0]))


def test_unknown_id_is_a_row_not_an_http_error(client: TestClient) -> None:
    rows = links(client, "ivo://test.example/fact?nothing")
    assert rows == [{**dict.fromkeys(COLUMNS), "ID": "ivo://test.example/fact?nothing", "semantics": "#this",
                     "error_message": "NotFoundFault: ivo://test.example/fact?nothing is not a dataset of "
                                      "this service"}]


def test_dataset_without_files(client: TestClient) -> None:
    rows = links(client, DATASETS["empty"][0])
    assert rows[0]["semantics"] == "#this"
    assert str(rows[0]["error_message"]).startswith("NotFoundFault: no data file")
    assert rows[0]["access_url"] is None


def test_rows_of_each_id_are_consecutive_and_in_request_order(client: TestClient) -> None:
    ids = [HESS_DID, "unknown", FACT_DID, HESS_DID, ""]
    rows = links(client, *ids)
    order = [r["ID"] for r in rows]
    groups = [order[0]] + [b for a, b in itertools.pairwise(order) if a != b]
    assert groups == [HESS_DID, "unknown", FACT_DID]


def test_post_form_and_case_insensitive_names(client: TestClient) -> None:
    response = client.post("/datalink/links", data={"id": [FACT_DID, HESS_DID], "responseformat": "votable"})
    assert response.status_code == 200
    assert {r["ID"] for r in table(response.content)} == {FACT_DID, HESS_DID}
    lower = client.get("/datalink/links", params={"id": FACT_DID})
    assert {r["ID"] for r in table(lower.content)} == {FACT_DID}


def test_post_multipart(client: TestClient) -> None:
    response = client.post("/datalink/links", files={"ID": (None, FACT_DID)})
    assert response.status_code == 200
    assert {r["ID"] for r in table(response.content)} == {FACT_DID}


def test_no_id_gives_an_empty_table_with_the_self_description(client: TestClient) -> None:
    response = client.get("/datalink/links")
    assert response.status_code == 200
    assert table(response.content) == []
    doc = etree.fromstring(response.content)
    (this,) = doc.findall(f"{V}RESOURCE[@utype='adhoc:this']")
    params = {p.get("name"): p.get("value") for p in this.findall(f"{V}PARAM")}
    assert params["accessURL"] == f"{BASE_URL}/datalink/links"
    assert params["standardID"] == LINKS_STANDARD_ID
    assert doc.find(f"{V}RESOURCE[@ID='provsap']") is None  # no row refers to it


@pytest.mark.parametrize(("value", "content_type"), [
    ("votable", "application/x-votable+xml;content=datalink"),
    ("VOTable", "application/x-votable+xml;content=datalink"),
    ("application/x-votable+xml", "application/x-votable+xml;content=datalink"),
    ("application/x-votable+xml;content=datalink", "application/x-votable+xml;content=datalink"),
    ("application/x-votable+xml; serialization=TABLEDATA", "application/x-votable+xml;content=datalink"),
    ("text/xml", "text/xml"),
    ("", "application/x-votable+xml;content=datalink"),
])
def test_responseformat_accepted(client: TestClient, value: str, content_type: str) -> None:
    response = client.get("/datalink/links", params={"ID": FACT_DID, "RESPONSEFORMAT": value})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(content_type)
    assert b"<TABLEDATA>" in response.content


def test_responseformat_refused(client: TestClient) -> None:
    response = client.get("/datalink/links", params={"ID": FACT_DID, "RESPONSEFORMAT": "text/csv"})
    assert response.status_code == 400
    assert 'value="ERROR"' in response.text and "RESPONSEFORMAT" in response.text
    twice = client.get("/datalink/links", params={"ID": FACT_DID, "RESPONSEFORMAT": ["votable", "votable"]})
    assert twice.status_code == 400


def test_overflow_when_ids_exceed_the_cap(world: World) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine(world.settings.admin_url, poolclass=NullPool)
    try:
        service = LinksService(ProductStore(engine), BASE_URL, NoGrants(), max_ids=2)
        result = service.links([FACT_DID, HESS_DID, "third"], None)
    finally:
        engine.dispose()
    assert result.overflow
    assert {row.id for row in result.rows} == {FACT_DID, HESS_DID}
    from tapserver.datalink.document import render_links

    doc = etree.fromstring(render_links(result, BASE_URL))
    results = doc.find(f"{V}RESOURCE[@type='results']")
    statuses = [i.get("value") for i in results.findall(f"{V}INFO[@name='QUERY_STATUS']")]
    assert statuses == ["OK", "OVERFLOW"]
    # The post-table INFO comes after the TABLE, as DALI wants.
    children = [child.tag for child in results]
    assert children.index(f"{V}TABLE") < len(children) - 1


def test_special_characters_are_escaped(world: World) -> None:
    from tapserver.datalink.document import render_links
    from tapserver.datalink.model import LinkRow, LinksResult

    odd = 'ivo://x/y?a&b<c>"d\'\r\nz]]>'
    result = LinksResult(rows=(LinkRow(id=odd, semantics="#this", error_message=f"NotFoundFault: {odd}"),),
                         overflow=False)
    cells = etree.fromstring(render_links(result, BASE_URL)).findall(f".//{V}TR/{V}TD")
    assert cells[0].text == odd and cells[3].text == f"NotFoundFault: {odd}"


def _datalinklint(path: Path) -> str:
    run = stilts.run("datalinklint", f"votable={path}", timeout=120)
    return run.stdout + run.stderr


def test_datalinklint_has_no_errors(client: TestClient, tmp_path: Path) -> None:
    cases = {
        "fact": [FACT_DID],
        "hess": [HESS_DID],
        "several": [FACT_DID, HESS_DID, DATASETS["embargoed"][0], DATASETS["empty"][0], "ivo://nowhere?x"],
        "none": [],
    }
    for name, ids in cases.items():
        path = tmp_path / f"{name}.xml"
        path.write_bytes(client.get("/datalink/links", params={"ID": ids}).content)
        report = _datalinklint(path)
        assert "Totals: Errors: 0; Warnings: 0;" in report, f"{name}:\n{report}"
