// The query page: editor, examples, sync runs with a paged table, sky view, time-energy plot, async jobs.
import { AdqlEditor, errorPosition } from './editor.js';
import { parseVOTable, errorMessage, parseJob } from './votable.js';
import { SkyView, parseRegion, circleOutline, pointsFor } from './sky.js';
import { timeEnergyBoxes, drawTimeEnergy } from './plot.js';
import { sampControl } from './samp.js';

const TABLEDATA = 'application/x-votable+xml;serialization=TABLEDATA';
const JOBS_KEY = 'tapserver.jobs';
const ACTIVE = new Set(['PENDING', 'QUEUED', 'EXECUTING', 'HELD', 'SUSPENDED']);
const config = JSON.parse(document.getElementById('page-config').textContent);
const $ = (id) => document.getElementById(id);

const form = $('query-form');
const errorBox = $('query-error');
const runButton = $('run-sync');
const asyncButton = $('run-async');
const formatSelect = $('format');
const maxrecInput = $('maxrec');
const editor = new AdqlEditor($('adql'), { onRun: () => runSync() });

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function formatByMime(mime) {
  return config.formats.find((f) => f.mime === mime) || config.formats[0];
}

function maxrec() {
  const raw = maxrecInput.value.trim();
  if (!raw) return config.defaultMaxrec;
  const n = Math.floor(Number(raw));
  if (!Number.isFinite(n) || n < 0) return config.defaultMaxrec;
  return Math.min(n, config.hardMaxrec);
}

function syncUrl(query, mime, limit) {
  const params = new URLSearchParams({ LANG: 'ADQL', QUERY: query, RESPONSEFORMAT: mime, MAXREC: String(limit) });
  return `/tap/sync?${params}`;
}

// --- errors ------------------------------------------------------------------------------------------
function showQueryError(message, { query = null } = {}) {
  const pos = errorPosition(message);
  errorBox.replaceChildren();
  if (pos && (query === null || query === editor.value)) {
    editor.showError(pos.line, pos.column, message);
    errorBox.append(h('strong', {}, `Line ${pos.line}, column ${pos.column}: `), message.replace(/^.*?\bline\s+\d+\s*,\s*column\s+\d+\s*:?\s*/i, ''));
  } else {
    errorBox.append(h('strong', {}, 'The query failed: '), message);
  }
  errorBox.hidden = false;
}

function clearQueryError() {
  errorBox.hidden = true;
  errorBox.replaceChildren();
  editor.clearError();
}

// --- result views --------------------------------------------------------------------------------------
let current = null; // {fields, rows, query, maxrec, status, elapsed, origin}
let page = 0;
let pageSize = 50;
let sky = null;

// the sky and the plot are drawn when their tab is first shown for a result
const pending = new Set();

function renderPanel(id) {
  if (!current || !pending.has(id)) return;
  pending.delete(id);
  if (id === 'tab-sky') renderSky();
  if (id === 'tab-te') renderTimeEnergy();
}

function selectTab(id) {
  for (const tab of document.querySelectorAll('[role=tab]')) {
    const on = tab.id === id;
    tab.setAttribute('aria-selected', String(on));
    tab.tabIndex = on ? 0 : -1;
    $(tab.getAttribute('aria-controls')).hidden = !on;
  }
  renderPanel(id);
}

function setUpTabs() {
  const tabs = Array.from(document.querySelectorAll('[role=tab]'));
  tabs.forEach((tab, i) => {
    tab.addEventListener('click', () => selectTab(tab.id));
    tab.addEventListener('keydown', (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      const next = tabs[(i + step + tabs.length) % tabs.length];
      selectTab(next.id);
      next.focus();
    });
  });
}

function columnIndex(fields, name) {
  return fields.findIndex((f) => f.name.toLowerCase() === name);
}

