"""/provsap over HTTP: every format parses back into the same graph, parameter checks, errors."""

from __future__ import annotations

import io
import json
import warnings
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from astropy.io.votable import parse as parse_votable
from lxml import etree
from prov.model import ProvDocument
from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import NullPool
from starlette.testclient import TestClient

from tapserver.config import Settings
from tapserver.provenance import CAPABILITY, STANDARD_ID
from tapserver.provenance.formats import prov_document
from tapserver.provenance.graph import TABLES, ProvGraph
from tapserver.provenance.mapping import Model, graph_from_prov
from tapserver.provenance.storage import WalkRequest, walk
from tests.provenance.conftest import clear, insert
from tests.provenance.graphs import CYCLE, DL3, PIPELINE

PROV_FORMATS = {"PROV-JSON": "json", "PROV-N": "provn", "PROV-XML": "xml"}


@pytest.fixture(scope="module")
def client(app_client: TestClient, prov_engine: Engine) -> Iterator[TestClient]:
    insert(prov_engine, PIPELINE)
    insert(prov_engine, CYCLE)
    yield app_client
    clear(prov_engine)


@pytest.fixture(scope="module")
def stored(client: TestClient, prov_engine: Engine) -> ProvGraph:
    """The whole history of the DL3 dataset as the walk returns it (the reference for the formats)."""
    with prov_engine.connect() as conn:
        result = walk(conn, WalkRequest(ids=(DL3,), depth=None), max_nodes=1000)
    assert result.graph is not None
    return result.graph


@pytest.fixture(scope="module")
def nodes_only(client: TestClient, prov_engine: Engine) -> ProvGraph:
    """The same history without descriptions and configuration (what the SVG draws)."""
    with prov_engine.connect() as conn:
        result = walk(conn, WalkRequest(ids=(DL3,), depth=None, details=False), max_nodes=1000)
    assert result.graph is not None
    return result.graph


def get(client: TestClient, **params: Any) -> Any:
    return client.get("/provsap", params=params)


def parse(text: str, fmt: str) -> ProvDocument:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the documents must parse without any complaint
        return ProvDocument.deserialize(content=text, format=fmt)


def iris(body: dict[str, Any], section: str) -> set[str]:
    """The full identifiers of the records of one PROV-JSON section."""
    return {body["prefix"][key.split(":", 1)[0]] + key.split(":", 1)[1] for key in body.get(section, {})}


def expand(body: dict[str, Any], qname: str) -> str:
    prefix, local = qname.split(":", 1)
    return str(body["prefix"][prefix]) + local


def natural(graph: ProvGraph) -> dict[str, set[tuple[Any, ...]]]:
    """Rows without the database's relation row ids, comparable across databases and formats."""
    out = {}
    for table, rows in graph.rows.items():
        keep = [c.name for c in TABLES[table].columns if not (c.name == "id" and c.sql_type == "bigint")]
        out[table] = {tuple(row.get(c) for c in keep) for row in rows}
    return out


@pytest.mark.parametrize("name", list(PROV_FORMATS))
def test_w3c_formats_round_trip_to_the_same_graph(client: TestClient, stored: ProvGraph, name: str) -> None:
    response = get(client, ID=DL3, DEPTH="ALL", RESPONSEFORMAT=name)
    assert response.status_code == 200, response.text
    document = parse(response.text, PROV_FORMATS[name])
    assert document == prov_document(stored, Model.IVOA)
    back = graph_from_prov(document)
    assert back.referenced_entity_times == {}
    assert natural(back.graph) == natural(stored)


def test_the_three_w3c_formats_agree(client: TestClient) -> None:
    documents = [parse(get(client, ID=DL3, DEPTH=3, RESPONSEFORMAT=name).text, fmt)
                 for name, fmt in PROV_FORMATS.items()]
    assert documents[0] == documents[1] == documents[2]
    assert len(documents[0].get_records()) > 20


