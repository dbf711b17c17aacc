// Browser test of tapserver's pages: node tests/web/pages.spec.mjs BASE_URL ARTIFACT_DIR
// Drives Debian's chromium (CDP) or firefox-esr (WebDriver BiDi) through playwright-core: no browser download.
// Prints one JSON report on stdout (also written to ARTIFACT_DIR/report.json); tests/web/test_pages.py starts
// the server and checks it.
//
// Environment: BROWSER (chromium | firefox), CHROMIUM (default /usr/bin/chromium), FIREFOX (default
// /usr/bin/firefox-esr); SAMP_HUB_URL and SAMP_RECEIVER to exercise SAMP (the URL of a Web Profile hub and
// the samp.name of a client subscribed to table.load.votable).
import { chromium, firefox } from 'playwright-core';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [base, artifacts] = process.argv.slice(2);
if (!base || !artifacts) {
  console.error('usage: node pages.spec.mjs BASE_URL ARTIFACT_DIR');
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
const report = {
  base, checks: {}, failures: [], timings: {}, requests: 0, hosts: [], offsite: [], screenshots: [], console_errors: [], notes: [],
};

function check(name, ok, detail = '') {
  report.checks[name] = Boolean(ok);
  if (!ok) report.failures.push(`${name}${detail ? `: ${detail}` : ''}`);
  return ok;
}

async function shot(page, name, options = {}) {
  const path = join(artifacts, `${name}.png`);
  await page.screenshot({ path, fullPage: true, ...options });
  report.screenshots.push(path);
}

async function step(name, fn) {
  try {
    await fn();
  } catch (err) {
    check(name, false, String(err && err.stack ? err.stack.split('\n').slice(0, 3).join(' | ') : err));
  }
}

function watch(context) {
  context.on('request', (request) => {
    report.requests += 1;
    const url = new URL(request.url());
    if (url.host && !report.hosts.includes(url.host)) report.hosts.push(url.host);
    if (url.protocol === 'data:' || url.protocol === 'blob:' || url.protocol === 'about:') return;
    if (!LOOPBACK.has(url.hostname)) report.offsite.push(request.url());
  });
}

function pageTimings(page) {
  return page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    return {
      ttfb_ms: Math.round(nav.responseStart - nav.startTime),
      response_end_ms: Math.round(nav.responseEnd - nav.startTime),
      dom_content_loaded_ms: Math.round(nav.domContentLoadedEventEnd - nav.startTime),
      load_ms: Math.round(nav.loadEventEnd - nav.startTime),
      transfer_bytes: performance.getEntriesByType('resource').reduce((s, r) => s + (r.transferSize || 0), nav.transferSize || 0),
      resources: performance.getEntriesByType('resource').length,
    };
  });
}

const KIND = process.env.BROWSER || 'chromium';
const FIREFOX = KIND === 'firefox';
const browser = FIREFOX
  ? await firefox.launch({
    channel: 'moz-firefox', // stock Firefox over WebDriver BiDi
    executablePath: process.env.FIREFOX || '/usr/bin/firefox-esr',
    headless: true,
    firefoxUserPrefs: { 'network.captive-portal-service.enabled': false, 'app.update.enabled': false },
  })
  : await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run'],
  });
report.browser = `${KIND} ${browser.version()}`;

// a download as a file: the browser's download when the driver reports it, else the same URL fetched
async function download(page, link, fallbackName) {
  if (!FIREFOX) {
    const [event] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const path = join(artifacts, event.suggestedFilename());
    await event.saveAs(path);
    return path;
  }
  const href = await link.getAttribute('href');
  const response = await page.request.get(new URL(href, base).href);
  const name = (await link.getAttribute('download')) || fallbackName;
  const path = join(artifacts, name);
  writeFileSync(path, await response.body());
  return path;
}

