"""The {links} service descriptor for TAP results: found column, FIELD ID binding, a document that parses."""

from __future__ import annotations

import io

import pytest
import pyvo
from astropy.io.votable import parse
from lxml import etree

from tapserver.adql.metadata import ResultColumn as ADQLColumn
from tapserver.datalink import CAPABILITY, service_descriptor
from tapserver.votable.document import results_head, results_tail
from tapserver.votable.fields import ResultColumn, field_ids

pytestmark = pytest.mark.nodb

V = "{http://www.ivoa.net/xml/VOTable/v1.3}"
DID_UTYPE = "obscore:Curation.publisherDID"


def col(name: str, utype: str | None = None) -> ResultColumn:
    return ResultColumn(name=name, datatype="char", arraysize="*", utype=utype)


def document(columns: list[ResultColumn], rows: list[list[str]], descriptor: bytes) -> bytes:
    head = results_head(columns, data_open="<DATA><TABLEDATA>\n").encode()
    body = "".join("<TR>" + "".join(f"<TD>{v}</TD>" for v in row) + "</TR>\n" for row in rows).encode()
    return head + body + results_tail("</TABLEDATA></DATA>\n", extra_resources=[descriptor])


def _id_ref(descriptor: bytes) -> str:
    root = etree.fromstring(descriptor)
    (param,) = root.findall("GROUP[@name='inputParams']/PARAM[@name='ID']")
    assert param.get("value") == ""
    return str(param.get("ref"))


def test_no_did_column_no_descriptor() -> None:
    assert service_descriptor([col("obs_id"), col("s_ra")], "http://h") is None
    assert service_descriptor([], "http://h") is None


def test_bound_to_the_did_field() -> None:
    columns = [col("obs_id"), col("obs_publisher_did", DID_UTYPE), col("access_url")]
    descriptor = service_descriptor(columns, "http://archive.example/")
    assert descriptor is not None
    root = etree.fromstring(descriptor)
    assert (root.tag, root.get("type"), root.get("utype"), root.get("ID")) == \
        ("RESOURCE", "meta", "adhoc:service", None)
    params = {p.get("name"): p.get("value") for p in root.findall("PARAM")}
    assert params == {"standardID": "ivo://ivoa.net/std/DataLink#links-1.1",
                      "accessURL": "http://archive.example/datalink/links",
                      "contentType": "application/x-votable+xml;content=datalink"}
    assert _id_ref(descriptor) == field_ids(columns)[1] == "obs_publisher_did"


def test_found_by_utype_under_another_name() -> None:
    columns = [col("obs_id"), col("dataset", "OBSCORE:curation.PUBLISHERDID")]
    assert _id_ref(service_descriptor(columns, "http://h") or b"") == "dataset"


def test_found_by_name_without_utype() -> None:
    columns = [col("x"), col("OBS_PUBLISHER_DID")]
    assert _id_ref(service_descriptor(columns, "http://h") or b"") == "OBS_PUBLISHER_DID"


def test_utype_wins_and_deduplicated_ids_are_followed() -> None:
    # a join: obsconfig's obs_publisher_did (no ObsCore utype) first, then ObsCore's
    columns = [col("obs_publisher_did"), col("obs_publisher_did", DID_UTYPE)]
    assert field_ids(columns) == ("obs_publisher_did", "obs_publisher_did_2")
    assert _id_ref(service_descriptor(columns, "http://h") or b"") == "obs_publisher_did_2"
    explicit = service_descriptor(columns, "http://h", ids=("a", "b"))
    assert _id_ref(explicit or b"") == "b"


def test_accepts_the_adql_result_columns() -> None:
    columns = [ADQLColumn(name="obs_id", datatype="char", arraysize="*"),
               ADQLColumn(name="obs_publisher_did", datatype="char", arraysize="*", utype=DID_UTYPE,
                          table="ivoa.obscore", column="obs_publisher_did")]
    assert _id_ref(service_descriptor(columns, "http://h") or b"") == "obs_publisher_did"


def test_whole_document_parses_and_the_ref_resolves() -> None:
    columns = [col("obs_id"), col("obs_publisher_did", DID_UTYPE)]
    descriptor = service_descriptor(columns, "http://archive.example")
    assert descriptor is not None
    content = document(columns, [["1", "ivo://a/b?1"], ["2", "ivo://a/b?2"]], descriptor)
    votable = parse(io.BytesIO(content), verify="exception")
    (meta,) = [r for r in votable.resources if r.type == "meta"]
    assert meta.utype == "adhoc:service"
    ref = meta.groups[0].entries[0].ref
    assert votable.get_field_by_id(ref).name == "obs_publisher_did"
    # pyvo (what TOPCAT's activation action does the same way): the links query of a row
    results = pyvo.dal.TAPResults(votable, url="http://archive.example/tap/sync")
    service = results.get_adhocservice_by_ivoid("ivo://ivoa.net/std/datalink")
    query = pyvo.dal.adhoc.DatalinkQuery.from_resource(results[1], service)
    assert query.baseurl == "http://archive.example/datalink/links"
    assert query["ID"] == "ivo://a/b?2"


def test_capability() -> None:
    assert CAPABILITY.standard_id == "ivo://ivoa.net/std/DataLink#links-1.1"
    assert CAPABILITY.path == "/datalink/links" and CAPABILITY.version == "1.1"
