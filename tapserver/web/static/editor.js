// A small ADQL editor: the page's <textarea> stays the input (accessible, form-compatible), a highlighted
// copy of its text is drawn underneath, line numbers on the left, and errors pinned at line and column.

const KEYWORDS = new Set(`SELECT FROM WHERE AND OR NOT AS ON JOIN INNER OUTER LEFT RIGHT FULL NATURAL CROSS USING
GROUP BY ORDER HAVING ASC DESC TOP DISTINCT ALL UNION INTERSECT EXCEPT WITH IN IS NULL LIKE ILIKE BETWEEN EXISTS
CASE WHEN THEN ELSE END OFFSET LIMIT TRUE FALSE CAST ANY SOME`.split(/\s+/));

const FUNCTIONS = new Set(`POINT CIRCLE POLYGON BOX REGION CONTAINS INTERSECTS DISTANCE AREA CENTROID COORD1 COORD2
COORDSYS COUNT SUM AVG MIN MAX ABS CEILING FLOOR ROUND TRUNCATE SQRT POWER EXP LOG LOG10 MOD PI RAND SIN COS TAN ASIN
ACOS ATAN ATAN2 COT DEGREES RADIANS LOWER UPPER TRIM SUBSTRING POSITION CHAR_LENGTH OCTET_LENGTH COALESCE NULLIF
IN_UNIT GREATEST LEAST IVO_HASWORD IVO_HASHLIST_HAS IVO_NOCASEMATCH IVO_STRING_AGG`.split(/\s+/));

const TOKEN = /--[^\n]*|'(?:[^']|'')*'?|"(?:[^"]|"")*"?|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|[A-Za-z_][A-Za-z0-9_]*|\s+|[^]/g;
const LINE_HEIGHT = 20;
const PAD = 8;
const TAB = 4;

