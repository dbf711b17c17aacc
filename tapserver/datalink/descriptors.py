"""DataLink service descriptors (DataLink 1.1 §4): ``<RESOURCE type="meta" utype="adhoc:service">``.

* :func:`service_descriptor` goes into TAP results that hold ObsCore rows: it binds the ``ID`` input of
  the {links} endpoint to the FIELD of ``obs_publisher_did``, which is what TOPCAT's "Invoke Service"
  activation action and pyvo's ``iter_datalinks()`` look for.
* :func:`links_self_descriptor` (``adhoc:this``) and :func:`provsap_descriptor` go into links documents.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, cast

from tapserver.datalink.model import (
    BUNDLE_FORMATS,
    DATALINK_MIME,
    FITS_MIME,
    GADF_ASYNC_PATH,
    GADF_PATH,
    GADF_RESPONSE_FORMATS,
    LINKS_PATH,
    LINKS_STANDARD_ID,
    PROVSAP_PATH,
    SODA_SYNC_PATH,
    SODA_SYNC_STANDARD_ID,
)
from tapserver.votable import xmlutil
from tapserver.votable.fields import ResultColumn, field_ids

PUBLISHER_DID_UTYPE = "obscore:curation.publisherdid"
PUBLISHER_DID_NAME = "obs_publisher_did"

LINKS_RESPONSE_FORMATS = ("votable", "application/x-votable+xml", DATALINK_MIME, "text/xml")
PROVSAP_RESPONSE_FORMATS = ("PROV-JSON", "PROV-N", "PROV-XML", "PROV-VOTABLE", "PROV-SVG")


class ColumnMeta(Protocol):
    """What a descriptor needs of a result column (the VOTable and ADQL ResultColumn classes both fit)."""

    @property
    def name(self) -> str: ...

    @property
    def utype(self) -> str | None: ...


@dataclass(frozen=True)
class InputParam:
    """A PARAM of the inputParams GROUP: a fixed value, a value bound to a FIELD (``ref``), or a value
    the user chooses (empty ``value``, optionally among ``options``)."""

    name: str
    description: str
    value: str = ""
    ref: str | None = None
    ucd: str | None = None
    options: tuple[str, ...] = ()
    datatype: str = "char"
    arraysize: str | None = "*"
    xtype: str | None = None
    unit: str | None = None


def _param(name: str, value: str) -> str:
    return (f'<PARAM name="{xmlutil.attr(name)}" datatype="char" arraysize="*" '
            f'value="{xmlutil.attr(value)}"/>\n')


def _input_param(param: InputParam) -> str:
    attrs = [f'name="{xmlutil.attr(param.name)}"', f'datatype="{xmlutil.attr(param.datatype)}"']
    for key, value in (("arraysize", param.arraysize), ("xtype", param.xtype), ("unit", param.unit),
                       ("ucd", param.ucd)):
        if value:
            attrs.append(f'{key}="{xmlutil.attr(value)}"')
    attrs.append(f'value="{xmlutil.attr(param.value)}"')
    if param.ref:
        attrs.append(f'ref="{xmlutil.attr(param.ref)}"')
    body = f"<DESCRIPTION>{xmlutil.text(param.description)}</DESCRIPTION>"
    if param.options:
        body += "<VALUES>" + "".join(f'<OPTION value="{xmlutil.attr(o)}"/>' for o in param.options) + "</VALUES>"
    return f"<PARAM {' '.join(attrs)}>{body}</PARAM>\n"


def render_descriptor(*, utype: str, name: str, description: str, access_url: str,
                      inputs: Sequence[InputParam], standard_id: str | None = None,
                      content_type: str | None = None, xml_id: str | None = None) -> bytes:
    """One service-descriptor RESOURCE (raw XML, ready to append to a VOTable document)."""
    head = f'<RESOURCE type="meta" utype="{xmlutil.attr(utype)}"'
    if xml_id:
        head += f' ID="{xmlutil.attr(xml_id)}"'
    head += f' name="{xmlutil.attr(name)}">\n'
    parts = [head, f"<DESCRIPTION>{xmlutil.text(description)}</DESCRIPTION>\n"]
    if standard_id:
        parts.append(_param("standardID", standard_id))
    parts.append(_param("accessURL", access_url))
    if content_type:
        parts.append(_param("contentType", content_type))
    parts.append('<GROUP name="inputParams">\n')
    parts.extend(_input_param(p) for p in inputs)
    parts.append("</GROUP>\n</RESOURCE>\n")
    return "".join(parts).encode()


def publisher_did_field(columns: Sequence[ColumnMeta]) -> int | None:
    """Index of the column holding ObsCore publisher DIDs: the first with the ObsCore utype
    ``obscore:Curation.publisherDID`` (any case), else the first named ``obs_publisher_did``."""
    for i, column in enumerate(columns):
        if column.utype and column.utype.strip().lower() == PUBLISHER_DID_UTYPE:
            return i
    for i, column in enumerate(columns):
        if column.name.lower() == PUBLISHER_DID_NAME:
            return i
    return None


def service_descriptor(columns: Sequence[ColumnMeta], base_url: str,
                       ids: Sequence[str] | None = None) -> bytes | None:
    """The {links} service descriptor for a TAP result with these columns, or None when no column
    holds publisher DIDs.

    ``ids`` are the XML IDs of the result FIELDs (default: :func:`tapserver.votable.fields.field_ids`,
    which is what the VOTable writers use); the ``ID`` input parameter refers to the DID column's.
    """
    index = publisher_did_field(columns)
    if index is None:
        return None
    if ids is None:
        ids = field_ids(cast(Sequence[ResultColumn], columns))  # it reads the names only
    field_id = ids[index]
    base = base_url.rstrip("/")
    return render_descriptor(
        utype="adhoc:service", name="datalink",
        description="DataLink: the event file, instrument response (calibration) files, auxiliary data "
                    "and provenance of each dataset",
        standard_id=LINKS_STANDARD_ID, access_url=f"{base}{LINKS_PATH}", content_type=DATALINK_MIME,
        inputs=[InputParam("ID", "Publisher DID of the dataset", ref=field_id, ucd="meta.id;meta.main")],
    )


def links_self_descriptor(base_url: str) -> bytes:
    """The self-description of the {links} endpoint (``adhoc:this``, DataLink 1.1 §4.4)."""
    base = base_url.rstrip("/")
    return render_descriptor(
        utype="adhoc:this", name="links",
        description="DataLink {links} endpoint of this archive: give one or more dataset identifiers "
                    "(obs_publisher_did of ivoa.obscore) as ID",
        standard_id=LINKS_STANDARD_ID, access_url=f"{base}{LINKS_PATH}", content_type=DATALINK_MIME,
        inputs=[
            InputParam("ID", "Publisher DID of a dataset (repeatable)", ucd="meta.id;meta.main"),
            InputParam("RESPONSEFORMAT", "Format of the links table (default: VOTable, TABLEDATA)",
                       options=LINKS_RESPONSE_FORMATS),
        ],
    )


def provsap_descriptor(base_url: str, xml_id: str, id_field: str) -> bytes:
    """A descriptor of the ProvSAP endpoint, its ``ID`` bound to the links table's ID FIELD."""
    base = base_url.rstrip("/")
    return render_descriptor(
        utype="adhoc:service", name="provsap", xml_id=xml_id,
        description="ProvSAP: the provenance graph of a dataset (IVOA Provenance DM), walked from the dataset "
                    "back to what it was derived from, or forth to what was derived from it",
        access_url=f"{base}{PROVSAP_PATH}",
        inputs=[
            InputParam("ID", "Identifier of the entity (the dataset's publisher DID)", ref=id_field,
                       ucd="meta.id;meta.main"),
            InputParam("DEPTH", "Number of relations to follow (an integer, or ALL)", options=("1", "2", "ALL")),
            InputParam("DIRECTION", "BACK: the history of the dataset; FORTH: what was derived from it",
                       options=("BACK", "FORTH")),
            InputParam("RESPONSEFORMAT", "Serialisation of the provenance record",
                       options=PROVSAP_RESPONSE_FORMATS),
        ],
    )


