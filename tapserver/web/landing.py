"""The root page: what the archive holds, how to connect, its coverage and its health. Works without
JavaScript (the copy and SAMP buttons are added by ``static/common.js`` when it runs)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from tapserver import __version__
from tapserver.config import Settings
from tapserver.web.analysis import analysis_section
from tapserver.web.coverage import Coverage
from tapserver.web.layout import (
    copy_field,
    fmt_duration,
    fmt_mjd,
    fmt_number,
    h,
    page,
    table,
    url,
)
from tapserver.web.plots import PALETTE, energy_range_text, render_time_energy
from tapserver.web.stats import Archive, Operations

DEFAULT_DESCRIPTION = (
    "An IVOA ObsTAP and ProvTAP service publishing gamma-ray observations at data level 3 (DL3: event "
    "lists with their instrument response functions) as ObsCore 1.1 datasets, together with their observing "
    "configuration and their provenance."
)


@dataclass(frozen=True)
class LandingData:
    """What the handler gathered; a part is None when the database could not give it."""

    archive: Archive | None
    coverage: Coverage | None
    sky_svg: str | None
    operations: Operations
    started: datetime
    problem: str | None = None


def pyvo_snippet(settings: Settings) -> str:
    return (
        "import pyvo\n\n"
        f'tap = pyvo.dal.TAPService("{settings.tap_url}")\n'
        "result = tap.search(\"SELECT TOP 10 obs_id, target_name, t_min, t_exptime, \"\n"
        "                    \"access_url, access_format FROM ivoa.obscore ORDER BY t_min\")\n"
        "table = result.to_table()\n"
        "print(table)\n\n"
        "# the files of the first dataset (DataLink: access_format tells pyvo)\n"
        "for link in result[0].getdatalink():\n"
        "    print(link.semantics, link.content_type, link.access_url)\n"
    )


def _facts(data: LandingData) -> str:
    archive = data.archive
    if archive is None:
        return ""
    items = [
        (f"{archive.datasets:,}", "datasets"),
        (f"{len(archive.collections):,}", "collection" if len(archive.collections) == 1 else "collections"),
        (f"{sum(c.targets for c in archive.collections):,}", "targets"),
    ]
    exposure = sum(c.exposure_s or 0.0 for c in archive.collections)
    if exposure:
        items.append((fmt_duration(exposure), "live time"))
    if data.coverage is not None and data.coverage.footprints:
        items.append((f"{data.coverage.sky_fraction * 100:.3g} %", "of the sky"))
    return '<ul class="facts">' + "".join(
        f'<li><strong>{h(value)}</strong> <span>{h(label)}</span></li>' for value, label in items) + "</ul>"


ENDPOINTS = (
    ("tap", "TAP service base URL"),
    ("tap/sync", "synchronous queries"),
    ("tap/async", "asynchronous queries (UWS job list)"),
    ("tap/capabilities", "VOSI capabilities"),
    ("tap/availability", "VOSI availability"),
    ("tap/tables", "VOSI tables"),
    ("tap/examples", "DALI example queries"),
    ("tap/coverage", "sky coverage as a MOC (FITS; ?RESPONSEFORMAT=json)"),
    ("datalink/links", "DataLink {links} of a dataset (?ID=obs_publisher_did)"),
    ("provsap", "provenance of a dataset, activity or agent (ProvSAP)"),
    ("gadf/datastore", "GADF data store of a selection for gammapy (?QUERY=ADQL or ?ID=...; tar, zip, "
                       "obs-index, hdu-index)"),
    ("soda/sync", "SODA cutout of an event list (?ID=...&CIRCLE=ra dec r&TIME=...&BAND=...)"),
)


def _endpoints(settings: Settings) -> str:
    items = "".join(
        f'<li><a href="{h(settings.base_url)}/{h(path)}"><code>{h(settings.base_url)}/{h(path)}</code></a>: '
        f"{h(what)}</li>"
        for path, what in ENDPOINTS
    )
    return f'<details class="endpoints"><summary>All service endpoints</summary><ul>{items}</ul></details>'


def _connect(settings: Settings) -> str:
    base = settings.base_url
    fields = "".join([
        copy_field("TAP service (TOPCAT, pyvo, Aladin)", settings.tap_url, "url-tap"),
        copy_field("DataLink {links}", f"{base}/datalink/links", "url-datalink"),
        copy_field("ProvSAP", f"{base}/provsap", "url-provsap"),
        copy_field("Sky coverage (MOC)", f"{settings.tap_url}/coverage", "url-moc"),
    ])
    snippet = pyvo_snippet(settings)
    return f"""<section aria-labelledby="connect-h">
