"""OAI-PMH 2.0 for one record: the VOResource ``vs:CatalogService`` of this TAP service.

A publishing registry in the IVOA sense (Registry Interfaces 1.1, minimal): Identify, ListMetadataFormats,
ListSets (``ivo_managed``), ListIdentifiers, ListRecords and GetRecord, in ``ivo_vor`` (VOResource) and
``oai_dc`` (Dublin Core). The record reuses the VOSI capabilities (TAPRegExt) and tables documents, so what
the registry says is what /tap/capabilities and /tap/tables say. No resumption tokens: one record fits.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree

from tapserver.config import Settings

OAI = "http://www.openarchives.org/OAI/2.0/"
OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC = "http://purl.org/dc/elements/1.1/"
RI = "http://www.ivoa.net/xml/RegistryInterface/v1.0"
VR = "http://www.ivoa.net/xml/VOResource/v1.0"
VS = "http://www.ivoa.net/xml/VODataService/v1.1"
TR = "http://www.ivoa.net/xml/TAPRegExt/v1.0"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_XSI_TYPE = f"{{{XSI}}}type"
_SCHEMA_LOCATION = f"{{{XSI}}}schemaLocation"

FORMATS = {
    "ivo_vor": (RI, "http://www.ivoa.net/xml/RegistryInterface/RegistryInterface-v1.0.xsd"),
    "oai_dc": (OAI_DC, "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"),
}
SET = "ivo_managed"
VERBS = ("Identify", "ListMetadataFormats", "ListSets", "ListIdentifiers", "ListRecords", "GetRecord")
_ARGUMENTS = {
    "Identify": (set(), set()),
    "ListMetadataFormats": (set(), {"identifier"}),
    "ListSets": (set(), {"resumptionToken"}),
    "ListIdentifiers": ({"metadataPrefix"}, {"from", "until", "set", "resumptionToken"}),
    "ListRecords": ({"metadataPrefix"}, {"from", "until", "set", "resumptionToken"}),
    "GetRecord": ({"identifier", "metadataPrefix"}, set()),
}
_ARGUMENT_NAMES = {name.lower(): name for name in ("verb", "identifier", "metadataPrefix", "from", "until", "set",
                                                     "resumptionToken")}


@dataclass(frozen=True)
class ServiceRecord:
    """What the record says besides the capabilities and tables documents."""

    identifier: str
    title: str
    short_name: str | None
    publisher: str
    contact_name: str
    contact_email: str
    description: str
    subjects: Sequence[str]
    reference_url: str
    datestamp: datetime  # created and updated
    base_url: str  # of this OAI-PMH endpoint

    @classmethod
    def from_settings(cls, settings: Settings, datestamp: datetime) -> ServiceRecord:
        return cls(
            identifier=settings.registry_identifier or f"{settings.publisher_authority.rstrip('/')}/tap",
            title=settings.title,
            short_name=settings.registry_short_name,
            publisher=settings.registry_publisher,
            contact_name=settings.registry_contact_name,
            contact_email=settings.registry_contact_email,
            description=settings.registry_description,
            subjects=settings.registry_subjects or ["astronomy"],
            reference_url=settings.registry_reference_url or settings.base_url,
            datestamp=datestamp.astimezone(UTC).replace(microsecond=0),
            base_url=f"{settings.base_url}/oai",
        )


class OAIError(Exception):
    """An OAI-PMH error condition: rendered as <error code=...> in a 200 response."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_stamp(value: str, name: str, *, end: bool) -> datetime:
    try:
        if len(value) == 10:
            day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
            return day.replace(hour=23, minute=59, second=59) if end else day
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise OAIError("badArgument", f"{name} must be YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ, got {value!r}") from None


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def resource_element(record: ServiceRecord, capabilities: bytes, tableset: bytes) -> etree._Element:
    """The ``ri:Resource xsi:type="vs:CatalogService"`` element, elements in VOResource order."""
    resource = etree.Element(f"{{{RI}}}Resource", {
        _XSI_TYPE: "vs:CatalogService", "created": _stamp(record.datestamp), "updated": _stamp(record.datestamp),
        "status": "active"}, nsmap={"ri": RI, "vr": VR, "vs": VS, "tr": TR, "xsi": XSI})
    _sub(resource, "title", record.title)
    if record.short_name:
        _sub(resource, "shortName", record.short_name[:16])
    _sub(resource, "identifier", record.identifier)
    curation = _sub(resource, "curation")
    _sub(curation, "publisher", record.publisher)
    contact = _sub(curation, "contact")
    _sub(contact, "name", record.contact_name)
    _sub(contact, "email", record.contact_email)
    content = _sub(resource, "content")
    for subject in record.subjects:
        _sub(content, "subject", subject)
    _sub(content, "description", record.description)
    _sub(content, "referenceURL", record.reference_url)
    _sub(content, "type", "Archive")
    _sub(content, "contentLevel", "Research")
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    for capability in etree.fromstring(capabilities, parser).findall("capability"):
        resource.append(copy.deepcopy(capability))
    tables = etree.fromstring(tableset, parser)
    target = _sub(resource, "tableset")
    for schema in tables.findall("schema"):
        target.append(copy.deepcopy(schema))
    return resource


