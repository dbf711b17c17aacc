"""The page of one dataset: its ObsCore row, its DataLink products and its provenance graph."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from tapserver.catalog.model import Table
from tapserver.config import Settings
from tapserver.datalink.model import LinkRow
from tapserver.web.layout import fmt_bytes, fmt_duration, fmt_mjd, fmt_number, h, page, table, url
from tapserver.web.plots import energy_range_text
from tapserver.web.stats import wavelength_to_tev

PROV_FORMATS = (("PROV-SVG", "SVG"), ("PROV-JSON", "PROV-JSON"), ("PROV-N", "PROV-N"), ("PROV-XML", "PROV-XML"),
                ("PROV-VOTABLE", "VOTable"))


def provsap_url(did: str, response_format: str) -> str:
    return url("/provsap", ID=did, DEPTH="ALL", DIRECTION="BACK", RESPONSEFORMAT=response_format)


def _value(value: object) -> str:
    if value is None:
        return '<span class="null">NULL</span>'
    if isinstance(value, float):
        return h(repr(value)) if math.isfinite(value) else h(str(value))
    if isinstance(value, datetime):
        return h(value.isoformat(sep=" "))
    text = str(value)
    if text.startswith(("http://", "https://")):
        return f'<a href="{h(text)}">{h(text)}</a>'
    return h(text)


def _summary(row: Mapping[str, Any]) -> str:
    def num(name: str) -> float | None:
        v = row.get(name)
        return float(v) if isinstance(v, int | float) else None

    t_min, t_max = num("t_min"), num("t_max")
    e_lo, e_hi = wavelength_to_tev(num("em_max")), wavelength_to_tev(num("em_min"))
    items = [
        ("Target", h(row.get("target_name") or "–") + (f" <small>({h(row['target_class'])})</small>"
                                                       if row.get("target_class") else "")),
        ("Collection", h(row.get("obs_collection") or "–")),
        ("Facility / instrument", h(" / ".join(str(v) for v in (row.get("facility_name"), row.get("instrument_name"))
                                               if v) or "–")),
        ("Observation", h(f"{fmt_mjd(t_min, with_time=True)} – {fmt_mjd(t_max, with_time=True)} UTC"
                          if t_min is not None and t_max is not None else "–")
         + (f" <small>(MJD {h(fmt_number(t_min, 10))} – {h(fmt_number(t_max, 10))})</small>"
            if t_min is not None and t_max is not None else "")),
        ("Live time", h(fmt_duration(num("t_exptime")))),
        ("Energy range", h(energy_range_text(e_lo, e_hi))),
        ("Pointing", h(f"RA {num('s_ra'):.4f}°, Dec {num('s_dec'):+.4f}° (ICRS)"
                       if num("s_ra") is not None and num("s_dec") is not None else "–")),
        ("Field of view", h(f"{num('s_fov'):g}° diameter" if num("s_fov") is not None else "–")),
        ("Data rights", h(row.get("data_rights") or "–")),
    ]
    return '<dl class="summary">' + "".join(f"<dt>{h(k)}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def _samp_slot(link: LinkRow, name: str, label: str) -> str:
    """A SAMP send control (filled in by common.js) that offers a FITS table to TOPCAT, Aladin..."""
    return (f'<span class="samp-slot" data-samp-url="{h(link.access_url or "")}" data-samp-mtype="table.load.fits" '
            f'data-samp-name="{h(name)}" data-samp-label="{h(label)}"></span>')


def _sendable(link: LinkRow) -> bool:
    return (link.access_url is not None and (link.content_type or "").startswith("application/fits")
            and link.link_authorized is not False)


def _event_list_action(links: Sequence[LinkRow]) -> str:
    """The dataset's event list (#this), sent as a FITS table in one click from the top of the page."""
    this = next((link for link in links if link.semantics == "#this" and _sendable(link)), None)
    if this is None:
        return ""
    return " " + _samp_slot(this, this.description or "Event list", "Send the event list to TOPCAT / Aladin…")


def _qualifier(term: str) -> str:
    """A content_qualifier as shown: a full URI as a link labelled with its term (``aeff``, ``gti``)."""
    if not term.startswith(("http://", "https://")):
        return h(term)
    label = term.rsplit("#", 1)[1] if "#" in term else term.rstrip("/").rsplit("/", 1)[-1].removesuffix(".html")
    return f'<a href="{h(term)}" title="{h(term)}">{h(label)}</a>'


