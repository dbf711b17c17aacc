// Reading what the TAP service answers: VOTable TABLEDATA results, DALI error documents, UWS job documents.

const NUMERIC = new Set(['short', 'int', 'long', 'float', 'double', 'unsignedByte']);
const UWS = 'http://www.ivoa.net/xml/UWS/v1.0';
const XLINK = 'http://www.w3.org/1999/xlink';

function byName(root, name) {
  return Array.from(root.getElementsByTagNameNS('*', name));
}

function queryStatus(doc) {
  // the last QUERY_STATUS wins: OVERFLOW and mid-stream ERROR come after the table
  let status = null;
  for (const info of byName(doc, 'INFO')) {
    if (info.getAttribute('name') === 'QUERY_STATUS') {
      status = { value: (info.getAttribute('value') || '').toUpperCase(), text: info.textContent.trim() };
    }
  }
  return status;
}

function convert(text, field) {
  if (text === '') return null;
  if (field.numeric && !field.arraysize) {
    const n = Number(text);
    return Number.isNaN(n) && !/^nan$/i.test(text) ? text : n;
  }
  if (field.datatype === 'boolean') {
    if (/^(t|true|1)$/i.test(text)) return true;
    if (/^(f|false|0)$/i.test(text)) return false;
    return null;
  }
  return text;
}

// {fields, rows, status, error} from VOTable text. error is a message when the service reported one.
export function parseVOTable(text) {
  const doc = new DOMParser().parseFromString(text, 'application/xml');
  if (doc.getElementsByTagName('parsererror').length) {
    return { fields: [], rows: [], status: null, error: 'The answer is not a readable VOTable document.' };
  }
  const status = queryStatus(doc);
  const table = byName(doc, 'TABLE')[0];
  const fields = table ? byName(table, 'FIELD').map((f) => {
    const desc = byName(f, 'DESCRIPTION')[0];
    const datatype = f.getAttribute('datatype') || 'char';
    return {
      name: f.getAttribute('name') || f.getAttribute('ID') || '',
      datatype,
      arraysize: datatype === 'char' ? null : f.getAttribute('arraysize'),
      unit: f.getAttribute('unit') || '',
      ucd: f.getAttribute('ucd') || '',
      xtype: f.getAttribute('xtype') || '',
      description: desc ? desc.textContent.trim() : '',
      numeric: NUMERIC.has(datatype),
    };
  }) : [];
  const rows = [];
  const data = table ? byName(table, 'TABLEDATA')[0] : null;
  if (data) {
    for (const tr of data.children) {
      if (tr.localName !== 'TR') continue;
      const row = new Array(fields.length).fill(null);
      let i = 0;
      for (const td of tr.children) {
        if (td.localName !== 'TD') continue;
        if (i < fields.length) row[i] = convert(td.textContent, fields[i]);
        i += 1;
      }
      rows.push(row);
    }
  }
  let error = null;
  if (status && status.value === 'ERROR') error = status.text || 'The query failed.';
  if (table && !data && !error && byName(table, 'DATA').length) {
    error = 'This result is not in TABLEDATA serialisation: download it instead.';
  }
  return { fields, rows, status: status ? status.value : null, error };
}

// The message of a DALI error document (VOTable with QUERY_STATUS=ERROR) or a short text answer.
export function errorMessage(text, httpStatus) {
  if (/<VOTABLE/i.test(text)) {
    const parsed = parseVOTable(text);
    if (parsed.error) return parsed.error;
  }
  const plain = text.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();
  return plain ? plain.slice(0, 500) : `The service answered HTTP ${httpStatus}.`;
}

function uwsText(doc, name) {
  const el = doc.getElementsByTagNameNS(UWS, name)[0];
  if (!el || el.getAttributeNS('http://www.w3.org/2001/XMLSchema-instance', 'nil') === 'true') return null;
  return el.textContent.trim() || null;
}

// The fields of a UWS job document that the page shows.
export function parseJob(text) {
  const doc = new DOMParser().parseFromString(text, 'application/xml');
  const results = Array.from(doc.getElementsByTagNameNS(UWS, 'result')).map((r) => ({
    id: r.getAttribute('id'),
    href: r.getAttributeNS(XLINK, 'href') || r.getAttribute('xlink:href'),
    mime: r.getAttribute('mime-type') || r.getAttributeNS(XLINK, 'mime-type') || null,
    size: r.getAttribute('size') ? Number(r.getAttribute('size')) : null,
    rows: r.getAttribute('rows') ? Number(r.getAttribute('rows')) : null,
  }));
  const params = {};
  for (const p of doc.getElementsByTagNameNS(UWS, 'parameter')) params[p.getAttribute('id').toUpperCase()] = p.textContent;
  const summary = doc.getElementsByTagNameNS(UWS, 'errorSummary')[0];
  const message = summary ? (summary.getElementsByTagNameNS(UWS, 'message')[0] || summary).textContent.trim() : null;
  return {
    id: uwsText(doc, 'jobId'),
    phase: uwsText(doc, 'phase') || 'UNKNOWN',
    created: uwsText(doc, 'creationTime'),
    started: uwsText(doc, 'startTime'),
    ended: uwsText(doc, 'endTime'),
    destruction: uwsText(doc, 'destruction'),
    results,
    params,
    error: message,
  };
}