def dublin_core(record: ServiceRecord) -> etree._Element:
    root = etree.Element(f"{{{OAI_DC}}}dc", {_SCHEMA_LOCATION: f"{OAI_DC} {FORMATS['oai_dc'][1]}"},
                         nsmap={"oai_dc": OAI_DC, "dc": DC, "xsi": XSI})
    for tag, text in (("title", record.title), ("identifier", record.identifier), ("creator", record.publisher),
                      ("publisher", record.publisher), *(("subject", s) for s in record.subjects),
                      ("description", record.description), ("date", _stamp(record.datestamp)),
                      ("type", "Service"), ("identifier", record.reference_url)):
        _sub(root, f"{{{DC}}}{tag}", text)
    return root


def _arguments(params: Sequence[tuple[str, str]]) -> tuple[str, dict[str, str]]:
    """The verb and its arguments; OAI names are case-sensitive, but the DALI reader upper-cases names, so
    they are matched case-insensitively. Repeated or unknown arguments are badArgument."""
    found: dict[str, str] = {}
    for raw, value in params:
        name = _ARGUMENT_NAMES.get(raw.lower())
        if name is None:
            raise OAIError("badArgument", f"unknown argument {raw!r}")
        if name in found:
            raise OAIError("badArgument", f"argument {name!r} given more than once")
        found[name] = value
    verb = found.pop("verb", None)
    if verb not in VERBS:
        raise OAIError("badVerb", "missing verb" if verb is None else f"illegal verb {verb!r}")
    required, optional = _ARGUMENTS[verb]
    missing = sorted(required - found.keys())
    extra = sorted(found.keys() - required - optional)
    if "resumptionToken" in found:
        if len(found) > 1:
            raise OAIError("badArgument", "resumptionToken is exclusive")
        raise OAIError("badResumptionToken", "this repository never issues resumption tokens")
    if missing or extra:
        raise OAIError("badArgument", "; ".join(
            ([f"missing {', '.join(missing)}"] if missing else []) +
            ([f"not allowed: {', '.join(extra)}"] if extra else [])))
    return verb, found


def _header(parent: etree._Element, record: ServiceRecord) -> None:
    header = _sub(parent, "header")
    _sub(header, "identifier", record.identifier)
    _sub(header, "datestamp", _stamp(record.datestamp))
    _sub(header, "setSpec", SET)


def _record(parent: etree._Element, record: ServiceRecord, prefix: str, resource: etree._Element) -> None:
    element = _sub(parent, "record")
    _header(element, record)
    metadata = _sub(element, "metadata")
    metadata.append(resource if prefix == "ivo_vor" else dublin_core(record))


def _check_prefix(prefix: str) -> None:
    if prefix not in FORMATS:
        raise OAIError("cannotDisseminateFormat", f"metadataPrefix {prefix!r} is not one of {', '.join(FORMATS)}")