def soda_descriptor(base_url: str, xml_id: str, id_field: str) -> bytes:
    """The SODA sync descriptor of event-list cutouts, its ``ID`` bound to the links table's ID FIELD.

    Event lists are cut by rows: POS/CIRCLE/POLYGON on RA/DEC, TIME on the event times (MJD, TT), BAND on
    the event energies through the wavelength hc/E (m, as SODA defines it); ENERGY (TeV) is this
    service's extension for the same cut in energy units.
    """
    base = base_url.rstrip("/")
    return render_descriptor(
        utype="adhoc:service", name="soda-cutout", xml_id=xml_id,
        description="SODA cutout of the event list: the events inside a sky region, time interval and "
                    "energy band, the good time intervals cut to the time interval, the IRFs kept (GADF FITS)",
        standard_id=SODA_SYNC_STANDARD_ID, access_url=f"{base}{SODA_SYNC_PATH}", content_type=FITS_MIME,
        inputs=[
            InputParam("ID", "Publisher DID of the dataset", ref=id_field, ucd="meta.id;meta.main"),
            InputParam("POS", "Sky region (ICRS, deg): CIRCLE ra dec r, RANGE ra1 ra2 dec1 dec2 or "
                       "POLYGON ra1 dec1 ra2 dec2 ra3 dec3 ...", ucd="pos.outline;obs"),
            InputParam("CIRCLE", "Circle (ICRS, deg): ra dec radius", datatype="double", arraysize="3",
                       xtype="circle", unit="deg", ucd="pos.outline;obs"),
            InputParam("POLYGON", "Polygon (ICRS, deg): ra dec pairs, great-circle edges", datatype="double",
                       arraysize="*", xtype="polygon", unit="deg", ucd="pos.outline;obs"),
            InputParam("TIME", "Time interval of the events (MJD, TT)", datatype="double", arraysize="2",
                       xtype="interval", unit="d", ucd="time.interval;obs.exposure"),
            InputParam("BAND", "Wavelength interval (m); an event of energy E has wavelength hc/E",
                       datatype="double", arraysize="2", xtype="interval", unit="m", ucd="em.wl;stat.interval"),
            InputParam("ENERGY", "Energy interval (TeV): an alternative to BAND", datatype="double",
                       arraysize="2", xtype="interval", unit="TeV", ucd="em.energy;stat.interval"),
        ],
    )


