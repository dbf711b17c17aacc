"""OAI-PMH publishing endpoint: verbs, errors, and the VOResource record valid against the IVOA schemas.

VOResource 1.1, VODataService 1.2, TAPRegExt 1.0 and STC 1.30 come from the taplint jar (offline). The
OAI-PMH and RegistryInterface schemas are not there: ``ri:Resource`` is validated through a two-line wrapper
schema declaring it as in RegistryInterface 1.0 (``<xs:element name="Resource" type="vr:Resource"/>``), and
the OAI-PMH envelope is checked element by element.
"""

from __future__ import annotations

import glob
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from lxml import etree

from tapserver.app import create_app
from tapserver.config import Settings, load_settings
from tapserver.registry import oai

NS = {"oai": oai.OAI, "ri": oai.RI, "dc": oai.DC, "oai_dc": oai.OAI_DC, "xsi": oai.XSI}
IDENTIFIER = "ivo://tapserver.example/tap"

WRAPPER = """<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:vr="http://www.ivoa.net/xml/VOResource/v1.0"
  targetNamespace="http://www.ivoa.net/xml/RegistryInterface/v1.0" elementFormDefault="unqualified">
  <xs:import namespace="http://www.w3.org/XML/1998/namespace" schemaLocation="xmlnamespace.xsd"/>
  <xs:import namespace="http://www.w3.org/1999/xlink" schemaLocation="xlink.xsd"/>
  <xs:import namespace="http://www.ivoa.net/xml/STC/stc-v1.30.xsd" schemaLocation="stc-v1.30.xsd"/>
  <xs:import namespace="http://www.ivoa.net/xml/VOResource/v1.0" schemaLocation="VOResource-v1.1.xsd"/>
  <xs:import namespace="http://www.ivoa.net/xml/VODataService/v1.1" schemaLocation="VODataService-v1.2.xsd"/>
  <xs:import namespace="http://www.ivoa.net/xml/TAPRegExt/v1.0" schemaLocation="TAPRegExt-v1.0-Erratum1.xsd"/>
  <xs:element name="Resource" type="vr:Resource"/>
</xs:schema>
"""
NEEDED = ("xmlnamespace.xsd", "xlink.xsd", "stc-v1.30.xsd", "VOResource-v1.1.xsd", "VODataService-v1.2.xsd",
          "TAPRegExt-v1.0-Erratum1.xsd")


@pytest.fixture(scope="module")
def resource_schema(tmp_path_factory: pytest.TempPathFactory) -> etree.XMLSchema:
    folder = tmp_path_factory.mktemp("xsd")
    base = "uk/ac/starlink/ttools/taplint/"
    for jar in sorted(glob.glob("/usr/share/java/starlink-ttools*.jar")):
        with zipfile.ZipFile(jar) as archive:
            names = set(archive.namelist())
            if all(base + n in names for n in NEEDED):
                for n in NEEDED:
                    (folder / n).write_bytes(archive.read(base + n))
                break
    else:
        pytest.skip("the IVOA schemas of taplint (starlink-ttools jar) are not installed")
    (folder / "wrap.xsd").write_text(WRAPPER)
    parser = etree.XMLParser(no_network=True)
    return etree.XMLSchema(etree.parse(str(folder / "wrap.xsd"), parser))


@pytest.fixture(scope="module")
def client(migrated_settings: Settings) -> Iterator[TestClient]:
    settings = migrated_settings.model_copy(update={"workers": 0, "registry_short_name": "DL3 TAP"})
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def call(client: TestClient, **params: str) -> etree._Element:
    response = client.get("/oai", params=params)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    root = etree.fromstring(response.content)
    assert root.tag == f"{{{oai.OAI}}}OAI-PMH"
    assert root.find("oai:responseDate", NS) is not None
    assert root.find("oai:request", NS).text.endswith("/oai")
    return root


def error_code(root: etree._Element) -> str | None:
    error = root.find("oai:error", NS)
    return None if error is None else error.get("code")


def test_identify(client: TestClient) -> None:
    root = call(client, verb="Identify")
    identify = root.find("oai:Identify", NS)
    assert identify.findtext("oai:protocolVersion", namespaces=NS) == "2.0"
    assert identify.findtext("oai:baseURL", namespaces=NS).endswith("/oai")
    assert identify.findtext("oai:granularity", namespaces=NS) == "YYYY-MM-DDThh:mm:ssZ"
    assert "@" in identify.findtext("oai:adminEmail", namespaces=NS)


def test_list_metadata_formats_and_sets(client: TestClient) -> None:
    root = call(client, verb="ListMetadataFormats")
    prefixes = root.xpath("//oai:metadataPrefix/text()", namespaces=NS)
    assert prefixes == ["ivo_vor", "oai_dc"]
    assert error_code(call(client, verb="ListMetadataFormats", identifier="ivo://x/y")) == "idDoesNotExist"
    assert call(client, verb="ListSets").xpath("//oai:setSpec/text()", namespaces=NS) == ["ivo_managed"]