function cell(value, field) {
  if (value === null) return h('td', { class: 'null' }, 'NULL');
  const text = String(value);
  const name = field.name.toLowerCase();
  if (name === 'obs_publisher_did') {
    return h('td', {}, h('a', { href: `/dataset?ID=${encodeURIComponent(text)}`, title: 'Dataset page: products and provenance' }, text));
  }
  if (/^https?:\/\//.test(text)) return h('td', {}, h('a', { href: text }, text));
  return h('td', { class: field.numeric && !field.arraysize ? 'num' : null, title: text.length > 40 ? text : null }, text);
}

function renderTable() {
  const panel = $('panel-table');
  const { fields, rows } = current;
  if (!fields.length) {
    panel.replaceChildren(h('p', { class: 'empty' }, 'No table in the answer.'));
    return;
  }
  const pages = Math.max(1, Math.ceil(rows.length / pageSize));
  page = Math.min(page, pages - 1);
  const first = page * pageSize;
  const slice = rows.slice(first, first + pageSize);
  const head = h('tr', {}, ...fields.map((f) => h('th', {
    scope: 'col', class: f.numeric && !f.arraysize ? 'num' : null, title: [f.description, f.ucd && `UCD ${f.ucd}`].filter(Boolean).join('\n') || null,
  }, f.name, f.unit ? h('span', { class: 'unit' }, f.unit) : null)));
  const body = h('tbody', {});
  slice.forEach((row, k) => {
    body.append(h('tr', { 'data-row': String(first + k) }, ...row.map((v, i) => cell(v, fields[i]))));
  });
  body.addEventListener('pointerover', (event) => {
    const tr = event.target.closest('tr');
    if (tr && sky && !$('panel-sky').hidden) sky.mark(sky.items.map((it, i) => (String(it.index) === tr.dataset.row ? i : -1)).filter((i) => i >= 0));
  });
  const table = h('table', { class: 'data result' }, h('caption', { class: 'visually-hidden' }, 'Result rows'), h('thead', {}, head), body);
  const pager = h('div', { class: 'pager' },
    h('button', { type: 'button', class: 'small', disabled: page === 0, onclick: () => { page -= 1; renderTable(); } }, '‹ Previous'),
    h('span', { 'aria-live': 'polite' }, rows.length ? `Rows ${first + 1}–${first + slice.length} of ${rows.length}` : 'No rows'),
    h('button', { type: 'button', class: 'small', disabled: page >= pages - 1, onclick: () => { page += 1; renderTable(); } }, 'Next ›'),
    h('label', { for: 'page-size' }, 'per page'),
    (() => {
      const sel = h('select', { id: 'page-size' }, ...[25, 50, 100, 250, 1000].map((n) => h('option', { value: String(n), selected: n === pageSize }, String(n))));
      sel.addEventListener('change', () => { pageSize = Number(sel.value); page = 0; renderTable(); });
      return sel;
    })());
  panel.replaceChildren(pager, h('div', { class: 'table-wrap' }, table));
}

function skyItems(fields, rows) {
  const byName = (n) => columnIndex(fields, n);
  let region = byName('s_region');
  if (region < 0) region = fields.findIndex((f) => /^(adql:region|circle|polygon|point)$/i.test(f.xtype) || f.ucd.startsWith('pos.outline'));
  let ra = byName('s_ra');
  if (ra < 0) ra = fields.findIndex((f) => /^pos\.eq\.ra(;|$)/.test(f.ucd));
  let dec = byName('s_dec');
  if (dec < 0) dec = fields.findIndex((f) => /^pos\.eq\.dec(;|$)/.test(f.ucd));
  const fov = byName('s_fov');
  const labels = ['obs_id', 'target_name', 'obs_collection'].map(byName).filter((i) => i >= 0);
  const did = byName('obs_publisher_did');
  const items = [];
  rows.forEach((row, i) => {
    let r = region >= 0 ? parseRegion(row[region], fields[region].xtype) : null;
    if (!r && ra >= 0 && dec >= 0 && typeof row[ra] === 'number' && typeof row[dec] === 'number') {
      const radius = fov >= 0 && typeof row[fov] === 'number' && row[fov] > 0 ? row[fov] / 2 : 0;
      r = radius ? { ring: circleOutline(row[ra], row[dec], radius, pointsFor(radius)) } : { point: [row[ra], row[dec]] };
    }
    if (!r) return;
    const lines = labels.map((j) => row[j]).filter((v) => v !== null).map(String);
    items.push({ region: r, lines: lines.length ? lines : [`row ${i + 1}`], href: did >= 0 && row[did] ? `/dataset?ID=${encodeURIComponent(row[did])}` : null, index: i });
  });
  return items;
}

function markRows(indices) {
  const wanted = new Set(indices.map(String));
  for (const tr of document.querySelectorAll('#panel-table tbody tr')) tr.classList.toggle('hot', wanted.has(tr.dataset.row));
}

function renderSky() {
  const panel = $('panel-sky');
  const items = skyItems(current.fields, current.rows);
  if (!items.length) {
    sky = null;
    panel.replaceChildren(h('p', { class: 'empty' }, 'No positions in this result: select s_region (or s_ra, s_dec and s_fov) to see the footprints.'));
    $('tab-sky').dataset.count = '0';
    return;
  }
  if (!sky || !panel.contains(sky.svg)) {
    panel.replaceChildren();
    sky = new SkyView(panel, { onHover: markRows });
  }
  const drawn = sky.setItems(items);
  $('tab-sky').dataset.count = String(drawn);
  const note = h('p', { class: 'hint' }, `${drawn} of ${current.rows.length} rows drawn (ICRS, Hammer-Aitoff, east to the left; galactic plane dashed). Scroll or use the buttons to zoom, drag to pan, hover for the dataset, click to open it.`);
  panel.append(note);
}

function renderTimeEnergy() {
  const panel = $('panel-te');
  const boxes = timeEnergyBoxes(current.fields, current.rows);
  if (!boxes || !boxes.length) {
    panel.replaceChildren(h('p', { class: 'empty' }, 'Select t_min, t_max, em_min and em_max to see the time and energy coverage of the rows.'));
    return;
  }
  drawTimeEnergy(panel, boxes);
}

function renderDownloads() {
  const box = $('downloads');
  box.replaceChildren();
  if (current.origin !== 'sync') return;
  box.append('Download: ');
  for (const f of config.formats) {
    box.append(h('a', { href: syncUrl(current.query, f.mime, current.maxrec), download: `result.${f.ext}`, title: f.label }, f.name));
  }
}

function renderSamp() {
  const slot = $('samp-result');
  const votable = current.origin === 'sync' ? syncUrl(current.query, config.formats[0].mime, current.maxrec) : current.url;
  if (!votable) {
    slot.replaceChildren();
    return;
  }
  sampControl(slot, () => ({ url: votable, mtype: 'table.load.votable', name: `${config.title} result` }));
}

function showResult(result) {
  current = result;
  page = 0;
  $('results').hidden = false;
  const { rows, fields, status, elapsed } = result;
  const parts = [`${rows.length.toLocaleString()} row${rows.length === 1 ? '' : 's'}`, `${fields.length} columns`];
  if (elapsed !== undefined) parts.push(`${Math.round(elapsed)} ms`);
  if (result.origin === 'async') parts.push(`from job ${result.jobId}`);
  $('result-status').textContent = parts.join(' · ');
  const overflow = $('overflow');
  if (status === 'OVERFLOW') {
    overflow.replaceChildren(
      h('strong', {}, 'The result is truncated. '),
      `Only the first ${rows.length.toLocaleString()} rows are shown: more rows match, but MAXREC is ${result.maxrec.toLocaleString()}. `,
      `Raise MAXREC (up to ${config.hardMaxrec.toLocaleString()}), add a condition or TOP, or submit the query as an async job.`,
    );
    overflow.hidden = false;
  } else {
    overflow.hidden = true;
  }
  renderDownloads();
  renderSamp();
  renderTable();
  pending.add('tab-sky');
  pending.add('tab-te');
  const selected = document.querySelector('[role=tab][aria-selected=true]');
  if (selected) renderPanel(selected.id);
}

// --- sync --------------------------------------------------------------------------------------------
let running = null;

async function runSync() {
  const query = editor.value;
  if (!query.trim()) return;
  clearQueryError();
  if (running) running.abort();
  const controller = new AbortController();
  running = controller;
  const limit = maxrec();
  runButton.disabled = true;
  $('results').hidden = false;
  $('result-status').textContent = 'Running…';
  const started = performance.now();
  try {
    const response = await fetch('/tap/sync', {
      method: 'POST',
      body: new URLSearchParams({ LANG: 'ADQL', QUERY: query, RESPONSEFORMAT: TABLEDATA, MAXREC: String(limit) }),
      signal: controller.signal,
    });
    const text = await response.text();
    const elapsed = performance.now() - started;
    if (!response.ok) {
      // the previous result no longer matches the editor: hide it
      $('results').hidden = true;
      showQueryError(errorMessage(text, response.status), { query });
      return;
    }
    const result = parseVOTable(text);
    showResult({ ...result, query, maxrec: limit, elapsed, origin: 'sync' });
    if (result.error) showQueryError(result.error, { query });
  } catch (err) {
    if (err.name !== 'AbortError') {
      $('results').hidden = true;
      showQueryError(`Could not reach the service: ${err.message}`);
    }
  } finally {
    if (running === controller) running = null;
    runButton.disabled = false;
  }
}

// --- async jobs --------------------------------------------------------------------------------------
const jobs = new Map(); // path -> entry

function saveJobs() {
  const list = [...jobs.values()].map(({ path, format, query, maxrec: limit }) => ({ path, format, query, maxrec: limit }));
  try { localStorage.setItem(JOBS_KEY, JSON.stringify(list.slice(-20))); } catch { /* private mode */ }
}

function duration(job) {
  const t = (s) => (s ? Date.parse(s) : NaN);
  const start = t(job.started);
  const end = t(job.ended);
  if (Number.isFinite(start)) {
    const secs = ((Number.isFinite(end) ? end : Date.now()) - start) / 1000;
    return secs < 60 ? `${secs.toFixed(1)} s` : `${Math.floor(secs / 60)} min ${Math.round(secs % 60)} s`;
  }
  const created = t(job.created);
  return Number.isFinite(created) ? `waiting ${Math.round((Date.now() - created) / 1000)} s` : '–';
}

function sizeText(bytes) {
  if (bytes === null || bytes === undefined) return '';
  const units = ['B', 'kB', 'MB', 'GB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i += 1; }
  return `${i ? v.toFixed(1) : v} ${units[i]}`;
}

function renderJob(entry) {
  const { job, format } = entry;
  const fmt = formatByMime(format);
  if (!entry.row) {
    entry.row = h('tr', { 'data-job': entry.path });
    $('job-rows').prepend(entry.row);
  }
  const result = job.results.find((r) => r.id === 'result') || job.results[0];
  const resultCell = h('td', {});
  if (result && job.phase === 'COMPLETED') {
    resultCell.append(h('a', { href: new URL(result.href, location.href).pathname, download: `result-${job.id}.${fmt.ext}`, class: 'download' }, `${fmt.name}`));
  } else if (job.phase === 'ERROR' && job.error) {
    resultCell.append(h('span', { class: 'status bad' }, job.error.length > 140 ? `${job.error.slice(0, 140)}…` : job.error));
  }
  const actions = h('td', {});
  if (job.phase === 'COMPLETED' && result) {
    if (fmt.name === 'votable-td') actions.append(h('button', { type: 'button', class: 'small', onclick: () => showJobResult(entry, result) }, 'Show'));
    const others = config.formats.filter((f) => f.mime !== format);
    const sel = h('select', { 'aria-label': 'Another format' }, ...others.map((f) => h('option', { value: f.mime }, f.name)));
    actions.append(h('span', { class: 'also' }, ' Also as ', sel,
      h('button', { type: 'button', class: 'small', onclick: () => submitAsync(entry.query, sel.value, entry.maxrec) }, 'Get')));
  }
  if (job.phase === 'ERROR' && job.error && errorPosition(job.error)) {
    actions.append(h('button', { type: 'button', class: 'small', onclick: () => { editor.value = entry.query; showQueryError(job.error, { query: entry.query }); } }, 'Show error'));
  }
  if (ACTIVE.has(job.phase)) actions.append(h('button', { type: 'button', class: 'small', onclick: () => abortJob(entry) }, 'Abort'));
  actions.append(h('button', { type: 'button', class: 'small', onclick: () => deleteJob(entry) }, 'Delete'));
  const rowsSize = result ? [result.rows !== null ? `${result.rows.toLocaleString()} rows` : '', sizeText(result.size)].filter(Boolean).join(', ') : '';
  entry.row.replaceChildren(
    h('td', { title: entry.query }, h('a', { href: entry.path }, job.id || entry.path.split('/').pop()), h('br'), h('small', {}, fmt.label)),
    h('td', {}, h('span', { class: `phase ${job.phase}` }, job.phase)),
    h('td', { class: 'duration' }, duration(job)),
    h('td', {}, rowsSize),
    resultCell,
    actions,
  );
  $('jobs').hidden = false;
}

async function follow(entry) {
  entry.follow = true;
  const tick = setInterval(() => {
    const td = entry.row && entry.row.querySelector('td.duration');
    if (td && entry.job) td.textContent = duration(entry.job);
  }, 1000);
  try {
    while (entry.follow) {
      const phase = entry.job ? entry.job.phase : null;
      const wait = phase && ACTIVE.has(phase) ? `?WAIT=30&PHASE=${encodeURIComponent(phase)}` : '';
      const response = await fetch(`${entry.path}${wait}`, { cache: 'no-store' });
      if (response.status === 404) {
        removeJob(entry);
        return;
      }
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      entry.job = parseJob(await response.text());
      renderJob(entry);
      if (!ACTIVE.has(entry.job.phase)) return;
    }
  } catch (err) {
    if (entry.row) entry.row.querySelector('td.duration').textContent = `cannot follow: ${err.message}`;
  } finally {
    clearInterval(tick);
  }
}

async function submitAsync(query = editor.value, format = formatSelect.value, limit = maxrec()) {
  if (!query.trim()) return;
  clearQueryError();
  asyncButton.disabled = true;
  try {
    const body = new URLSearchParams({ LANG: 'ADQL', QUERY: query, RESPONSEFORMAT: format, MAXREC: String(limit), PHASE: 'RUN' });
    const response = await fetch('/tap/async', { method: 'POST', body });
    const text = await response.text();
    if (!response.ok) {
      showQueryError(errorMessage(text, response.status), { query });
      return;
    }
    const path = new URL(response.url).pathname;
    const entry = { path, format, query, maxrec: limit, job: parseJob(text) };
    jobs.set(path, entry);
    saveJobs();
    renderJob(entry);
    follow(entry);
  } catch (err) {
    showQueryError(`Could not submit the job: ${err.message}`);
  } finally {
    asyncButton.disabled = false;
  }
}

async function abortJob(entry) {
  await fetch(`${entry.path}/phase`, { method: 'POST', body: new URLSearchParams({ PHASE: 'ABORT' }) });
  if (!entry.follow) follow(entry);
}

function removeJob(entry) {
  entry.follow = false;
  jobs.delete(entry.path);
  if (entry.row) entry.row.remove();
  saveJobs();
  if (!jobs.size) $('jobs').hidden = true;
}

async function deleteJob(entry) {
  try {
    await fetch(entry.path, { method: 'DELETE' });
  } finally {
    removeJob(entry);
  }
}

async function showJobResult(entry, result) {
  const href = new URL(result.href, location.href).pathname;
  $('result-status').textContent = 'Loading the job result…';
  const started = performance.now();
  const response = await fetch(href);
  const text = await response.text();
  if (!response.ok) {
    showQueryError(errorMessage(text, response.status));
    return;
  }
  const parsed = parseVOTable(text);
  showResult({ ...parsed, query: entry.query, maxrec: entry.maxrec, elapsed: performance.now() - started, origin: 'async', jobId: entry.job.id, url: href });
  if (parsed.error) showQueryError(parsed.error);
}

function restoreJobs() {
  let list = [];
  try { list = JSON.parse(localStorage.getItem(JOBS_KEY) || '[]'); } catch { list = []; }
  for (const item of list) {
    if (!item || typeof item.path !== 'string' || !item.path.startsWith('/tap/async/')) continue;
    const entry = { ...item, job: null };
    jobs.set(item.path, entry);
    follow(entry);
  }
}

// --- examples and schema browser ---------------------------------------------------------------------
async function loadExamples() {
  const list = $('examples');
  try {
    const response = await fetch('/tap/examples');
    const text = await response.text();
    let doc = new DOMParser().parseFromString(text, 'application/xhtml+xml');
    if (doc.getElementsByTagName('parsererror').length) doc = new DOMParser().parseFromString(text, 'text/html');
    const found = Array.from(doc.querySelectorAll('[typeof]')).filter((n) => /(^|\s|:|#)example$/i.test(n.getAttribute('typeof')));
    const items = found.map((node) => {
      const name = node.querySelector('[property="name"]');
      const query = node.querySelector('[property="query"]');
      return name && query ? { id: node.getAttribute('id') || '', name: name.textContent.trim(), query: query.textContent.trim() } : null;
    }).filter(Boolean);
    if (!items.length) return;
    list.replaceChildren(...items.map((ex) => h('li', {}, h('button', {
      type: 'button', class: 'example', 'data-example': ex.id, title: ex.query,
      onclick: () => { editor.value = ex.query; runSync(); },
    }, ex.name))));
  } catch { /* the link to /tap/examples stays */ }
}

function setUpSchemaBrowser() {
  for (const button of document.querySelectorAll('.schema-browser button.insert')) {
    button.addEventListener('click', (event) => {
      event.preventDefault();
      editor.insert(button.dataset.insert);
    });
  }
}

// --- start -------------------------------------------------------------------------------------------
form.addEventListener('submit', (event) => {
  event.preventDefault();
  runSync();
});
asyncButton.hidden = false;
asyncButton.addEventListener('click', () => submitAsync());
setUpTabs();
setUpSchemaBrowser();
loadExamples();
restoreJobs();
document.documentElement.dataset.ready = 'query';