def gadf_index_descriptor(base_url: str, xml_id: str, id_field: str) -> bytes:
    """The GADF data-store service: the obs-index and hdu-index of datasets, or all of it as a bundle."""
    base = base_url.rstrip("/")
    return render_descriptor(
        utype="adhoc:service", name="gadf-datastore", xml_id=xml_id,
        description="GADF data store of the dataset for gammapy/ctools: its obs-index or hdu-index table "
                    "(FITS), or a tar/zip bundle of its DL3 files and both index tables",
        access_url=f"{base}{GADF_PATH}",
        inputs=[
            InputParam("ID", "Publisher DID of the dataset (repeatable)", ref=id_field, ucd="meta.id;meta.main"),
            InputParam("RESPONSEFORMAT", "obs-index, hdu-index (FITS tables), tar or zip (bundle)",
                       options=GADF_RESPONSE_FORMATS),
        ],
    )


def gadf_async_descriptor(base_url: str, xml_id: str, id_field: str) -> bytes:
    """The GADF bundle as an async job (POST; UWS 1.1): for selections too large for one request."""
    base = base_url.rstrip("/")
    return render_descriptor(
        utype="adhoc:service", name="gadf-async", xml_id=xml_id,
        description="GADF bundle as an async (UWS) job: POST the same ID or QUERY and RESPONSEFORMAT (tar, zip), "
                    "PHASE=RUN to start it; the 303 names the job, whose result 'bundle' is the archive",
        access_url=f"{base}{GADF_ASYNC_PATH}",
        inputs=[
            InputParam("ID", "Publisher DID of the dataset (repeatable)", ref=id_field, ucd="meta.id;meta.main"),
            InputParam("RESPONSEFORMAT", "tar or zip", options=BUNDLE_FORMATS),
            InputParam("PHASE", "RUN: start the job at once", options=("RUN",)),
        ],
    )