def test_list_identifiers(client: TestClient) -> None:
    root = call(client, verb="ListIdentifiers", metadataPrefix="ivo_vor")
    assert root.xpath("//oai:header/oai:identifier/text()", namespaces=NS) == [IDENTIFIER]
    assert root.xpath("//oai:header/oai:setSpec/text()", namespaces=NS) == ["ivo_managed"]
    stamp = root.findtext(".//oai:datestamp", namespaces=NS)
    assert datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")
    assert error_code(call(client, verb="ListIdentifiers", metadataPrefix="ivo_vor", set="other")) == \
        "noRecordsMatch"
    assert error_code(call(client, verb="ListIdentifiers", metadataPrefix="ivo_vor", until="2000-01-01")) == \
        "noRecordsMatch"
    assert error_code(call(client, verb="ListIdentifiers", metadataPrefix="ivo_vor", set="ivo_managed",
                           **{"from": "2000-01-01"})) is None


def test_errors(client: TestClient) -> None:
    assert error_code(call(client)) == "badVerb"
    assert error_code(call(client, verb="Dance")) == "badVerb"
    assert error_code(call(client, verb="ListRecords")) == "badArgument"
    assert error_code(call(client, verb="Identify", identifier="x")) == "badArgument"
    assert error_code(call(client, verb="ListRecords", metadataPrefix="marc")) == "cannotDisseminateFormat"
    assert error_code(call(client, verb="ListRecords", resumptionToken="abc")) == "badResumptionToken"
    assert error_code(call(client, verb="ListRecords", metadataPrefix="ivo_vor", **{"from": "yesterday"})) == \
        "badArgument"
    assert error_code(call(client, verb="GetRecord", metadataPrefix="ivo_vor", identifier="ivo://other/x")) == \
        "idDoesNotExist"


def test_post_is_accepted(client: TestClient) -> None:
    response = client.post("/oai", data={"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": IDENTIFIER})
    root = etree.fromstring(response.content)
    assert root.xpath("//dc:identifier/text()", namespaces=NS)[0] == IDENTIFIER


@pytest.mark.parametrize("verb", ["GetRecord", "ListRecords"])
def test_vo_resource_record_is_schema_valid(client: TestClient, resource_schema: etree.XMLSchema,
                                            verb: str) -> None:
    params = {"verb": verb, "metadataPrefix": "ivo_vor"}
    if verb == "GetRecord":
        params["identifier"] = IDENTIFIER
    root = call(client, **params)
    resources = root.findall(".//oai:metadata/ri:Resource", NS)
    assert len(resources) == 1
    resource = etree.fromstring(etree.tostring(resources[0]))  # standalone, as a harvester stores it
    resource_schema.assertValid(resource)
    assert resource.get(f"{{{oai.XSI}}}type") == "vs:CatalogService"
    assert resource.findtext("identifier") == IDENTIFIER
    assert resource.findtext("shortName") == "DL3 TAP"
    tap = resource.find("capability[@standardID='ivo://ivoa.net/std/TAP']")
    assert tap is not None and tap.get(f"{{{oai.XSI}}}type") == "tr:TableAccess"
    assert tap.findtext("interface/accessURL").endswith("/tap")
    standard_ids = {c.get("standardID") for c in resource.findall("capability")}
    assert "ivo://ivoa.net/std/VOSI#tables-1.1" in standard_ids
    table_names = resource.xpath("tableset/schema/table/name/text()")
    assert "tap_schema.tables" in table_names and "ivoa.obscore" in table_names
    assert resource.xpath("tableset/schema/table/column")  # full detail


def test_record_is_the_same_as_vosi(client: TestClient) -> None:
    """The record's capabilities are /tap/capabilities' (one source)."""
    caps = etree.fromstring(client.get("/tap/capabilities").content)
    root = call(client, verb="GetRecord", metadataPrefix="ivo_vor", identifier=IDENTIFIER)
    resource = root.find(".//ri:Resource", NS)
    assert [c.get("standardID") for c in caps.findall("capability")] == \
        [c.get("standardID") for c in resource.findall("capability")]


def test_dublin_core(client: TestClient) -> None:
    root = call(client, verb="ListRecords", metadataPrefix="oai_dc")
    dc = root.find(".//oai:metadata/oai_dc:dc", NS)
    assert dc is not None
    assert dc.findtext("dc:title", namespaces=NS)
    assert IDENTIFIER in dc.xpath("dc:identifier/text()", namespaces=NS)


def test_settings_shape_the_record() -> None:
    settings = load_settings(publisher_authority="ivo://example.org", registry_contact_email="a@example.org")
    record = oai.ServiceRecord.from_settings(settings, datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC))
    assert record.identifier == "ivo://example.org/tap"
    assert record.contact_email == "a@example.org"
    assert record.datestamp == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    explicit = load_settings(registry_identifier="ivo://example.org/other")
    assert oai.ServiceRecord.from_settings(explicit, record.datestamp).identifier == "ivo://example.org/other"



def test_schema_catches_a_broken_record(client: TestClient, resource_schema: etree.XMLSchema) -> None:
    """The validation is real: a record without its identifier is refused."""
    root = call(client, verb="GetRecord", metadataPrefix="ivo_vor", identifier=IDENTIFIER)
    resource = etree.fromstring(etree.tostring(root.find(".//ri:Resource", NS)))
    resource.remove(resource.find("identifier"))
    assert not resource_schema.validate(resource)