<h2 id="connect-h">Connect</h2>
<div class="two-col">
<div>{fields}
<p class="hint">TOPCAT: <em>VO → Table Access Protocol (TAP) Query</em>, paste the TAP URL in
<em>TAP URL</em> at the bottom and press <em>Use Service</em>. Aladin Desktop: <em>File → Open → Load a
coverage</em> with the MOC URL.</p>
{_endpoints(settings)}
</div>
<div>
<h3 id="pyvo-h">From Python (pyvo)</h3>
<pre class="code" aria-labelledby="pyvo-h"><code id="pyvo-snippet">{h(snippet)}</code></pre>
<button type="button" class="copy" data-copy="pyvo-snippet" hidden>Copy the snippet</button>
</div>
</div>
</section>"""


def _collections(archive: Archive | None) -> str:
    if archive is None:
        return ""
    if not archive.collections:
        return """<section aria-labelledby="collections-h"><h2 id="collections-h">Collections</h2>
<p class="empty">The archive is empty: no dataset has been ingested yet
(<code>tapserver ingest DIRECTORY --config COLLECTION.toml</code>).</p></section>"""
    rows = []
    for i, c in enumerate(archive.collections):
        literal = c.name.replace("'", "''")
        query = ("SELECT obs_id, target_name, t_min, t_max, t_exptime, em_min, em_max, s_region, obs_publisher_did\n"
                 f"FROM ivoa.obscore\nWHERE obs_collection = '{literal}'\nORDER BY t_min")
        swatch = f'<span class="swatch" style="background:{PALETTE[i % len(PALETTE)]}"></span>'
        rows.append([
            f'{swatch}<a href="{h(url("/query", QUERY=query))}">{h(c.name)}</a>',
            h(c.facilities) + (f"<br><small>{h(c.instruments)}</small>" if c.instruments else ""),
            f"{c.datasets:,}",
            f"{c.targets:,}",
            h(fmt_duration(c.exposure_s)),
            f"{h(fmt_mjd(c.t_min))} – {h(fmt_mjd(c.t_max))}<br><small>MJD {h(fmt_number(c.t_min, 7))} – "
            f"{h(fmt_number(c.t_max, 7))}</small>",
            h(energy_range_text(c.e_min_tev, c.e_max_tev)),
            h(c.calib_levels),
            h(c.rights),
        ])
    return (
        '<section aria-labelledby="collections-h"><h2 id="collections-h">Collections</h2>'
        + table(["Collection", "Facility / instrument", "Datasets", "Targets", "Live time", "Time coverage",
                 "Energy coverage", "Calib. level", "Rights"], rows, numeric=(2, 3, 4))
        + '<p class="hint">A collection\'s name opens its datasets in the query page.</p></section>'
    )


def _coverage(settings: Settings, data: LandingData) -> str:
    coverage, svg = data.coverage, data.sky_svg
    if coverage is None or svg is None:
        return ""
    moc = f"{settings.tap_url}/coverage"
    summary = (f"{coverage.footprints:,} fields of view cover {coverage.sky_fraction * 100:.3g} % of the sky"
               if coverage.footprints else "No field of view yet")
    return f"""<section aria-labelledby="coverage-h">