def test_prov_json_is_the_default_and_uses_readable_names(client: TestClient) -> None:
    response = get(client, ID=DL3)
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["prefix"]["ivo"] == "ivo://x/"
    assert body["prefix"]["voprov"] == "http://www.ivoa.net/documents/ProvenanceDM/index.html#"
    assert body["entity"]["ivo:dl3?obs_1"]["prov:label"] == "DL3 run 1"
    assert body["entity"]["ivo:dl3?obs_1"]["prov:type"] == {"$": "voprov:DatasetEntity", "type": "xsd:QName"}
    generation = next(g for g in body["wasGeneratedBy"].values() if "prov:activity" in g)
    assert expand(body, generation["prov:activity"]) == "urn:x:act/dl3"
    agents = {expand(body, key): value for key, value in body["agent"].items()}
    assert agents["urn:x:agent/dpps"]["prov:type"] == {"$": "prov:Organization", "type": "xsd:QName"}


def test_w3c_model_has_only_w3c_names(client: TestClient) -> None:
    text = get(client, ID=DL3, DEPTH="ALL", MODEL="W3C").text
    assert "voprov" not in text and "tapserver:" not in text
    document = parse(text, "json")
    kinds = {type(record).__name__ for record in document.get_records()}
    assert kinds == {"ProvEntity", "ProvActivity", "ProvAgent", "ProvUsage", "ProvGeneration", "ProvDerivation",
                     "ProvCommunication", "ProvAssociation", "ProvAttribution", "ProvMembership",
                     "ProvInvalidation"}
    labels = {str(r.label) for r in document.get_records() if hasattr(r, "label") and r.identifier}
    assert "DL3 run 1" in labels


def test_votable_holds_the_same_graph(client: TestClient, stored: ProvGraph) -> None:
    response = get(client, ID=DL3, DEPTH="ALL", RESPONSEFORMAT="PROV-VOTABLE")
    assert response.headers["content-type"].startswith("application/x-votable+xml")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # astropy warns on any VOTable irregularity
        votable = parse_votable(io.BytesIO(response.content))
    resource = votable.resources[0]
    assert {info.name: info.value for info in resource.infos}["QUERY_STATUS"] == "OK"
    rows: dict[str, list[dict[str, Any]]] = {}
    for table in resource.tables:
        names = [field.name for field in table.fields]
        assert names == [c.name for c in TABLES[table.name].columns]
        assert all(field.ucd for field in table.fields)
        types = [TABLES[table.name].column(name).sql_type for name in names]  # type: ignore[union-attr]
        rows[table.name] = [
            {name: _plain(value, kind) for name, kind, value in zip(names, types, row, strict=True)}
            for row in table.array.tolist()]
    assert set(rows) == set(TABLES)
    graph = ProvGraph(rows=rows)
    assert natural(graph) == natural(stored)
    assert prov_document(graph, Model.IVOA) == prov_document(stored, Model.IVOA)


def test_votable_with_the_w3c_model_has_the_w3c_tables(client: TestClient) -> None:
    response = get(client, ID=DL3, DEPTH=1, RESPONSEFORMAT="votable", MODEL="W3C")
    tables = [table.name for table in parse_votable(io.BytesIO(response.content)).iter_tables()]
    assert tables == ["entity", "activity", "agent", "used", "wasgeneratedby", "wasderivedfrom", "wasinformedby",
                      "wasassociatedwith", "wasattributedto", "hadmember"]


def _plain(value: Any, sql_type: str) -> Any:
    if value is None or value == "" or (isinstance(value, float) and value != value):
        return None
    if sql_type.startswith("timestamp"):
        return datetime.fromisoformat(str(value))
    return value


