// All-sky view of result footprints: Hammer-Aitoff (FITS AIT) in ICRS centred on RA 0 h, east to the left,
// with the galactic plane. The same projection as tapserver/web/sky.py, which draws the landing page map.

const SVG = 'http://www.w3.org/2000/svg';
const SQRT2 = Math.SQRT2;
const D2R = Math.PI / 180;
// galactic -> ICRS: the transpose of the Hipparcos ICRS -> galactic rotation
const ICRS_TO_GAL = [
  [-0.0548755604162154, -0.8734370902348850, -0.4838350155487132],
  [0.4941094278755837, -0.4448296299600112, 0.7469822444972189],
  [-0.8676661490190047, -0.1980763734312015, 0.4559837761750669],
];

export const wrap180 = (a) => ((((a + 180) % 360) + 360) % 360) - 180;

export function hammer(lam, phi) {
  const l = lam * D2R;
  const p = phi * D2R;
  const d = Math.sqrt(1 + Math.cos(p) * Math.cos(l / 2));
  return [(2 * SQRT2 * Math.cos(p) * Math.sin(l / 2)) / d, (SQRT2 * Math.sin(p)) / d];
}

// (lam, phi) in degrees of projection coordinates, or null outside the ellipse
export function inverseHammer(x, y) {
  if ((x * x) / 8 + (y * y) / 2 > 1) return null;
  const z = Math.sqrt(1 - (x / 4) ** 2 - (y / 2) ** 2);
  return [(2 * Math.atan2(z * x, 2 * (2 * z * z - 1))) / D2R, Math.asin(Math.max(-1, Math.min(1, z * y))) / D2R];
}

export function galacticToIcrs(l, b) {
  const lr = l * D2R;
  const br = b * D2R;
  const g = [Math.cos(br) * Math.cos(lr), Math.cos(br) * Math.sin(lr), Math.sin(br)];
  const v = [0, 1, 2].map((i) => ICRS_TO_GAL[0][i] * g[0] + ICRS_TO_GAL[1][i] * g[1] + ICRS_TO_GAL[2][i] * g[2]);
  return [((Math.atan2(v[1], v[0]) / D2R) + 360) % 360, Math.asin(Math.max(-1, Math.min(1, v[2]))) / D2R];
}

// points enough for a smooth outline at all-sky scale, without thousands of footprints weighing too much
export const pointsFor = (radius) => (radius < 1 ? 24 : radius < 10 ? 40 : 72);

export function circleOutline(ra, dec, radius, n = 72) {
  const d0 = dec * D2R;
  const r = radius * D2R;
  const out = [];
  for (let i = 0; i < n; i += 1) {
    const t = (2 * Math.PI * i) / n;
    const sinD = Math.sin(d0) * Math.cos(r) + Math.cos(d0) * Math.sin(r) * Math.cos(t);
    const d = Math.asin(Math.max(-1, Math.min(1, sinD)));
    const dra = Math.atan2(Math.sin(t) * Math.sin(r) * Math.cos(d0), Math.cos(r) - Math.sin(d0) * sinD);
    out.push([(((ra + dra / D2R) % 360) + 360) % 360, d / D2R]);
  }
  return out;
}

function unwrap(ring, center) {
  const pts = [];
  const n = ring.length;
  ring.forEach(([lon, lat], i) => {
    if (Math.abs(lat) > 89.9999) {
      const s = Math.sign(lat) * 90;
      pts.push([wrap180(ring[(i - 1 + n) % n][0] - center), s], [wrap180(ring[(i + 1) % n][0] - center), s]);
    } else {
      pts.push([wrap180(lon - center), lat]);
    }
  });
  if (!pts.length) return [];
  const out = [pts[0]];
  for (const [lam, lat] of pts.slice(1)) {
    const prev = out[out.length - 1][0];
    out.push([prev + wrap180(lam - prev), lat]);
  }
  const last = out[out.length - 1][0];
  const winding = last + wrap180(out[0][0] - last) - out[0][0];
  if (Math.abs(winding) > 180) {
    const end = out[0][0] + winding;
    const pole = Math.sign(out.reduce((s, p) => s + p[1], 0)) * 90 || 90;
    out.push([end, out[0][1]], [end, pole], [out[0][0], pole]);
  }
  return out;
}

