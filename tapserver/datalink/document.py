"""The links document: a VOTable with the DataLink 1.1 links table in TABLEDATA, then descriptors."""

from __future__ import annotations

from collections.abc import Iterable

from tapserver.datalink.descriptors import (
    gadf_async_descriptor,
    gadf_index_descriptor,
    links_self_descriptor,
    provsap_descriptor,
    soda_descriptor,
)
from tapserver.datalink.links import (
    GADF_ASYNC_DESCRIPTOR_ID,
    GADF_DESCRIPTOR_ID,
    PROVSAP_DESCRIPTOR_ID,
    SODA_DESCRIPTOR_ID,
)
from tapserver.datalink.model import LINKS_STANDARD_ID, LinkRow, LinksResult
from tapserver.votable import xmlutil
from tapserver.votable.document import results_head, results_tail
from tapserver.votable.fields import ResultColumn


def _text(name: str, ucd: str | None, description: str) -> ResultColumn:
    return ResultColumn(name=name, datatype="char", arraysize="*", ucd=ucd, description=description)


#: The columns of DataLink 1.1 §3.2, in the order of the standard's table.
LINK_COLUMNS = (
    _text("ID", "meta.id;meta.main", "Input identifier"),
    _text("access_url", "meta.ref.url", "Link to data or a service"),
    _text("service_def", "meta.ref", "Reference to a service descriptor resource"),
    _text("error_message", "meta.code.error", "Error if an access_url cannot be created"),
    _text("semantics", "meta.code", "Term from a controlled vocabulary describing the link"),
    _text("description", "meta.note", "Human-readable text describing this link"),
    _text("content_type", "meta.code.mime", "Mime-type of the content the link returns"),
    ResultColumn(name="content_length", datatype="long", unit="byte", ucd="phys.size;meta.file",
                 description="Size of the download the link returns"),
    _text("content_qualifier", None, "Nature of the content the link returns (product-type vocabulary)"),
    _text("local_semantics", "meta.id.assoc", "Label of equivalent links of other datasets of this service"),
    _text("link_auth", "meta.code", "Whether using the link requires authentication (false, optional, true)"),
    ResultColumn(name="link_authorized", datatype="boolean", ucd="meta.code",
                 description="Whether the caller is authorized to use the link"),
)
#: XML IDs of the FIELDs: the column names (service descriptors refer to ``ID``).
LINK_FIELD_IDS = tuple(column.name for column in LINK_COLUMNS)
ID_FIELD = "ID"

_DATA_OPEN = "<DATA><TABLEDATA>\n"
_DATA_CLOSE = "</TABLEDATA></DATA>\n"


class _Cells:
    """TD elements of one document, memoised: IDs, semantics and MIME types repeat on many rows."""

    def __init__(self) -> None:
        self._memo: dict[str | int | bool | None, str] = {None: "<TD/>", "": "<TD/>", True: "<TD>T</TD>",
                                                          False: "<TD>F</TD>"}

    def __call__(self, value: str | int | bool | None) -> str:
        if value.__class__ is int:  # content_length; integers never enter the memo (True == 1)
            return f"<TD>{value}</TD>"
        cell = self._memo.get(value)
        if cell is None:
            cell = self._memo[value] = f"<TD>{xmlutil.text(str(value))}</TD>"
        return cell


def row_xml(row: LinkRow, cells: _Cells | None = None) -> str:
    td = cells or _Cells()
    return "".join((
        "<TR>", td(row.id), td(row.access_url), td(row.service_def), td(row.error_message), td(row.semantics),
        td(row.description), td(row.content_type), td(row.content_length), td(row.content_qualifier),
        td(row.local_semantics), td(row.link_auth), td(row.link_authorized), "</TR>\n",
    ))


def render_links(result: LinksResult, base_url: str) -> bytes:
    """The whole links document (its size is bounded by the cap on identifiers per request)."""
    return b"".join(iter_links(result, base_url))


def iter_links(result: LinksResult, base_url: str) -> Iterable[bytes]:
    yield results_head(LINK_COLUMNS, info={"standardID": LINKS_STANDARD_ID}, ids=LINK_FIELD_IDS,
                       data_open=_DATA_OPEN).encode()
    batch: list[str] = []
    cells = _Cells()
    for row in result.rows:
        batch.append(row_xml(row, cells))
        if len(batch) >= 500:
            yield "".join(batch).encode()
            batch = []
    if batch:
        yield "".join(batch).encode()
    extra = [links_self_descriptor(base_url)]
    if PROVSAP_DESCRIPTOR_ID in result.service_defs:
        extra.append(provsap_descriptor(base_url, PROVSAP_DESCRIPTOR_ID, ID_FIELD))
    if SODA_DESCRIPTOR_ID in result.service_defs:
        extra.append(soda_descriptor(base_url, SODA_DESCRIPTOR_ID, ID_FIELD))
    if GADF_DESCRIPTOR_ID in result.service_defs:
        extra.append(gadf_index_descriptor(base_url, GADF_DESCRIPTOR_ID, ID_FIELD))
        extra.append(gadf_async_descriptor(base_url, GADF_ASYNC_DESCRIPTOR_ID, ID_FIELD))
    yield results_tail(_DATA_CLOSE, "OVERFLOW" if result.overflow else None, extra_resources=extra)
