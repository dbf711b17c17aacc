"""The query page: an ADQL form that posts to /tap/sync (so it works without JavaScript), which
``static/query.js`` turns into the editor, result table, sky view, time-energy plot and job list."""

from __future__ import annotations

import json

from tapserver.catalog.model import Catalog
from tapserver.config import Settings
from tapserver.formats import FORMATS
from tapserver.web.layout import h, page

DEFAULT_QUERY = (
    "SELECT TOP 100 obs_id, target_name, t_min, t_max, t_exptime, em_min, em_max, s_region, obs_publisher_did\n"
    "FROM ivoa.obscore\n"
    "ORDER BY t_min"
)
#: The format the form proposes: TABLEDATA can be shown in the page as well as downloaded.
DEFAULT_FORMAT = "votable-td"


def _schema_browser(catalog: Catalog) -> str:
    parts = []
    for t in catalog:
        cols = "".join(
            f'<li><button type="button" class="insert" data-insert="{h(c.name)}" '
            f'title="{h((c.description or "") + (f" [{c.unit}]" if c.unit else ""))}">{h(c.name)}</button></li>'
            for c in t.columns
        )
        parts.append(
            f'<details><summary><button type="button" class="insert" data-insert="{h(t.qualified)}" '
            f'title="{h(t.description or "")}">{h(t.qualified)}</button></summary>'
            f'<ul class="cols">{cols}</ul></details>'
        )
    return "".join(parts)


def _json_script(value: object) -> str:
    """JSON for a <script type="application/json"> element (its text is not HTML-unescaped: hide "<" only)."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_query_page(settings: Settings, catalog: Catalog, query: str | None) -> str:
    formats = "".join(
        f'<option value="{h(f.mime)}" data-name="{h(f.name)}" data-ext="{h(f.extension)}"'
        f'{" selected" if f.name == DEFAULT_FORMAT else ""}>{h(f.label)}</option>'
        for f in FORMATS
    )
    config = {
        "defaultMaxrec": settings.default_maxrec,
        "hardMaxrec": settings.hard_maxrec,
        "formats": [{"name": f.name, "mime": f.mime, "label": f.label, "ext": f.extension} for f in FORMATS],
        "title": settings.title,
    }
    text = query if query is not None and query.strip() else DEFAULT_QUERY
    body = f"""<h1>Query the archive</h1>
<div class="query-layout">
<aside class="sidebar" aria-label="Examples and tables">
<section aria-labelledby="examples-h">
<h2 id="examples-h">Examples</h2>
<ul id="examples" class="examples"><li><a href="/tap/examples">Example queries</a></li></ul>
</section>
<section aria-labelledby="schema-h">
<h2 id="schema-h">Tables</h2>
<p class="hint">Click a name to insert it at the cursor. <a href="/tables">Table documentation</a></p>
<div class="schema-browser">{_schema_browser(catalog)}</div>
</section>
</aside>
<div class="workspace">
<form id="query-form" method="post" action="/tap/sync">
<input type="hidden" name="LANG" value="ADQL">
<label for="adql" class="editor-label">ADQL
<span class="hint">(ADQL 2.1; <kbd>Ctrl</kbd>+<kbd>Enter</kbd> runs the query)</span></label>
<div class="editor" id="editor"><textarea id="adql" name="QUERY" rows="9" spellcheck="false" autocapitalize="off"
autocomplete="off" wrap="off" aria-describedby="query-error">{h(text)}</textarea></div>
<div id="query-error" class="notice error" role="alert" hidden></div>
<div class="controls">
<label for="maxrec">MAXREC</label>
<input id="maxrec" name="MAXREC" type="number" min="0" max="{settings.hard_maxrec}" step="1"
value="{settings.default_maxrec}" inputmode="numeric" aria-describedby="maxrec-hint">
<span id="maxrec-hint" class="hint">rows at most (default {settings.default_maxrec:,},
limit {settings.hard_maxrec:,})</span>
<label for="format">Format</label>
<select id="format" name="RESPONSEFORMAT">{formats}</select>
<button type="submit" id="run-sync" class="primary">Run</button>
<button type="button" id="run-async" hidden>Submit as async job</button>
</div>
</form>
<section id="results" aria-labelledby="results-h" hidden>
<h2 id="results-h">Result</h2>
<p id="result-status" role="status" aria-live="polite"></p>
<div id="overflow" class="notice warning" hidden></div>
<div class="result-actions"><span id="downloads"></span><span id="samp-result"></span></div>
<div class="tabs" role="tablist" aria-label="Result views">
<button type="button" role="tab" id="tab-table" aria-controls="panel-table" aria-selected="true">Table</button>
<button type="button" role="tab" id="tab-sky" aria-controls="panel-sky" aria-selected="false" tabindex="-1">Sky</button>
<button type="button" role="tab" id="tab-te" aria-controls="panel-te" aria-selected="false"
tabindex="-1">Time – energy</button>
</div>
<div id="panel-table" role="tabpanel" aria-labelledby="tab-table" tabindex="0"></div>
<div id="panel-sky" role="tabpanel" aria-labelledby="tab-sky" tabindex="0" hidden></div>
<div id="panel-te" role="tabpanel" aria-labelledby="tab-te" tabindex="0" hidden></div>
</section>
<section id="jobs" aria-labelledby="jobs-h" hidden>
<h2 id="jobs-h">Async jobs</h2>
<div class="table-wrap"><table class="data jobs"><thead><tr><th scope="col">Job</th><th scope="col">Phase</th>
<th scope="col">Duration</th><th scope="col">Rows / size</th><th scope="col">Result</th><th scope="col">Actions</th>
</tr></thead><tbody id="job-rows"></tbody></table></div>
</section>
</div>
</div>
<script type="application/json" id="page-config">{_json_script(config)}</script>"""
    return page(settings, title="Query", active="query", body=body, scripts=("common.js", "query.js"),
                description="Run ADQL queries on the archive")