<h2 id="coverage-h">Sky coverage</h2>
<figure class="plot sky">{svg}
<figcaption>{h(summary)} (ICRS, Hammer-Aitoff projection centred on RA 0 h, east to the left; the
galactic plane in red). Coverage as a MOC: <a href="{h(moc)}?RESPONSEFORMAT=fits" download="coverage.fits">FITS</a>,
<a href="{h(moc)}?RESPONSEFORMAT=json">JSON</a>
<span class="samp-slot" data-samp-url="{h(moc)}?RESPONSEFORMAT=fits" data-samp-mtype="coverage.load.moc.fits"
data-samp-name="{h(settings.title)} coverage"></span></figcaption>
</figure>
</section>"""


def _time_energy(archive: Archive | None) -> str:
    if archive is None:
        return ""
    plot = render_time_energy(archive.observations, [c.name for c in archive.collections])
    more = ""
    if archive.observations_total > len(archive.observations):
        more = (f'<p class="hint">The plot shows the first {len(archive.observations):,} of '
                f"{archive.observations_total:,} datasets.</p>")
    return f"""<section aria-labelledby="te-h">
<h2 id="te-h">Time and energy coverage</h2>
{plot}{more}
</section>"""


def _status(settings: Settings, data: LandingData) -> str:
    ops = data.operations
    now = datetime.now(UTC)
    up = fmt_duration((now - data.started).total_seconds())
    state = ("ok", "Available") if ops.database_ok else ("bad", "Unavailable")
    rows = [
        ("Service", f'<span class="status {state[0]}">{state[1]}</span> {h(ops.database_note)}'),
        ("Database round trip", h(f"{ops.database_ms:.1f} ms") if ops.database_ms is not None else "–"),
        ("Published tables", h(ops.published_tables) if ops.published_tables is not None else "–"),
        ("Up since", f'{h(data.started.strftime("%Y-%m-%d %H:%M:%S UTC"))} ({h(up)})'),
        ("Version", h(f"tapserver {__version__}")),
    ]
    if ops.jobs_by_phase is not None:
        jobs = ", ".join(f"{n:,} {phase.lower()}" for phase, n in ops.jobs_by_phase.items()) or "none"
        if ops.oldest_queued is not None:
            wait = (now - ops.oldest_queued).total_seconds()
            jobs += f"; oldest queued job waiting for {fmt_duration(wait)}"
        rows.append(("Async jobs", h(jobs)))
    if ops.source_files is not None:
        last = ops.last_ingest.strftime("%Y-%m-%d %H:%M UTC") if ops.last_ingest else "never"
        rows.append(("Ingested files", h(f"{ops.source_files:,} (last ingest: {last})")))
    if data.problem:
        rows.append(("Problem", f'<span class="status bad">{h(data.problem)}</span>'))
    body = "".join(f'<tr><th scope="row">{h(k)}</th><td>{v}</td></tr>' for k, v in rows)
    return f"""<section aria-labelledby="status-h" class="status-section">
<h2 id="status-h">Service status</h2>
<table class="kv"><tbody>{body}</tbody></table>
<p class="hint">Machine-readable: <a href="/tap/availability">VOSI availability</a>,
<a href="/api/stats">statistics (JSON)</a>.</p>
</section>"""


def _largest_collection(archive: Archive | None) -> str | None:
    if archive is None or not archive.collections:
        return None
    return max(archive.collections, key=lambda c: c.datasets).name


def render_landing(settings: Settings, data: LandingData) -> str:
    description = getattr(settings, "description", None) or DEFAULT_DESCRIPTION
    problem = ""
    if data.archive is None:
        problem = ('<p class="notice error" role="alert">The archive database is not answering: '
                   f"{h(data.problem or data.operations.database_note)}</p>")
    body = f"""<section class="intro">
<h1>{h(settings.title)}</h1>
<p class="lead">{h(description)}</p>
{problem}{_facts(data)}
<p class="actions"><a class="button primary" href="/query">Query the archive</a>
<a class="button" href="/tables">Browse the tables</a></p>
</section>
{_connect(settings)}
{analysis_section(settings, _largest_collection(data.archive))}
{_collections(data.archive)}
{_coverage(settings, data)}
{_time_energy(data.archive)}
{_status(settings, data)}"""
    return page(settings, title=settings.title, active="home", body=body, scripts=("common.js",),
                description=description)
