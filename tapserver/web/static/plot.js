// Time-energy coverage of result rows: one box per row from t_min..t_max (MJD) and the energy range given by
// em_max..em_min (wavelengths in metres), on a log energy axis. Same look as the landing page's plot.

const SVG = 'http://www.w3.org/2000/svg';
const HC_TEV_M = 1.23984198e-18; // h c in TeV m
const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#F0E442', '#000000'];
const MJD_EPOCH_MS = Date.UTC(1858, 10, 17);

function el(name, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.append(node);
  return node;
}

export function mjdToIso(mjd, withTime = false) {
  const d = new Date(MJD_EPOCH_MS + mjd * 86400000);
  if (Number.isNaN(d.getTime())) return String(mjd);
  const iso = d.toISOString();
  return withTime ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}` : iso.slice(0, 10);
}

function energyLabel(tev) {
  return tev >= 1 ? `${Number(tev.toPrecision(3))} TeV` : `${Number((tev * 1000).toPrecision(3))} GeV`;
}

function niceTicks(lo, hi, count = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(v);
  return out;
}

// boxes from rows: needs columns t_min, t_max, em_min, em_max (any case)
export function timeEnergyBoxes(fields, rows) {
  const idx = (name) => fields.findIndex((f) => f.name.toLowerCase() === name);
  const [tmin, tmax, emin, emax] = ['t_min', 't_max', 'em_min', 'em_max'].map(idx);
  if ([tmin, tmax, emin, emax].some((i) => i < 0)) return null;
  const label = ['obs_id', 'target_name'].map(idx);
  const coll = idx('obs_collection');
  const did = idx('obs_publisher_did');
  const boxes = [];
  rows.forEach((row, i) => {
    const [t0, t1, w0, w1] = [row[tmin], row[tmax], row[emin], row[emax]];
    if (![t0, t1, w0, w1].every((v) => typeof v === 'number' && Number.isFinite(v)) || w0 <= 0 || w1 <= 0) return;
    boxes.push({
      t0, t1, e0: HC_TEV_M / w1, e1: HC_TEV_M / w0, index: i,
      group: coll >= 0 ? String(row[coll]) : '',
      text: label.filter((j) => j >= 0 && row[j] !== null).map((j) => String(row[j])).join(' – ') || `row ${i + 1}`,
      did: did >= 0 ? row[did] : null,
    });
  });
  return boxes;
}

export function drawTimeEnergy(container, boxes) {
  container.replaceChildren();
  const width = 960;
  const height = 360;
  const [left, right, top, bottom] = [74, 16, 12, 48];
  const pw = width - left - right;
  const ph = height - top - bottom;
  let t0 = Math.min(...boxes.map((b) => b.t0));
  let t1 = Math.max(...boxes.map((b) => b.t1));
  const span = Math.max(t1 - t0, 1 / 24);
  t0 -= span * 0.03;
  t1 += span * 0.03;
  const eLo = Math.floor(Math.log10(Math.min(...boxes.map((b) => b.e0))));
  const eHi = Math.max(Math.ceil(Math.log10(Math.max(...boxes.map((b) => b.e1)))), eLo + 1);
  const x = (t) => left + ((t - t0) / (t1 - t0)) * pw;
  const y = (e) => top + ph - ((Math.log10(e) - eLo) / (eHi - eLo)) * ph;
  const svg = el('svg', { class: 'time-energy', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': 'te-r-title te-r-desc' });
  el('title', { id: 'te-r-title' }, svg).textContent = 'Time and energy coverage of the result';
  el('desc', { id: 'te-r-desc' }, svg).textContent = `${boxes.length} rows between ${mjdToIso(Math.min(...boxes.map((b) => b.t0)))} and ${mjdToIso(Math.max(...boxes.map((b) => b.t1)))}.`;
  const axis = el('g', { class: 'axis' }, svg);
  const withTime = t1 - t0 < 3;
  for (const t of niceTicks(t0, t1, 5)) {
    if (t < t0 || t > t1) continue;
    el('line', { x1: x(t), x2: x(t), y1: top, y2: top + ph }, axis);
    el('text', { x: x(t), y: top + ph + 16, 'text-anchor': 'middle' }, axis).textContent = mjdToIso(t, withTime);
  }
  for (let k = eLo; k <= eHi; k += 1) {
    el('line', { x1: left, x2: left + pw, y1: y(10 ** k), y2: y(10 ** k) }, axis);
    el('text', { x: left - 6, y: y(10 ** k) + 4, 'text-anchor': 'end' }, axis).textContent = energyLabel(10 ** k);
  }
  el('rect', { class: 'frame', x: left, y: top, width: pw, height: ph }, axis);
  el('text', { x: left + pw / 2, y: height - 6, 'text-anchor': 'middle' }, axis).textContent = 'observation time (UTC)';
  el('text', { transform: `translate(14 ${top + ph / 2}) rotate(-90)`, 'text-anchor': 'middle' }, axis).textContent = 'energy';
  const groups = [...new Set(boxes.map((b) => b.group))];
  const colour = (g) => PALETTE[groups.indexOf(g) % PALETTE.length];
  const layer = el('g', { class: 'boxes' }, svg);
  for (const b of boxes) {
    let x1 = x(b.t0);
    let x2 = x(b.t1);
    if (x2 - x1 < 2) [x1, x2] = [(x1 + x2) / 2 - 1, (x1 + x2) / 2 + 1];
    const parent = b.did ? el('a', { href: `/dataset?ID=${encodeURIComponent(b.did)}` }, layer) : layer;
    const rect = el('rect', {
      x: x1.toFixed(1), y: y(b.e1).toFixed(1), width: (x2 - x1).toFixed(1), height: Math.max(1, y(b.e0) - y(b.e1)).toFixed(1),
      fill: colour(b.group), stroke: colour(b.group), 'data-row': b.index,
    }, parent);
    el('title', {}, rect).textContent = `${b.text}: ${mjdToIso(b.t0, true)} – ${mjdToIso(b.t1, true)}, ${energyLabel(b.e0)} – ${energyLabel(b.e1)}`;
  }
  const fig = document.createElement('figure');
  fig.className = 'plot';
  fig.append(svg);
  const cap = document.createElement('figcaption');
  if (groups.length > 1 || groups[0]) {
    for (const g of groups) {
      const key = document.createElement('span');
      key.className = 'key';
      const sw = document.createElement('span');
      sw.className = 'swatch';
      sw.style.background = colour(g);
      key.append(sw, g || '(no collection)');
      cap.append(key);
    }
  }
  const note = document.createElement('span');
  note.className = 'note';
  note.textContent = 'Energies from em_min/em_max (wavelengths). Hover a box for the row; click it for the dataset.';
  cap.append(note);
  fig.append(cap);
  container.append(fig);
}
