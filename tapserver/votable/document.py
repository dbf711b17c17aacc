"""VOTable document parts: the results head and tail, and the DALI error document."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from tapserver.votable import xmlutil
from tapserver.votable.fields import ResultColumn, field_ids, is_mjd_time, render_field

VOTABLE_NS = "http://www.ivoa.net/xml/VOTable/v1.3"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
VOTABLE_OPEN = (
    f'<VOTABLE version="1.4" xmlns="{VOTABLE_NS}" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    f'xsi:schemaLocation="{VOTABLE_NS} http://www.ivoa.net/xml/VOTable/v1.3">\n'
)


def info_element(name: str, value: str, content: str | None = None) -> str:
    """``<INFO name= value=>content</INFO>`` (empty element without content)."""
    head = f'<INFO name="{xmlutil.attr(name)}" value="{xmlutil.attr(value)}"'
    if content:
        return f"{head}>{xmlutil.text(content)}</INFO>\n"
    return f"{head}/>\n"


def timesys_id(ids: Sequence[str]) -> str:
    """An ID for the TIMESYS element that no FIELD ID takes (IDs compare case-insensitively here)."""
    taken = {fid.lower() for fid in ids}
    candidate, n = "timesys_tt_mjd", 1
    while candidate in taken:
        n += 1
        candidate = f"timesys_tt_mjd_{n}"
    return candidate


def timesys_element(element_id: str) -> str:
    """The VOTable 1.4 TIMESYS of the MJD columns: MJD in TT, observed at the telescope."""
    return (f'<TIMESYS ID="{xmlutil.attr(element_id)}" timeorigin="MJD-origin" timescale="TT" '
            'refposition="TOPOCENTER"/>\n')


def _infos(info: Mapping[str, str]) -> str:
    return "".join(info_element(name, value) for name, value in info.items() if name != "QUERY_STATUS")


def results_head(
    columns: Sequence[ResultColumn],
    *,
    info: Mapping[str, str] = {},
    ids: Sequence[str] | None = None,
    null_values: Sequence[str | None] | None = None,
    data_open: str = "",
) -> str:
    """Everything up to the start of the serialised rows: VOTABLE, RESOURCE type="results",
    INFO QUERY_STATUS=OK (then the caller's INFOs), the TIMESYS of the MJD time columns (only when
    there is one), TABLE, FIELDs (time columns with ``ref`` to the TIMESYS), and ``data_open`` (e.g.
    ``<DATA><BINARY2><STREAM encoding="base64">``)."""
    ids = ids or field_ids(columns)
    nulls = null_values or [None] * len(columns)
    times = [is_mjd_time(col) for col in columns]
    tsid = timesys_id(ids) if any(times) else None
    fields = "".join(
        render_field(col, fid, null_value=null, ref=tsid if time else None) + "\n"
        for col, fid, null, time in zip(columns, ids, nulls, times, strict=True)
    )
    return (
        XML_DECLARATION + VOTABLE_OPEN + '<RESOURCE type="results">\n'
        + info_element("QUERY_STATUS", "OK") + _infos(info)
        + (timesys_element(tsid) if tsid else "")
        + "<TABLE>\n" + fields + data_open
    )


def results_tail(data_close: str, status: str | None = None, message: str | None = None,
                 extra_resources: Iterable[bytes] = ()) -> bytes:
    """Close the data and TABLE, add the post-table QUERY_STATUS (OVERFLOW or ERROR) if any, then the
    extra RESOURCEs (raw XML) and ``</VOTABLE>``."""
    out = data_close + "</TABLE>\n"
    if status:
        out += info_element("QUERY_STATUS", status, message)
    out += "</RESOURCE>\n"
    return out.encode() + b"".join(extra_resources) + b"</VOTABLE>\n"


def render_error_votable(message: str, info: Mapping[str, str] | None = None) -> bytes:
    """The DALI error document: one RESOURCE type="results" holding INFO QUERY_STATUS=ERROR with the
    message (XML-escaped), optionally followed by more INFOs (e.g. ``{"QUERY": adql}``)."""
    body = (
        XML_DECLARATION + VOTABLE_OPEN + '<RESOURCE type="results">\n'
        + info_element("QUERY_STATUS", "ERROR", message or "Error") + _infos(info or {})
        + "</RESOURCE>\n</VOTABLE>\n"
    )
    return body.encode()


def metadata_votable(columns: Sequence[ResultColumn], info: Mapping[str, str] = {},
                     ids: Sequence[str] | None = None, status: str | None = None) -> bytes:
    """A VOTable with the FIELDs and no DATA (the VOParquet metadata document); ``status`` (OVERFLOW) is
    written after the TABLE as in a VOTable result."""
    return results_head(columns, info=info, ids=ids).encode() + results_tail("", status)
