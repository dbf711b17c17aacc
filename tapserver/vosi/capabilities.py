"""VOSI capabilities with the TAPRegExt TableAccess capability, generated from the registries.

Languages and features come from the ADQL engine's feature table, output formats from the format
registry, limits from the settings, the further capabilities from the services (DataLink, ProvSAP, SODA):
nothing here is written twice. :func:`capabilities_document` is the document /tap/capabilities serves
and the registry record repeats.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lxml import etree

from tapserver.config import Settings
from tapserver.dali.capabilities import ExtraCapability

VOSI_CAP = "http://www.ivoa.net/xml/VOSICapabilities/v1.0"
VR = "http://www.ivoa.net/xml/VOResource/v1.0"
VS = "http://www.ivoa.net/xml/VODataService/v1.1"
TR = "http://www.ivoa.net/xml/TAPRegExt/v1.0"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_NSMAP = {"vosi": VOSI_CAP, "vr": VR, "vs": VS, "tr": TR, "xsi": XSI}
_XSI_TYPE = f"{{{XSI}}}type"

OBSCORE_DM = ("ivo://ivoa.net/std/ObsCore#core-1.1", "ObsCore-1.1")
UPLOAD_METHODS = (
    "ivo://ivoa.net/std/TAPRegExt#upload-inline",
    "ivo://ivoa.net/std/TAPRegExt#upload-http",
    "ivo://ivoa.net/std/TAPRegExt#upload-https",
)


@dataclass(frozen=True)
class LanguageFeature:
    type: str
    form: str
    description: str | None = None


@dataclass(frozen=True)
class FormatDeclaration:
    mime: str
    aliases: Sequence[str]
    ivo_id: str | None = None


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def _security(interface: etree._Element, settings: Settings) -> None:
    """securityMethod elements (after accessURL): anonymous, and bearer tokens when enabled."""
    if settings.auth_tokens:
        _sub(interface, "securityMethod")
        _sub(interface, "securityMethod", standardID="ivo://ivoa.net/sso#token")


def _simple(root: etree._Element, standard_id: str, url: str, *, interface_type: str = "vs:ParamHTTP",
            version: str | None = None, settings: Settings | None = None) -> None:
    cap = _sub(root, "capability", standardID=standard_id)
    attrs = {_XSI_TYPE: interface_type}
    if version:
        attrs["version"] = version
    interface = _sub(cap, "interface", **attrs)
    _sub(interface, "accessURL", url, use="full")
    if settings is not None:
        _security(interface, settings)


def render_capabilities(
    settings: Settings,
    features: Iterable[LanguageFeature],
    formats: Iterable[FormatDeclaration],
    *,
    uploads: bool,
    extra: Iterable[ExtraCapability] = (),
) -> bytes:
    """The /capabilities document."""
    tap = settings.tap_url
    root = etree.Element(f"{{{VOSI_CAP}}}capabilities", nsmap=_NSMAP)
    cap = _sub(root, "capability", standardID="ivo://ivoa.net/std/TAP", **{_XSI_TYPE: "tr:TableAccess"})
    interface = _sub(cap, "interface", role="std", version="1.1", **{_XSI_TYPE: "vs:ParamHTTP"})
    _sub(interface, "accessURL", tap, use="base")
    _security(interface, settings)
    _sub(cap, "dataModel", OBSCORE_DM[1], **{"ivo-id": OBSCORE_DM[0]})

    language = _sub(cap, "language")
    _sub(language, "name", "ADQL")
    _sub(language, "version", "2.0", **{"ivo-id": "ivo://ivoa.net/std/ADQL#v2.0"})
    _sub(language, "version", "2.1", **{"ivo-id": "ivo://ivoa.net/std/ADQL#v2.1"})
    _sub(language, "description", "ADQL 2.1 translated to PostgreSQL with pgsphere")
    by_type: dict[str, list[LanguageFeature]] = {}
    for feature in features:
        by_type.setdefault(feature.type, []).append(feature)
    for feature_type, members in by_type.items():
        group = _sub(language, "languageFeatures", type=feature_type)
        for feature in members:
            element = _sub(group, "feature")
            _sub(element, "form", feature.form)
            if feature.description:
                _sub(element, "description", feature.description)

    for fmt in formats:
        attrs = {"ivo-id": fmt.ivo_id} if fmt.ivo_id else {}
        element = _sub(cap, "outputFormat", **attrs)
        _sub(element, "mime", fmt.mime)
        for alias in fmt.aliases:
            _sub(element, "alias", alias)

    if uploads:
        for method in UPLOAD_METHODS:
            if settings.upload_url_enabled or method.endswith("#upload-inline"):  # URL uploads may be off
                _sub(cap, "uploadMethod", **{"ivo-id": method})
    retention = _sub(cap, "retentionPeriod")
    _sub(retention, "default", str(int(settings.retention_days * 86400)))
    duration = _sub(cap, "executionDuration")
    _sub(duration, "default", str(settings.execution_duration))
    _sub(duration, "hard", str(settings.execution_duration))
    output = _sub(cap, "outputLimit")
    _sub(output, "default", str(settings.default_maxrec), unit="row")
    _sub(output, "hard", str(settings.hard_maxrec), unit="row")
    if uploads:
        upload = _sub(cap, "uploadLimit")
        _sub(upload, "hard", str(settings.upload_limit_bytes), unit="byte")

    _simple(root, "ivo://ivoa.net/std/VOSI#capabilities", f"{tap}/capabilities", settings=settings)
    _simple(root, "ivo://ivoa.net/std/VOSI#availability", f"{tap}/availability", settings=settings)
    _simple(root, "ivo://ivoa.net/std/VOSI#tables-1.1", f"{tap}/tables", version="1.1", settings=settings)
    _simple(root, "ivo://ivoa.net/std/DALI#examples", f"{tap}/examples", interface_type="vr:WebBrowser",
            settings=settings)
    for capability in extra:
        _simple(root, capability.standard_id, f"{settings.base_url}{capability.path}", version=capability.version,
                settings=settings)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def language_features() -> list[LanguageFeature]:
    """The ADQL language features, from the engine's feature table."""
    from tapserver.adql.features import FEATURES

    return [LanguageFeature(f.type, f.form, f.description) for f in FEATURES]


def output_formats() -> list[FormatDeclaration]:
    """The output formats, from the format registry."""
    from tapserver.formats import FORMATS

    return [FormatDeclaration(f.mime, f.aliases, f.ivo_id) for f in FORMATS]


def extra_capabilities() -> list[ExtraCapability]:
    """The capabilities of the other services of this server."""
    from tapserver.datalink import CAPABILITY as DATALINK
    from tapserver.provenance import CAPABILITY as PROVSAP
    from tapserver.soda import CAPABILITY as SODA

    return [DATALINK, PROVSAP, SODA]


def capabilities_document(settings: Settings) -> bytes:
    """The service's /capabilities document."""
    return render_capabilities(settings, language_features(), output_formats(), uploads=True,
                               extra=extra_capabilities())