def test_svg_is_valid_and_shows_every_node(client: TestClient, nodes_only: ProvGraph) -> None:
    stored = nodes_only
    response = get(client, ID=DL3, DEPTH="ALL", RESPONSEFORMAT="PROV-SVG")
    assert response.headers["content-type"] == "image/svg+xml"
    root = etree.fromstring(response.content)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    ns = {"s": "http://www.w3.org/2000/svg"}
    drawn = {g.get("data-id"): g.get("class") for g in root.iterfind(".//s:g[@data-id]", ns)}
    assert drawn == {node.id: f"node {node.kind.value}" + (" seed" if node.id == DL3 else "")
                     for node in stored.nodes()}
    edges = root.findall(".//s:g[@class]", ns)
    relations = sum(1 for _ in stored.links())
    assert sum(1 for g in edges if g.get("class", "").startswith("edge ")) == relations
    for group in root.iterfind(".//s:g[@data-id]", ns):
        assert group.find("s:title", ns) is not None and group.findall("s:text", ns)
    width, height = float(root.get("width")), float(root.get("height"))
    for shape in root.iterfind(".//s:rect", ns):
        assert 0 <= float(shape.get("x")) <= width and 0 <= float(shape.get("y")) <= height


def test_svg_time_runs_left_to_right(client: TestClient) -> None:
    ns = {"s": "http://www.w3.org/2000/svg"}

    def x_of(body: bytes, identifier: str) -> float:
        root = etree.fromstring(body)
        group = next(g for g in root.iterfind(".//s:g[@data-id]", ns) if g.get("data-id") == identifier)
        shape = group[1]
        return float(shape.get("cx") or shape.get("x"))

    back = get(client, ID=DL3, DEPTH=2, RESPONSEFORMAT="svg").content
    assert x_of(back, "urn:x:act/dl3") < x_of(back, DL3)
    forth = get(client, ID="urn:x:r0/run1-tel1", DEPTH=2, DIRECTION="FORTH", RESPONSEFORMAT="svg").content
    assert x_of(forth, "urn:x:r0/run1-tel1") < x_of(forth, "urn:x:dl1/run1-tel1")


def test_depth_and_direction_over_http(client: TestClient) -> None:
    def node_ids(**params: Any) -> set[str]:
        body = get(client, **params).json()
        return iris(body, "entity") | iris(body, "activity")

    assert node_ids(ID=DL3, DEPTH=0, MODEL="W3C") == {DL3}
    assert "urn:x:desc/dl3" in node_ids(ID=DL3, DEPTH=0)  # IVOA: the description comes with its entity
    assert node_ids(ID=DL3, DEPTH=1, MODEL="W3C") == {DL3, "urn:x:act/dl3", "urn:x:dl2/run1",
                                                      "urn:x:collection/release1"}
    back = node_ids(ID=DL3, DEPTH="all", MODEL="W3C")
    assert "urn:x:r0/run1-tel2" in back and "ivo://x/dl3?obs_2" not in back
    forth = node_ids(ID="urn:x:r0/run1-tel1", DEPTH="ALL", DIRECTION="forth", MODEL="W3C")
    assert "ivo://x/dl3?obs_2" in forth and "urn:x:r0/run1-tel2" not in forth


def test_several_ids_post_and_lower_case_names(client: TestClient) -> None:
    response = client.post("/provsap", data={"id": [DL3, "urn:x:mc/train"], "depth": "0", "model": "w3c"})
    assert response.status_code == 200, response.text
    assert iris(response.json(), "entity") == {DL3, "urn:x:mc/train"}


