"""The landing page's "Analyse with gammapy" section: from an ADQL string to a gammapy DataStore (the GADF
data-store bundle), and an event-list cutout through DataLink and SODA with pyvo. Both snippets run as pasted."""

from __future__ import annotations

from tapserver.config import Settings
from tapserver.gadf.model import GADF_ASYNC_PATH, GADF_PATH
from tapserver.soda.model import SODA_SYNC_PATH
from tapserver.web.layout import h


def _adql_literal(text: str) -> str:
    return text.replace("'", "''")


def gammapy_snippet(settings: Settings, collection: str | None) -> str:
    where = f" WHERE obs_collection = '{_adql_literal(collection)}'" if collection else ""
    adql = f"SELECT TOP 20 obs_publisher_did FROM ivoa.obscore{where} ORDER BY t_min"
    return (
        "import io, tarfile, requests\n"
        "from gammapy.data import DataStore\n\n"
        f"adql = {adql!r}\n"
        f'bundle = requests.post("{settings.base_url}{GADF_PATH}", data={{"QUERY": adql}}).content\n'
        'tarfile.open(fileobj=io.BytesIO(bundle)).extractall("datastore", filter="data")\n'
        'observations = DataStore.from_dir("datastore").get_observations(required_irf="all-optional")\n'
        'print(len(observations), "observations,", sum(len(o.events.table) for o in observations), "events")\n'
    )


def cutout_snippet(settings: Settings) -> str:
    return (
        "import astropy.units as u, pyvo\n\n"
        f'tap = pyvo.dal.TAPService("{settings.tap_url}")\n'
        'dataset = tap.search("SELECT TOP 1 obs_publisher_did, s_ra, s_dec, access_url, access_format "\n'
        '                     "FROM ivoa.obscore ORDER BY t_min")[0]\n'
        'cutout = next(link for link in dataset.getdatalink() if link.semantics == "#cutout")\n'
        'events = cutout.processed(circle=[dataset["s_ra"], dataset["s_dec"], 1.0] * u.deg,\n'
        "                          ENERGY=[0.5, 50] * u.TeV)  # or band= in metres, time= in MJD (TT)\n"
        'open("cutout.fits", "wb").write(events.read())\n'
    )


def analysis_section(settings: Settings, collection: str | None) -> str:
    store, cut = gammapy_snippet(settings, collection), cutout_snippet(settings)
    return f"""<section aria-labelledby="analysis-h">
<h2 id="analysis-h">Analyse with gammapy</h2>
<div class="two-col">
<div>
<h3 id="gammapy-h">From ADQL to a gammapy DataStore</h3>
<p class="hint"><code>{h(GADF_PATH)}</code> turns any selection (ADQL <code>QUERY</code> or repeated <code>ID</code>)
into a GADF data store: a tar (or <code>RESPONSEFORMAT=zip</code>) of the DL3 files with obs-index and hdu-index,
or only the index tables (<code>RESPONSEFORMAT=obs-index</code> / <code>hdu-index</code>). Selections too large for
one request: <code>POST {h(GADF_ASYNC_PATH)}</code> with the same parameters creates an async job whose result
<code>bundle</code> is the archive.</p>
<pre class="code" aria-labelledby="gammapy-h"><code id="gammapy-snippet">{h(store)}</code></pre>
<button type="button" class="copy" data-copy="gammapy-snippet" hidden>Copy the snippet</button>
</div>
<div>
<h3 id="cutout-h">Cut an event list (SODA)</h3>
<p class="hint"><code>{h(SODA_SYNC_PATH)}</code>: the events of one dataset inside a sky region
(<code>CIRCLE</code>, <code>POLYGON</code>, <code>POS</code>), a time interval (<code>TIME</code>, MJD TT) and an
energy band (<code>BAND</code> in metres of wavelength hc/E, or <code>ENERGY</code> in TeV), with GTIs and IRFs.</p>
<pre class="code" aria-labelledby="cutout-h"><code id="cutout-snippet">{h(cut)}</code></pre>
<button type="button" class="copy" data-copy="cutout-snippet" hidden>Copy the snippet</button>
</div>
</div>
</section>"""