def _products(did: str, links: Sequence[LinkRow], links_url: str) -> str:
    rows = []
    for link in links:
        if link.service_def is not None:
            continue
        if link.error_message is not None:
            rows.append([h(link.semantics), f'<span class="status bad">{h(link.error_message)}</span>', "", "", "", ""])
            continue
        assert link.access_url is not None
        name = link.description or link.access_url
        locked = link.link_authorized is False
        anchor = (f'<a class="download" href="{h(link.access_url)}">{h(name)}</a>'
                  + (' <span class="status bad">login needed</span>' if locked else ""))
        samp = _samp_slot(link, name, "SAMP…") if _sendable(link) else ""
        rows.append([
            anchor,
            f"<code>{h(link.semantics)}</code>"
            + (f"<br><small>{_qualifier(link.content_qualifier)}</small>" if link.content_qualifier else ""),
            h(link.content_type or ""),
            h(fmt_bytes(link.content_length)),
            h(link.local_semantics or ""),
            samp,
        ])
    if not rows:
        return '<p class="empty">No product is registered for this dataset.</p>'
    return (table(["Product", "Semantics", "Type", "Size", "Label", "Send"], rows, cls="data products", numeric=(3,))
            + f'<p class="hint">The same list as a DataLink document: <a href="{h(links_url)}">{h(links_url)}</a></p>')


def _provenance(did: str) -> str:
    svg = provsap_url(did, "PROV-SVG")
    others = " · ".join(f'<a href="{h(provsap_url(did, fmt))}">{h(label)}</a>' for fmt, label in PROV_FORMATS)
    return f"""<figure class="provenance">
<object id="prov-graph" data="{h(svg)}" type="image/svg+xml" aria-label="Provenance graph of the dataset">
<p><a href="{h(svg)}">Provenance graph (SVG)</a></p></object>
<figcaption>Entities (ellipses), activities (boxes) and agents this dataset comes from (ProvSAP,
<code>DIRECTION=BACK</code>, <code>DEPTH=ALL</code>). Also as: {others}. Hover a node or an arrow for
details.</figcaption>
</figure>"""


def render_dataset(settings: Settings, table_meta: Table, row: Mapping[str, Any], links: Sequence[LinkRow]) -> str:
    did = str(row["obs_publisher_did"])
    title = str(row.get("obs_title") or f"Dataset {row.get('obs_id')}")
    links_url = url("/datalink/links", ID=did)
    query = f"SELECT *\nFROM ivoa.obscore\nWHERE obs_publisher_did = '{did.replace(chr(39), chr(39) * 2)}'"
    all_columns = "".join(
        f'<tr><th scope="row"><code>{h(c.name)}</code></th><td>{_value(row.get(c.name))}</td>'
        f"<td>{h(c.unit or '')}</td><td>{h(c.description or '')}</td></tr>"
        for c in table_meta.columns
    )
    body = f"""<p class="crumbs"><a href="/">Archive</a> › <a href="/query">Query</a> › dataset</p>
<h1>{h(title)}</h1>
<p class="did"><code>{h(did)}</code>
<button type="button" class="copy" data-copy-text="{h(did)}" hidden>Copy the identifier</button></p>
{_summary(row)}
<p class="actions"><a class="button small" href="{h(url("/query", QUERY=query))}">Open in the query page</a>\
{_event_list_action(links)}</p>
<section aria-labelledby="products-h"><h2 id="products-h">Products</h2>
{_products(did, links, links_url)}
</section>
<section aria-labelledby="prov-h"><h2 id="prov-h">Provenance</h2>
{_provenance(did)}
</section>
<section aria-labelledby="row-h"><h2 id="row-h">ObsCore record</h2>
<details><summary>All {len(table_meta.columns)} columns of <code>{h(table_meta.qualified)}</code></summary>
<div class="table-wrap"><table class="data kv-wide"><thead><tr><th scope="col">Column</th><th scope="col">Value</th>
<th scope="col">Unit</th><th scope="col">Description</th></tr></thead><tbody>{all_columns}</tbody></table></div>
</details>
</section>"""
    return page(settings, title=title, active="", body=body, scripts=("common.js",),
                description=f"Dataset {did}: products and provenance")


def render_not_found(settings: Settings, did: str | None) -> str:
    what = (f"No dataset has the identifier <code>{h(did)}</code>." if did
            else "Give a dataset identifier (obs_publisher_did) as <code>ID</code>.")
    body = f"""<h1>Dataset not found</h1>
<p>{what}</p>
<p><a href="/query">Search the archive</a> for datasets.</p>"""
    return page(settings, title="Dataset not found", active="", body=body, scripts=("common.js",))