def _check_identifier(record: ServiceRecord, identifier: str) -> None:
    if identifier != record.identifier:
        raise OAIError("idDoesNotExist", f"no record {identifier!r} here (the one record is {record.identifier})")


def _matches(record: ServiceRecord, args: Mapping[str, str]) -> bool:
    start = _parse_stamp(args["from"], "from", end=False) if "from" in args else None
    stop = _parse_stamp(args["until"], "until", end=True) if "until" in args else None
    if start and stop and "from" in args and "until" in args and len(args["from"]) != len(args["until"]):
        raise OAIError("badArgument", "from and until must have the same granularity")
    if start and stop and start > stop:
        raise OAIError("badArgument", "from is later than until")
    if "set" in args and args["set"] != SET:
        return False
    return not ((start and record.datestamp < start) or (stop and record.datestamp > stop))


def respond(params: Sequence[tuple[str, str]], record: ServiceRecord, capabilities: bytes, tableset: bytes,
            now: datetime | None = None) -> bytes:
    """The OAI-PMH response document for a request with ``params``."""
    root = etree.Element(f"{{{OAI}}}OAI-PMH", {
        _SCHEMA_LOCATION: f"{OAI} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"}, nsmap={"oai": OAI, "xsi": XSI})
    # A prefix, not a default namespace: the VOResource elements inside <metadata> are unqualified.
    _sub(root, f"{{{OAI}}}responseDate", _stamp(now or datetime.now(UTC)))
    request = _sub(root, f"{{{OAI}}}request", record.base_url)
    try:
        verb, args = _arguments(params)
        request.set("verb", verb)
        for name, value in args.items():
            request.set(name, value)
        body = etree.Element(f"{{{OAI}}}{verb}")
        _answer(body, verb, args, record, capabilities, tableset)
        root.append(body)
    except OAIError as error:
        _sub(root, f"{{{OAI}}}error", error.message, code=error.code)
    _qualify(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _qualify(root: etree._Element) -> None:
    """Put the OAI envelope elements (written unqualified for brevity) in the OAI namespace, stopping at
    metadata (whose content keeps its own, VOResource's unqualified, elements)."""
    def walk(element: etree._Element) -> None:
        for child in element:
            if not isinstance(child.tag, str):
                continue
            if etree.QName(child).namespace is None:
                child.tag = f"{{{OAI}}}{child.tag}"
            if etree.QName(child).localname != "metadata":
                walk(child)
    walk(root)


def _answer(body: etree._Element, verb: str, args: Mapping[str, str], record: ServiceRecord, capabilities: bytes,
            tableset: bytes) -> None:
    if verb == "Identify":
        _sub(body, "repositoryName", record.title)
        _sub(body, "baseURL", record.base_url)
        _sub(body, "protocolVersion", "2.0")
        _sub(body, "adminEmail", record.contact_email)
        _sub(body, "earliestDatestamp", _stamp(record.datestamp))
        _sub(body, "deletedRecord", "no")
        _sub(body, "granularity", "YYYY-MM-DDThh:mm:ssZ")
    elif verb == "ListMetadataFormats":
        if "identifier" in args:
            _check_identifier(record, args["identifier"])
        for prefix, (namespace, schema) in FORMATS.items():
            element = _sub(body, "metadataFormat")
            _sub(element, "metadataPrefix", prefix)
            _sub(element, "schema", schema)
            _sub(element, "metadataNamespace", namespace)
    elif verb == "ListSets":
        element = _sub(body, "set")
        _sub(element, "setSpec", SET)
        _sub(element, "setName", "Resources published by this registry")
    elif verb == "GetRecord":
        _check_prefix(args["metadataPrefix"])
        _check_identifier(record, args["identifier"])
        _record(body, record, args["metadataPrefix"], resource_element(record, capabilities, tableset))
    else:  # ListIdentifiers, ListRecords
        _check_prefix(args["metadataPrefix"])
        if not _matches(record, args):
            raise OAIError("noRecordsMatch", "no record matches these from/until/set arguments")
        if verb == "ListIdentifiers":
            _header(body, record)
        else:
            _record(body, record, args["metadataPrefix"], resource_element(record, capabilities, tableset))