function clip(poly, limit, keepBelow) {
  const inside = (p) => (keepBelow ? p[0] <= limit : p[0] >= limit);
  const cross = (a, b) => [limit, a[1] + ((limit - a[0]) / (b[0] - a[0])) * (b[1] - a[1])];
  const out = [];
  let prev = poly[poly.length - 1];
  for (const cur of poly) {
    if (inside(cur)) {
      if (!inside(prev)) out.push(cross(prev, cur));
      out.push(cur);
    } else if (inside(prev)) {
      out.push(cross(prev, cur));
    }
    prev = cur;
  }
  return out;
}

function densify(poly, step = 3) {
  const out = [];
  poly.forEach((a, i) => {
    const b = poly[(i + 1) % poly.length];
    const n = Math.max(1, Math.ceil(Math.max(Math.abs(b[0] - a[0]), Math.abs(b[1] - a[1])) / step));
    for (let k = 0; k < n; k += 1) out.push([a[0] + ((b[0] - a[0]) * k) / n, a[1] + ((b[1] - a[1]) * k) / n]);
  });
  return out;
}

// pieces of a closed (ra, dec) ring as (lam, phi) polygons inside lam in [-180, 180]
export function splitRing(ring, center = 0) {
  const u = unwrap(ring, center);
  if (u.length < 3) return [];
  const pieces = [];
  for (const shift of [-360, 0, 360]) {
    const moved = u.map(([l, p]) => [l + shift, p]);
    const lams = moved.map((p) => p[0]);
    if (Math.max(...lams) < -180 || Math.min(...lams) > 180) continue;
    const piece = clip(clip(moved, 180, true), -180, false);
    if (piece.length >= 3) pieces.push(densify(piece));
  }
  return pieces;
}

// --- regions of result rows ---------------------------------------------------------------------------
const FRAME_WORDS = /^(ICRS|FK5|FK4|J2000|B1950|GALACTIC|ECLIPTIC|UNKNOWNFRAME|BARYCENTER|GEOCENTER|TOPOCENTER|HELIOCENTER|UNKNOWNREFPOS|SPHERICAL2|CARTESIAN2|CARTESIAN3)$/i;

function numbers(text) {
  return text.trim().split(/[\s,]+/).filter((t) => t && !FRAME_WORDS.test(t)).map(Number);
}

function boxRing(ra, dec, w, h) {
  const c = Math.max(Math.cos(dec * D2R), 1e-6);
  return [[ra - w / 2 / c, dec - h / 2], [ra + w / 2 / c, dec - h / 2], [ra + w / 2 / c, dec + h / 2], [ra - w / 2 / c, dec + h / 2]];
}

// {ring} or {point} of an STC-S string or a DALI geometry array (xtype circle/polygon/point); null if unknown
export function parseRegion(value, xtype = '') {
  if (value === null || value === undefined) return null;
  const text = String(value).trim();
  if (!text) return null;
  const m = /^([A-Za-z]+)\s+(.*)$/s.exec(text);
  let shape = m ? m[1].toLowerCase() : (xtype || '').toLowerCase();
  const nums = numbers(m ? m[2] : text);
  if (nums.some((n) => !Number.isFinite(n))) return null;
  if (shape === 'position') shape = 'point';
  if (shape === 'circle' && nums.length >= 3) return { ring: circleOutline(nums[0], nums[1], nums[2], pointsFor(nums[2])), center: [nums[0], nums[1]] };
  if (shape === 'polygon' && nums.length >= 6) {
    const ring = [];
    for (let i = 0; i + 1 < nums.length; i += 2) ring.push([nums[i], nums[i + 1]]);
    return { ring, center: ring[0] };
  }
  if (shape === 'box' && nums.length >= 4) return { ring: boxRing(...nums.slice(0, 4)), center: [nums[0], nums[1]] };
  if (shape === 'point' && nums.length >= 2) return { point: [nums[0], nums[1]], center: [nums[0], nums[1]] };
  return null;
}