@pytest.mark.parametrize(("params", "message"), [
    ({}, "missing parameter ID"),
    ({"ID": " "}, "missing parameter ID"),
    ({"ID": DL3, "DEPTH": "-1"}, "DEPTH must be a non-negative integer or ALL"),
    ({"ID": DL3, "DEPTH": "two"}, "DEPTH must be a non-negative integer or ALL"),
    ({"ID": DL3, "DEPTH": "51"}, "DEPTH must be at most 50"),
    ({"ID": DL3, "DEPTH": ["1", "2"]}, "DEPTH must be given at most once"),
    ({"ID": DL3, "DIRECTION": "UP"}, "DIRECTION must be BACK or FORTH"),
    ({"ID": DL3, "AGENT": "maybe"}, "AGENT must be true or false"),
    ({"ID": DL3, "MEMBERS": "2"}, "MEMBERS must be true or false"),
    ({"ID": DL3, "MODEL": "OPM"}, "MODEL must be IVOA or W3C"),
    ({"ID": DL3, "RESPONSEFORMAT": "application/pdf"}, "unsupported RESPONSEFORMAT"),
    ({"ID": DL3, "STEPS": "true"}, "unsupported parameter STEPS"),
    ({"ID": DL3, "AGENTS": "1"}, "unsupported parameter AGENTS"),
])
def test_bad_values_are_400(client: TestClient, params: dict[str, Any], message: str) -> None:
    response = get(client, **params)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/x-votable+xml")
    assert message in response.text and 'value="ERROR"' in response.text


def test_unknown_id_is_404(client: TestClient) -> None:
    response = get(client, ID=[DL3, "ivo://x/dl3?nothing"])
    assert response.status_code == 404
    assert "ivo://x/dl3?nothing" in response.text and 'value="ERROR"' in response.text


def test_an_answer_over_the_node_limit_is_refused(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from tapserver.provenance import formats, service

    monkeypatch.setattr(service, "FORMATS", tuple(replace(f, max_nodes=3) for f in formats.FORMATS))
    monkeypatch.setattr(service, "find_format",
                        lambda value: next(f for f in service.FORMATS if f.name == (value or "PROV-JSON")))
    response = get(client, ID=DL3, DEPTH=2, RESPONSEFORMAT="PROV-SVG")
    assert response.status_code == 400 and "too many to draw (at most 3)" in response.text
    response = get(client, ID=DL3, DEPTH=2, RESPONSEFORMAT="PROV-XML")
    assert response.status_code == 400 and "too many for PROV-XML (at most 3)" in response.text
    assert get(client, ID=DL3, DEPTH=0, RESPONSEFORMAT="PROV-XML").status_code == 200


def test_cycle_over_http_terminates(client: TestClient) -> None:
    body = get(client, ID="urn:cycle:e1", DEPTH="ALL").json()
    assert iris(body, "entity") == {"urn:cycle:e1", "urn:cycle:e2"}
    assert iris(body, "activity") == {"urn:cycle:a1", "urn:cycle:a2"}


def test_capability_declaration() -> None:
    assert CAPABILITY.path == "/provsap"
    assert CAPABILITY.standard_id == STANDARD_ID == "ivo://ivoa.net/std/ProvenanceDM#ProvDAL-1.0"


def test_json_dump_is_plain_json(client: TestClient) -> None:
    text = get(client, ID=DL3, DEPTH="ALL").text
    assert json.loads(text)["prefix"]


def test_capabilities_declare_provsap(client: TestClient) -> None:
    root = etree.fromstring(client.get("/tap/capabilities").content)
    caps = [c for c in root.iter("capability") if c.get("standardID") == STANDARD_ID]
    assert len(caps) == 1
    (url,) = caps[0].iter("accessURL")
    assert url.text.endswith("/provsap")


def test_the_server_node_limit(client: TestClient, prov_settings: Settings) -> None:
    from tapserver.handlers.provsap import provsap_service
    from tapserver.provenance.service import Limits, ProvSAPService

    engine = create_engine(prov_settings.query_url, poolclass=NullPool)
    overrides = client.app.dependency_overrides  # type: ignore[attr-defined]
    overrides[provsap_service] = lambda: ProvSAPService(engine, Limits(max_nodes=5))
    try:
        response = get(client, ID=DL3, DEPTH="ALL")
        assert response.status_code == 400 and "more than the limit of 5" in response.text
        assert get(client, ID=DL3, DEPTH=0).status_code == 200
    finally:
        overrides.clear()
        engine.dispose()