try {
  // ---------------------------------------------------------------- without JavaScript
  const plain = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 900 } });
  watch(plain);
  const noJs = await plain.newPage();
  await step('nojs_landing', async () => {
    await noJs.goto(`${base}/`, { waitUntil: 'load' });
    const rows = await noJs.locator('section[aria-labelledby=collections-h] tbody tr').count();
    const tapUrl = await noJs.inputValue('#url-tap');
    const moc = await noJs.locator('svg.skymap path.moc').getAttribute('d');
    const boxes = await noJs.locator('svg.time-energy .boxes rect').count();
    check('nojs_landing', rows >= 1 && tapUrl === `${base}/tap` && moc && moc.length > 10 && boxes >= 1,
      `collections=${rows} tap=${tapUrl} moc=${moc ? moc.length : 0} boxes=${boxes}`);
    await shot(noJs, 'landing-nojs');
  });
  await step('nojs_tables', async () => {
    await noJs.goto(`${base}/tables`, { waitUntil: 'load' });
    const obscore = await noJs.locator('#t-ivoa-obscore table.columns tbody tr').count();
    const unit = await noJs.locator('#t-ivoa-obscore tr:has(code:text-is("s_ra")) td').nth(1).textContent();
    check('nojs_tables', obscore >= 30 && unit.trim() === 'deg', `obscore columns=${obscore} s_ra unit=${unit}`);
    await shot(noJs, 'tables-nojs', { fullPage: false });
  });
  await step('nojs_query_form', async () => {
    await noJs.goto(`${base}/query`, { waitUntil: 'load' });
    const action = await noJs.locator('#query-form').getAttribute('action');
    check('nojs_query_form', action === '/tap/sync', `action=${action}`);
  });
  await plain.close();

  // ---------------------------------------------------------------- with JavaScript
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1360, height: 960 } });
  if (!FIREFOX) await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  if (process.env.SAMP_HUB_URL) {
    await context.addInitScript((hub) => localStorage.setItem('tapserver.sampHub', hub), process.env.SAMP_HUB_URL);
  }
  watch(context);
  const page = await context.newPage();
  page.on('pageerror', (err) => report.console_errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => { if (msg.type() === 'error') report.console_errors.push(msg.text()); });

  await step('landing', async () => {
    const started = Date.now();
    await page.goto(`${base}/`, { waitUntil: 'load' });
    report.timings.landing_wall_ms = Date.now() - started;
    report.timings.landing = await pageTimings(page);
    const title = await page.locator('h1').first().textContent();
    const copyVisible = await page.locator('button.copy[data-copy=url-tap]').isVisible();
    await page.click('button.copy[data-copy=url-tap]');
    // Firefox gives pages no clipboard reading: there the button's feedback tells the copy happened
    const copied = FIREFOX ? await page.textContent('button.copy[data-copy=url-tap]')
      : await page.evaluate(() => navigator.clipboard.readText());
    check('landing', title.trim().length > 0 && copyVisible && (FIREFOX ? copied === 'Copied' : copied === `${base}/tap`),
      `title=${title} copied=${copied}`);
    await shot(page, 'landing');
  });
  await step('landing_reload', async () => {
    const started = Date.now();
    await page.reload({ waitUntil: 'load' });
    report.timings.landing_reload_wall_ms = Date.now() - started;
    report.timings.landing_reload = await pageTimings(page);
    check('landing_reload', true);
  });

  await step('tables_filter', async () => {
    await page.goto(`${base}/tables`, { waitUntil: 'load' });
    await page.fill('#column-filter', 'pos.outline');
    const visible = await page.locator('tr[data-search]:visible').count();
    check('tables_filter', visible >= 1 && visible < 10, `visible rows=${visible}`);
  });

  // query page: an example query with footprints
  await step('example_query', async () => {
    const started = Date.now();
    await page.goto(`${base}/query`, { waitUntil: 'load' });
    report.timings.query_page_wall_ms = Date.now() - started;
    report.timings.query_page = await pageTimings(page);
    await page.waitForSelector('#examples button.example', { timeout: 15000 });
    const names = await page.locator('#examples button.example').allTextContents();
    report.examples = names;
    const withRegion = page.locator('#examples button.example[title*="s_region"]').first();
    const ranAt = Date.now();
    await withRegion.click();
    await page.waitForFunction(() => /row/.test(document.getElementById('result-status').textContent), null, { timeout: 30000 });
    report.timings.example_query_ms = Date.now() - ranAt;
    const rows = await page.locator('#panel-table tbody tr').count();
    check('example_query', rows >= 1, `rows=${rows} status=${await page.textContent('#result-status')}`);
    await shot(page, 'query-example');
  });

  await step('footprints', async () => {
    await page.click('#tab-sky');
    const drawn = await page.locator('#panel-sky .footprint').count();
    const rows = await page.locator('#panel-table tbody tr').count();
    const box = await page.locator('#panel-sky .footprint').first().boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.waitForSelector('#panel-sky .tooltip:not([hidden])', { timeout: 5000 });
    const tip = await page.textContent('#panel-sky .tooltip');
    const galactic = await page.locator('#panel-sky .galactic-plane').getAttribute('d');
    check('footprints', drawn >= 1 && drawn === rows && /\d{6,}/.test(tip) && galactic.length > 100,
      `drawn=${drawn} rows=${rows} tooltip=${tip}`);
    report.footprint_tooltip = tip;
    await shot(page, 'sky-view');
    await page.click('#panel-sky button[title="Zoom to the footprints of the result"]');
    await page.mouse.move(10, 10);
    await shot(page, 'sky-view-zoomed');
  });

  await step('time_energy', async () => {
    await page.fill('#adql', 'SELECT obs_id, target_name, obs_collection, t_min, t_max, em_min, em_max, s_region, obs_publisher_did\nFROM ivoa.obscore\nORDER BY t_min');
    await page.click('#run-sync');
    await page.waitForFunction(() => /row/.test(document.getElementById('result-status').textContent) && !/Running/.test(document.getElementById('result-status').textContent), null, { timeout: 30000 });
    await page.click('#tab-te');
    const boxes = await page.locator('#panel-te svg.time-energy .boxes rect').count();
    const rows = await page.locator('#panel-table tbody tr').count();
    check('time_energy', boxes >= 1 && boxes === rows, `boxes=${boxes} rows=${rows}`);
    await shot(page, 'time-energy');
    await page.click('#tab-table');
  });

  await step('overflow', async () => {
    await page.fill('#maxrec', '3');
    await page.click('#run-sync');
    await page.waitForSelector('#overflow:not([hidden])', { timeout: 30000 });
    const text = await page.textContent('#overflow');
    const rows = await page.locator('#panel-table tbody tr').count();
    check('overflow', rows === 3 && /truncated/i.test(text) && /MAXREC is 3/.test(text), `rows=${rows} text=${text}`);
    await shot(page, 'overflow', { fullPage: false });
    await page.fill('#maxrec', '');
  });

  // ADQL error placed at the line and column the server reports
  await step('adql_error', async () => {
    const bad = 'SELECT obs_id, target_name\nFROM ivoa.obscore WHER t_min > 0\nORDER BY obs_id';
    await page.fill('#adql', bad);
    await page.click('#run-sync');
    await page.waitForSelector('.error-pin', { timeout: 30000 });
    const message = await page.textContent('#query-error');
    const pin = await page.locator('.error-pin');
    const line = Number(await pin.getAttribute('data-line'));
    const column = Number(await pin.getAttribute('data-column'));
    const reported = /Line (\d+), column (\d+)/.exec(message);
    const geometry = await page.evaluate(() => {
      const ta = document.getElementById('adql');
      const r = ta.getBoundingClientRect();
      const err = document.querySelector('.tok-err').getBoundingClientRect();
      const pinBox = document.querySelector('.error-pin').getBoundingClientRect();
      const band = document.querySelector('.error-line').getBoundingClientRect();
      return {
        textareaTop: r.top, textareaLeft: r.left, errTop: err.top, errBottom: err.bottom, errLeft: err.left,
        pinTop: pinBox.top, pinLeft: pinBox.left, bandTop: band.top, token: document.querySelector('.tok-err').textContent,
        caret: ta.selectionStart, gutterErr: document.querySelector('.editor-gutter .err')?.textContent,
      };
    });
    // line 2 occupies [top + 8 + 20, top + 8 + 40) in the textarea (padding 8 px, line height 20 px)
    const lineTop = geometry.textareaTop + 8 + 20 * (line - 1);
    const offset = bad.split('\n')[0].length + 1 + column - 1;
    const ok = reported && Number(reported[1]) === line && Number(reported[2]) === column && line === 2
      && Math.abs(geometry.errTop - lineTop) < 6 && geometry.pinTop >= lineTop + 18 && geometry.caret === offset
      && Math.abs(geometry.bandTop - lineTop) < 2 && geometry.gutterErr === '2' && geometry.token.trim().length > 0
      && geometry.pinLeft < geometry.errLeft + 10 && geometry.pinLeft > geometry.errLeft - 30;
    report.adql_error = { message, line, column, geometry };
    check('adql_error', ok, JSON.stringify(report.adql_error));
    await shot(page, 'adql-error', { fullPage: false });
  });

  // async job, followed to COMPLETED, downloaded; another format of the same query
  await step('async_job', async () => {
    await page.fill('#adql', 'SELECT obs_id, target_name, t_min, t_max, em_min, em_max, s_region, obs_publisher_did\nFROM ivoa.obscore\nORDER BY obs_id');
    await page.selectOption('#format', { label: 'VOTable 1.4, TABLEDATA serialisation' });
    const submitted = Date.now();
    await page.click('#run-async');
    const row = page.locator('#job-rows tr', { hasText: 'TABLEDATA' });
    await row.locator('.phase.COMPLETED').waitFor({ timeout: 90000 });
    report.timings.async_job_ms = Date.now() - submitted;
    const duration = await row.locator('td.duration').textContent();
    const path = await download(page, row.locator('a.download'), 'result.vot');
    const body = readFileSync(path, 'utf8');
    const trs = (body.match(/<TR>/g) || []).length;
    await row.locator('button', { hasText: 'Show' }).click();
    await page.waitForFunction(() => /from job/.test(document.getElementById('result-status').textContent), null, { timeout: 30000 });
    const shown = await page.locator('#panel-table tbody tr').count();
    // the same query as CSV
    await row.locator('select').selectOption({ label: 'csv' });
    await row.locator('button', { hasText: 'Get' }).click();
    const csvRow = page.locator('#job-rows tr', { hasText: 'Comma-separated' });
    await csvRow.locator('.phase.COMPLETED').waitFor({ timeout: 90000 });
    const csvPath = await download(page, csvRow.locator('a.download'), 'result.csv');
    const csvText = readFileSync(csvPath, 'utf8');
    report.async = { votable: path, rows: trs, duration, csv: csvPath, csv_header: csvText.split(/\r?\n/)[0] };
    check('async_job', body.startsWith('<?xml') && trs >= 1 && shown === trs && /obs_id/.test(csvText.split(/\r?\n/)[0]),
      JSON.stringify(report.async));
    await shot(page, 'async-jobs');
  });

  if (process.env.SAMP_HUB_URL) {
    await step('samp', async () => {
      const receiver = process.env.SAMP_RECEIVER || 'TOPCAT';
      await page.click('#samp-result button.samp-connect');
      const send = page.locator('#samp-result button.samp-send', { hasText: receiver });
      await send.waitFor({ timeout: 30000 });
      await send.click();
      await page.waitForFunction(() => /Sent to/.test(document.querySelector('#samp-result .samp-msg').textContent), null, { timeout: 15000 });
      report.samp = { sent_to: receiver, message: await page.textContent('#samp-result .samp-msg') };
      check('samp', true);
      await shot(page, 'samp', { fullPage: false });
    });
  }

  // dataset page from the result table
  await step('dataset', async () => {
    await page.goto(`${base}/query`, { waitUntil: 'load' });
    await page.click('#run-sync');
    await page.waitForSelector('#panel-table tbody tr a[href^="/dataset?"]', { timeout: 30000 });
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.locator('#panel-table tbody tr a[href^="/dataset?"]').first().click()]);
    report.timings.dataset = await pageTimings(page);
    const products = await page.locator('table.products a.download').count();
    const first = await page.locator('table.products a.download').first().getAttribute('href');
    const response = await page.request.get(first);
    const head = (await response.body()).subarray(0, 6).toString('latin1');
    const nodes = await page.waitForFunction(() => {
      const doc = document.getElementById('prov-graph')?.contentDocument;
      const n = doc ? doc.querySelectorAll('svg .node, svg g.entity, svg g.activity').length : 0;
      return n > 0 ? n : false;
    }, null, { timeout: 20000 });
    const nodeCount = await nodes.jsonValue();
    report.dataset = { url: page.url(), products, first_product: first, first_product_head: head, provenance_nodes: nodeCount,
      first_product_type: response.headers()['content-type'] };
    check('dataset', products >= 1 && response.status() === 200 && head === 'SIMPLE' && nodeCount >= 2
      && report.dataset.first_product_type === 'application/fits', JSON.stringify(report.dataset));
    // the event list (#this, the first product) can be sent as a FITS table from the top of the page
    const slotUrl = await page.getAttribute('p.actions .samp-slot', 'data-samp-url');
    const slotMtype = await page.getAttribute('p.actions .samp-slot', 'data-samp-mtype');
    const slotReady = /samp-connect/.test(await page.innerHTML('p.actions .samp-slot')); // common.js filled it in
    report.dataset_samp = { url: slotUrl, mtype: slotMtype, control: slotReady };
    // Firefox's BiDi driver does not resolve locators inside this page's actions paragraph (the control is
    // there, see `control`), so the click through the hub runs in Chromium only.
    if (process.env.SAMP_HUB_URL && !FIREFOX) {
      const receiver = process.env.SAMP_RECEIVER || 'TOPCAT';
      await page.click('p.actions .samp-slot button.samp-connect');
      const send = page.locator('p.actions .samp-slot button.samp-send', { hasText: receiver });
      await send.waitFor({ timeout: 15000 });
      await send.click();
      await page.waitForFunction(() => /Sent to/.test(document.querySelector('p.actions .samp-slot .samp-msg').textContent),
        null, { timeout: 15000 });
      report.dataset_samp.sent_to = receiver;
    }
    check('dataset_samp', slotUrl === first && slotMtype === 'table.load.fits' && slotReady, JSON.stringify(report.dataset_samp));
    await shot(page, 'dataset');
  });

  // dark colour scheme: the same pages must stay readable (screenshots for a human eye)
  if (!FIREFOX) await step('dark_scheme', async () => { // Firefox ESR's BiDi cannot emulate colour schemes yet
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${base}/`, { waitUntil: 'load' });
    await shot(page, 'landing-dark', { fullPage: false });
    await page.goto(`${base}/query`, { waitUntil: 'load' });
    await page.click('#run-sync');
    await page.waitForSelector('#panel-table tbody tr', { timeout: 30000 });
    await page.click('#tab-sky');
    await shot(page, 'query-dark', { fullPage: false });
    await page.emulateMedia({ colorScheme: 'light' });
    check('dark_scheme', true);
  });

  report.checks.no_offsite_requests = report.offsite.length === 0;
  if (report.offsite.length) report.failures.push(`offsite requests: ${report.offsite.join(' ')}`);
  await context.close();
} finally {
  await browser.close();
}

report.ok = report.failures.length === 0;
writeFileSync(join(artifacts, 'report.json'), JSON.stringify(report, null, 2));
console.log(JSON.stringify(report));
process.exit(report.ok ? 0 : 1);