// --- the view ---------------------------------------------------------------------------------------
function el(name, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.append(node);
  return node;
}

export class SkyView {
  constructor(container, { width = 960, height = 480, onHover = null } = {}) {
    this.container = container;
    this.width = width;
    this.height = height;
    this.margin = 20;
    this.scale = Math.min((width - 2 * this.margin) / (4 * SQRT2), (height - 2 * this.margin) / (2 * SQRT2));
    this.onHover = onHover;
    this.items = [];
    this.view = [0, 0, width, height];
    this.build();
  }

  xy(lam, phi) {
    const [x, y] = hammer(lam, phi);
    return [this.width / 2 - x * this.scale, this.height / 2 - y * this.scale];
  }

  radecAt(px, py) {
    const inv = inverseHammer((this.width / 2 - px) / this.scale, (this.height / 2 - py) / this.scale);
    return inv ? [((inv[0] % 360) + 360) % 360, inv[1]] : null;
  }

  pathOf(polygons) {
    return polygons.map((poly) => `M${poly.map(([l, p]) => this.xy(l, p).map((v) => v.toFixed(1)).join(',')).join('L')}Z`).join('');
  }

  build() {
    const tools = document.createElement('div');
    tools.className = 'sky-tools';
    const mk = (label, title, fn) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'small';
      b.textContent = label;
      b.title = title;
      b.setAttribute('aria-label', title);
      b.addEventListener('click', fn);
      tools.append(b);
      return b;
    };
    mk('+', 'Zoom in', () => this.zoom(0.5));
    mk('−', 'Zoom out', () => this.zoom(2));
    mk('All sky', 'Show the whole sky', () => this.setView([0, 0, this.width, this.height]));
    this.fitButton = mk('Zoom to footprints', 'Zoom to the footprints of the result', () => this.fit());
    this.coords = document.createElement('span');
    this.coords.className = 'coords';
    this.coords.setAttribute('aria-live', 'off');
    tools.append(this.coords);

