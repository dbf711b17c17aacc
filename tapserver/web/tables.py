"""The table browser: schemas, tables and columns of the published catalog (what /tap/tables serves),
as one HTML page that works without JavaScript (``static/common.js`` adds a column filter)."""

from __future__ import annotations

from collections.abc import Mapping

from tapserver.catalog.model import Catalog, Column, Table
from tapserver.config import Settings
from tapserver.web.layout import h, page, url


def _type(c: Column) -> str:
    text = c.datatype
    if c.arraysize:
        text += f"[{c.arraysize}]"
    if c.xtype:
        text += f" ({c.xtype})"
    return text


def _flags(c: Column) -> str:
    flags = []
    if c.principal:
        flags.append('<abbr class="flag" title="principal: shown by default">P</abbr>')
    if c.indexed:
        flags.append('<abbr class="flag" title="indexed: fast to search on">I</abbr>')
    if c.std:
        flags.append('<abbr class="flag" title="defined by a standard (ObsCore, Provenance DM)">S</abbr>')
    return "".join(flags)


def _search_text(c: Column) -> str:
    return " ".join(v for v in (c.name, c.description, c.ucd, c.unit) if v).lower()


def table_anchor(t: Table) -> str:
    return "t-" + t.qualified.replace(".", "-")


def _rows(count: int | None) -> str:
    if count is None:
        return ""
    plural = "" if count == 1 else "s"
    return f' <small class="nrows" title="approximate number of rows">≈ {count:,} row{plural}</small>'


def _table_section(t: Table, catalog: Catalog, nrows: int | None = None) -> str:
    columns = "".join(
        f'<tr data-search="{h(_search_text(c))}">'
        f'<th scope="row"><code>{h(c.name)}</code> {_flags(c)}</th>'
        f"<td>{h(_type(c))}</td><td>{h(c.unit or '')}</td><td><code>{h(c.ucd or '')}</code></td>"
        f"<td>{h(c.description or '')}</td></tr>"
        for c in t.columns
    )
    keys = ""
    if t.foreign_keys:
        items = []
        for fk in t.foreign_keys:
            target = catalog.table(fk.target_table)
            cols = ", ".join(f"{a} → {b}" for a, b in fk.columns)
            ref = (f'<a href="#{h(table_anchor(target))}">{h(fk.target_table)}</a>' if target
                   else h(fk.target_table))
            items.append(f"<li>{ref}: {h(cols)}{(' – ' + h(fk.description)) if fk.description else ''}</li>")
        keys = f'<p class="keys-h">Joins:</p><ul class="keys">{"".join(items)}</ul>'
    principal = [c.name for c in t.columns if c.principal][:12] or [c.name for c in t.columns][:8]
    sample = f"SELECT TOP 100 {', '.join(principal)}\nFROM {t.qualified}"
    utype = f' <span class="utype">{h(t.utype)}</span>' if t.utype else ""
    return f"""<section class="table-doc" id="{h(table_anchor(t))}" aria-labelledby="{h(table_anchor(t))}-h">
<h3 id="{h(table_anchor(t))}-h"><code>{h(t.qualified)}</code> <small>{h(t.table_type)}</small>{_rows(nrows)}</h3>
<p>{h(t.description or "")}{utype}</p>
<p class="actions"><a class="button small" href="{h(url("/query", QUERY=sample))}">Query this table</a>
<a class="button small" href="/tap/tables/{h(t.qualified)}">VOSI</a></p>
<details{" open" if t.name == "obscore" else ""}><summary>{len(t.columns)} columns</summary>
<div class="table-wrap"><table class="data columns"><thead><tr><th scope="col">Column</th>
<th scope="col">Type</th><th scope="col">Unit</th><th scope="col">UCD</th><th scope="col">Description</th>
</tr></thead><tbody>{columns}</tbody></table></div></details>
{keys}
</section>"""


def render_tables(settings: Settings, catalog: Catalog, nrows: Mapping[str, int] | None = None) -> str:
    counts = nrows or {}
    toc = []
    sections = []
    for schema in catalog.schemas:
        entries = "".join(f'<li><a href="#{h(table_anchor(t))}">{h(t.name)}</a></li>' for t in schema.tables)
        toc.append(f'<li><a href="#s-{h(schema.name)}">{h(schema.name)}</a><ul>{entries}</ul></li>')
        sections.append(
            f'<section class="schema-doc" id="s-{h(schema.name)}" aria-labelledby="s-{h(schema.name)}-h">'
            f'<h2 id="s-{h(schema.name)}-h">Schema <code>{h(schema.name)}</code></h2>'
            f'<p>{h(schema.description or "")}</p>'
            + "".join(_table_section(t, catalog, counts.get(t.qualified)) for t in schema.tables)
            + "</section>"
        )
    body = f"""<h1>Tables</h1>
<p class="lead">{len(catalog):,} tables in {len(catalog.schemas):,} schemas, as the
<a href="/tap/tables">VOSI tables</a> endpoint and <code>TAP_SCHEMA</code> describe them. Flags:
<abbr class="flag" title="principal">P</abbr> principal, <abbr class="flag" title="indexed">I</abbr>
indexed, <abbr class="flag" title="standard">S</abbr> standard.</p>
<div class="with-sidebar">
<nav class="toc" aria-label="Schemas and tables"><ul>{"".join(toc)}</ul></nav>
<div class="docs">
<div class="filter" hidden><label for="column-filter">Filter columns</label>
<input id="column-filter" type="search" placeholder="name, UCD, unit or words of the description"></div>
{"".join(sections)}
</div>
</div>"""
    return page(settings, title="Tables", active="tables", body=body, scripts=("common.js",),
                description="Schemas, tables and columns of the archive")