function esc(text) {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function classOf(token, source, end) {
  if (token.startsWith('--')) return 'tok-com';
  if (token[0] === "'") return 'tok-str';
  if (token[0] === '"') return 'tok-qid';
  if (/^[\d.]/.test(token) && /\d/.test(token)) return 'tok-num';
  if (/^[A-Za-z_]/.test(token)) {
    const upper = token.toUpperCase();
    if (KEYWORDS.has(upper)) return 'tok-kw';
    if (FUNCTIONS.has(upper) && /^\s*\(/.test(source.slice(end, end + 40))) return 'tok-fn';
  }
  return '';
}

// HTML of `source` with tokens classed; the character at `errAt` (an offset) is marked.
export function highlight(source, errAt = -1) {
  let out = '';
  for (const match of source.matchAll(TOKEN)) {
    const token = match[0];
    const start = match.index;
    const end = start + token.length;
    const cls = classOf(token, source, end);
    if (errAt >= start && errAt < end) {
      if (/^\s/.test(token)) {
        // mark one blank (a newline gets a visible blank before it)
        const i = errAt - start;
        const ch = token[i] === '\n' ? ' \n' : token[i];
        out += `${esc(token.slice(0, i))}<span class="tok-err">${esc(ch)}</span>${esc(token.slice(i + 1))}`;
      } else {
        out += `<span class="${cls} tok-err">${esc(token)}</span>`;
      }
    } else {
      out += cls ? `<span class="${cls}">${esc(token)}</span>` : esc(token);
    }
  }
  if (errAt >= source.length) out += '<span class="tok-err"> </span>';
  return out;
}

// 0-based offset of 1-based (line, column) in text
export function offsetOf(text, line, column) {
  const lines = text.split('\n');
  let offset = 0;
  for (let i = 0; i < Math.min(line - 1, lines.length); i += 1) offset += lines[i].length + 1;
  const here = lines[Math.min(line, lines.length) - 1] || '';
  return offset + Math.min(Math.max(column - 1, 0), here.length);
}

// "line 2, column 24: ..." as the translator writes its messages
export function errorPosition(message) {
  const m = /\bline\s+(\d+)\s*,\s*column\s+(\d+)/i.exec(message || '');
  return m ? { line: Number(m[1]), column: Number(m[2]) } : null;
}

export class AdqlEditor {
  constructor(textarea, { onRun } = {}) {
    this.ta = textarea;
    this.onRun = onRun;
    this.error = null;
    const wrap = document.createElement('div');
    wrap.className = 'editor-wrap';
    this.gutter = document.createElement('div');
    this.gutter.className = 'editor-gutter';
    this.gutter.setAttribute('aria-hidden', 'true');
    this.gutterInner = document.createElement('div');
    this.gutter.append(this.gutterInner);
    this.main = document.createElement('div');
    this.main.className = 'editor-main';
    this.pre = document.createElement('pre');
    this.pre.className = 'hl';
    this.pre.setAttribute('aria-hidden', 'true');
    this.code = document.createElement('code');
    this.pre.append(this.code);
    this.measure = document.createElement('span');
    this.measure.textContent = 'M'.repeat(100);
    this.measure.style.cssText = 'position:absolute;visibility:hidden;white-space:pre';
    this.pre.append(this.measure);
    textarea.replaceWith(wrap);
    this.main.append(this.pre, textarea);
    wrap.append(this.gutter, this.main);
    textarea.removeAttribute('rows');

    textarea.addEventListener('input', () => {
      this.clearError();
      this.render();
    });
    textarea.addEventListener('scroll', () => this.sync());
    textarea.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        if (this.onRun) this.onRun();
      }
    });
    if (typeof ResizeObserver !== 'undefined') new ResizeObserver(() => this.sync()).observe(textarea);
    this.render();
  }

  get value() { return this.ta.value; }

  set value(text) {
    this.ta.value = text;
    this.clearError();
    this.render();
  }

  insert(text) {
    const { selectionStart: s, selectionEnd: e, value } = this.ta;
    const before = value.slice(0, s);
    const pad = before && !/[\s(,.]$/.test(before) ? ' ' : '';
    this.ta.value = before + pad + text + value.slice(e);
    const caret = s + pad.length + text.length;
    this.ta.focus();
    this.ta.setSelectionRange(caret, caret);
    this.clearError();
    this.render();
  }

  charWidth() {
    return this.measure.getBoundingClientRect().width / 100 || 8.4;
  }

  render() {
    const text = this.ta.value;
    const lines = text.split('\n');
    const errAt = this.error ? offsetOf(text, this.error.line, this.error.column) : -1;
    this.code.innerHTML = `${highlight(text, errAt)}\n`;
    const rows = [];
    for (let i = 1; i <= lines.length; i += 1) {
      rows.push(this.error && this.error.line === i ? `<div class="err" title="error">${i}</div>` : `<div>${i}</div>`);
    }
    this.gutterInner.innerHTML = rows.join('');
    if (lines.length !== this.lineCount) {
      // grow with the text (up to 28 lines); the user may still resize the box
      this.lineCount = lines.length;
      this.ta.style.height = `${Math.min(Math.max(lines.length, 8), 28) * LINE_HEIGHT + 2 * PAD + 14}px`;
    }
    this.placeError();
    this.sync();
  }

  sync() {
    const { scrollTop: top, scrollLeft: left } = this.ta;
    this.code.style.transform = `translate(${-left}px, ${-top}px)`;
    this.gutterInner.style.transform = `translateY(${-top}px)`;
    this.placeError();
  }

  // Show `message` at 1-based (line, column); the caret goes there too.
  showError(line, column, message) {
    const text = this.ta.value;
    const lines = text.split('\n');
    const l = Math.min(Math.max(line, 1), lines.length);
    this.error = { line: l, column: Math.max(column, 1), message };
    this.render();
    const at = offsetOf(text, l, column);
    this.ta.focus({ preventScroll: true });
    this.ta.setSelectionRange(at, at);
    // bring the line into view
    const y = (l - 1) * LINE_HEIGHT;
    if (y < this.ta.scrollTop || y > this.ta.scrollTop + this.ta.clientHeight - 2 * LINE_HEIGHT) {
      this.ta.scrollTop = Math.max(0, y - LINE_HEIGHT);
    }
    this.sync();
  }

  clearError() {
    if (!this.error) return;
    this.error = null;
    this.main.querySelectorAll('.error-line, .error-pin').forEach((n) => n.remove());
    this.render();
  }

  placeError() {
    this.main.querySelectorAll('.error-line, .error-pin').forEach((n) => n.remove());
    if (!this.error) return;
    const { line, column, message } = this.error;
    const lineText = this.ta.value.split('\n')[line - 1] || '';
    // visual column: tabs expand to the next multiple of TAB
    let visual = 0;
    for (const ch of lineText.slice(0, column - 1)) visual = ch === '\t' ? (Math.floor(visual / TAB) + 1) * TAB : visual + 1;
    const top = PAD + (line - 1) * LINE_HEIGHT - this.ta.scrollTop;
    const band = document.createElement('div');
    band.className = 'error-line';
    band.dataset.line = String(line);
    band.style.top = `${top}px`;
    const pin = document.createElement('div');
    pin.className = 'error-pin';
    pin.dataset.line = String(line);
    pin.dataset.column = String(column);
    pin.textContent = message;
    pin.style.top = `${top + LINE_HEIGHT + 5}px`;
    pin.style.left = `${Math.max(2, PAD + visual * this.charWidth() - this.ta.scrollLeft - 8)}px`;
    this.main.append(band, pin);
  }
}