    const wrap = document.createElement('div');
    wrap.className = 'sky-wrap';
    this.svg = el('svg', { class: 'skyview', viewBox: this.view.join(' '), role: 'img', 'aria-labelledby': 'skyview-title skyview-desc' });
    this.titleEl = el('title', { id: 'skyview-title' }, this.svg);
    this.titleEl.textContent = 'Footprints of the result rows on the sky';
    this.descEl = el('desc', { id: 'skyview-desc' }, this.svg);
    this.drawBase();
    this.layer = el('g', { class: 'footprints' }, this.svg);
    this.tooltip = document.createElement('div');
    this.tooltip.className = 'tooltip';
    this.tooltip.hidden = true;
    wrap.append(this.svg, this.tooltip);
    this.container.replaceChildren(tools, wrap);
    this.bindPointer(wrap);
  }

  drawBase() {
    const edge = [];
    for (let d = -90; d <= 90; d += 3) edge.push(this.xy(180, d));
    for (let d = 90; d >= -90; d -= 3) edge.push(this.xy(-180, d));
    const edgePath = `M${edge.map((p) => p.map((v) => v.toFixed(1)).join(',')).join('L')}Z`;
    el('path', { class: 'sky-bg', d: edgePath }, this.svg);
    const lines = [];
    for (let ra = 0; ra < 360; ra += 30) {
      const lam = wrap180(ra);
      if (Math.abs(lam) >= 179.999) continue;
      const pts = [];
      for (let d = -90; d <= 90; d += 5) pts.push(this.xy(lam, d));
      lines.push(`M${pts.map((p) => p.map((v) => v.toFixed(1)).join(',')).join('L')}`);
    }
    for (const dec of [-60, -30, 0, 30, 60]) {
      const pts = [];
      for (let l = -180; l <= 180; l += 5) pts.push(this.xy(l, dec));
      lines.push(`M${pts.map((p) => p.map((v) => v.toFixed(1)).join(',')).join('L')}`);
    }
    el('path', { class: 'grid', d: lines.join('') }, this.svg);
    el('path', { class: 'sky-edge', d: edgePath }, this.svg);
    const labels = el('g', { class: 'grid-labels' }, this.svg);
    for (let ra = 0; ra < 360; ra += 60) {
      if (Math.abs(wrap180(ra)) >= 179.999) continue;
      const [x, y] = this.xy(wrap180(ra), 0);
      const t = el('text', { x: (x + 2).toFixed(1), y: (y - 3).toFixed(1) }, labels);
      t.textContent = `${ra / 15}h`;
    }
    for (const dec of [-60, -30, 30, 60]) {
      const [x, y] = this.xy(180, dec);
      const t = el('text', { x: (x - 4).toFixed(1), y: (y + 4).toFixed(1), 'text-anchor': 'end' }, labels);
      t.textContent = `${dec > 0 ? '+' : ''}${dec}°`;
    }
    // galactic plane, broken where it crosses the edge of the map
    const segs = [[]];
    let prev = null;
    for (let l = 0; l <= 360; l += 2) {
      const [ra, dec] = galacticToIcrs(l, 0);
      const lam = wrap180(ra);
      if (prev !== null && Math.abs(lam - prev) > 180) segs.push([]);
      segs[segs.length - 1].push(this.xy(lam, dec));
      prev = lam;
    }
    const gp = el('path', {
      class: 'galactic-plane',
      d: segs.filter((s) => s.length > 1).map((s) => `M${s.map((p) => p.map((v) => v.toFixed(1)).join(',')).join('L')}`).join(''),
    }, this.svg);
    el('title', {}, gp).textContent = 'Galactic plane';
    const [gx, gy] = this.xy(wrap180(galacticToIcrs(0, 0)[0]), galacticToIcrs(0, 0)[1]);
    el('circle', { class: 'galactic-center', cx: gx.toFixed(1), cy: gy.toFixed(1), r: 3 }, this.svg);
    el('text', { class: 'gc-label', x: (gx + 5).toFixed(1), y: (gy - 4).toFixed(1) }, this.svg).textContent = 'GC';
  }

  // items: [{region: {ring}|{point}, lines: [text...], href, index}]
  setItems(items) {
    this.items = items;
    this.layer.replaceChildren();
    this.bounds = null;
    let drawn = 0;
    items.forEach((item, i) => {
      let node;
      if (item.region.point) {
        const [ra, dec] = item.region.point;
        const [x, y] = this.xy(wrap180(ra), dec);
        node = el('circle', { class: 'footprint point', cx: x.toFixed(1), cy: y.toFixed(1), r: 2.5 }, this.layer);
        this.grow(x, y);
      } else {
        const pieces = splitRing(item.region.ring, 0);
        if (!pieces.length) return;
        node = el('path', { class: 'footprint', d: this.pathOf(pieces) }, this.layer);
        for (const piece of pieces) for (const [l, p] of piece) this.grow(...this.xy(l, p));
      }
      node.dataset.item = String(i);
      el('title', {}, node).textContent = item.lines.join(' · ');
      drawn += 1;
    });
    this.descEl.textContent = `${drawn} footprints drawn.`;
    this.fitButton.disabled = drawn === 0;
    return drawn;
  }

  grow(x, y) {
    if (!this.bounds) this.bounds = [x, y, x, y];
    const b = this.bounds;
    this.bounds = [Math.min(b[0], x), Math.min(b[1], y), Math.max(b[2], x), Math.max(b[3], y)];
  }

  setView(view) {
    const minW = this.width / 200;
    let [x, y, w, h] = view;
    w = Math.max(minW, Math.min(this.width, w));
    h = (w * this.height) / this.width;
    x = Math.max(0, Math.min(this.width - w, x));
    y = Math.max(0, Math.min(this.height - h, y));
    this.view = [x, y, w, h];
    this.svg.setAttribute('viewBox', this.view.map((v) => v.toFixed(2)).join(' '));
    const zoomed = w < this.width * 0.999;
    this.svg.classList.toggle('zoomed', zoomed);
    for (const t of this.svg.querySelectorAll('.grid-labels text, .gc-label')) t.style.fontSize = `${(10 * w) / this.width}px`;
  }

  zoom(factor, cx = null, cy = null) {
    const [x, y, w, h] = this.view;
    const px = cx ?? x + w / 2;
    const py = cy ?? y + h / 2;
    const nw = w * factor;
    const nh = h * factor;
    this.setView([px - ((px - x) / w) * nw, py - ((py - y) / h) * nh, nw, nh]);
  }

  fit() {
    if (!this.bounds) return;
    const [x0, y0, x1, y1] = this.bounds;
    const aspect = this.width / this.height;
    const w = Math.max(Math.max(x1 - x0, (y1 - y0) * aspect) * 1.6, 12);
    const h = w / aspect;
    this.setView([(x0 + x1) / 2 - w / 2, (y0 + y1) / 2 - h / 2, w, h]);
  }

  toSvg(event) {
    const r = this.svg.getBoundingClientRect();
    const [x, y, w, h] = this.view;
    return [x + ((event.clientX - r.left) / r.width) * w, y + ((event.clientY - r.top) / r.height) * h];
  }

  bindPointer(wrap) {
    let drag = null;
    this.svg.addEventListener('wheel', (event) => {
      event.preventDefault();
      const [px, py] = this.toSvg(event);
      this.zoom(event.deltaY > 0 ? 1.25 : 0.8, px, py);
    }, { passive: false });
    this.svg.addEventListener('pointerdown', (event) => {
      if (event.button !== 0) return;
      drag = { x: event.clientX, y: event.clientY, view: [...this.view], moved: false };
    });
    window.addEventListener('pointerup', () => { setTimeout(() => { drag = null; }, 0); });
    this.svg.addEventListener('pointermove', (event) => {
      const [px, py] = this.toSvg(event);
      const pos = this.radecAt(px, py);
      this.coords.textContent = pos ? `RA ${pos[0].toFixed(3)}°  Dec ${pos[1] >= 0 ? '+' : ''}${pos[1].toFixed(3)}°` : '';
      if (drag && (event.buttons & 1)) {
        const r = this.svg.getBoundingClientRect();
        const dx = ((event.clientX - drag.x) / r.width) * drag.view[2];
        const dy = ((event.clientY - drag.y) / r.height) * drag.view[3];
        if (Math.abs(dx) + Math.abs(dy) > 0.5) drag.moved = true;
        this.setView([drag.view[0] - dx, drag.view[1] - dy, drag.view[2], drag.view[3]]);
        return;
      }
      this.hover(event, wrap);
    });
    this.svg.addEventListener('pointerleave', () => {
      this.tooltip.hidden = true;
      this.coords.textContent = '';
      this.mark([]);
    });
    this.svg.addEventListener('click', (event) => {
      if (drag && drag.moved) return;
      const hits = this.hits(event);
      if (hits.length && this.items[hits[0]].href) window.location.href = this.items[hits[0]].href;
    });
  }

  hits(event) {
    return document.elementsFromPoint(event.clientX, event.clientY)
      .filter((n) => n.classList && n.classList.contains('footprint'))
      .map((n) => Number(n.dataset.item));
  }

  mark(indices) {
    for (const n of this.layer.querySelectorAll('.footprint.hot')) n.classList.remove('hot');
    for (const i of indices) {
      const n = this.layer.querySelector(`[data-item="${i}"]`);
      if (n) n.classList.add('hot');
    }
    if (this.onHover) this.onHover(indices.map((i) => this.items[i].index));
  }

  hover(event, wrap) {
    const hits = this.hits(event);
    this.mark(hits);
    if (!hits.length) {
      this.tooltip.hidden = true;
      return;
    }
    const shown = hits.slice(0, 8).map((i) => this.items[i].lines.join(' · '));
    if (hits.length > 8) shown.push(`and ${hits.length - 8} more`);
    this.tooltip.replaceChildren(...shown.map((t) => {
      const d = document.createElement('div');
      d.textContent = t;
      return d;
    }));
    this.tooltip.hidden = false;
    const r = wrap.getBoundingClientRect();
    const left = Math.min(event.clientX - r.left + 14, r.width - 260);
    this.tooltip.style.left = `${Math.max(0, left)}px`;
    this.tooltip.style.top = `${event.clientY - r.top + 14}px`;
  }
}
