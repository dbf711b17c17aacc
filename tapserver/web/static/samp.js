// SAMP Web Profile client (SAMP 1.3 §5): XML-RPC over HTTP to the hub on localhost:21012, which TOPCAT,
// Aladin or astropy run. Nothing is contacted until the user presses a SAMP button.
// Written for tapserver; no dependency.

export const DEFAULT_HUB = 'http://localhost:21012/';
const HUB_KEY = 'tapserver.sampHub'; // localStorage override of the hub URL (tests, unusual set-ups)

export function hubUrl() {
  try {
    return localStorage.getItem(HUB_KEY) || DEFAULT_HUB;
  } catch {
    return DEFAULT_HUB;
  }
}

// --- XML-RPC encoding (SAMP uses strings, lists and maps only) ---------------------------------------
function esc(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function encode(value) {
  if (Array.isArray(value)) {
    return `<value><array><data>${value.map(encode).join('')}</data></array></value>`;
  }
  if (value !== null && typeof value === 'object') {
    const members = Object.entries(value)
      .map(([k, v]) => `<member><name>${esc(k)}</name>${encode(v)}</member>`).join('');
    return `<value><struct>${members}</struct></value>`;
  }
  return `<value><string>${esc(value ?? '')}</string></value>`;
}

function decode(node) {
  // node: a <value> element
  const child = Array.from(node.children)[0];
  if (!child) return node.textContent;
  switch (child.localName) {
    case 'string': return child.textContent;
    case 'int': case 'i4': return parseInt(child.textContent, 10);
    case 'double': return parseFloat(child.textContent);
    case 'boolean': return child.textContent.trim() === '1';
    case 'array': {
      const data = child.getElementsByTagName('data')[0];
      return data ? Array.from(data.children).filter((c) => c.localName === 'value').map(decode) : [];
    }
    case 'struct': {
      const out = {};
      for (const member of Array.from(child.children)) {
        const name = member.getElementsByTagName('name')[0];
        const value = Array.from(member.children).find((c) => c.localName === 'value');
        if (name && value) out[name.textContent] = decode(value);
      }
      return out;
    }
    case 'nil': return null;
    default: return child.textContent;
  }
}

export class SampError extends Error {}

export async function xmlrpc(url, method, params, { timeout = 60000 } = {}) {
  const body = `<?xml version="1.0"?><methodCall><methodName>${esc(method)}</methodName><params>${
    params.map((p) => `<param>${encode(p)}</param>`).join('')}</params></methodCall>`;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeout);
  let response;
  try {
    response = await fetch(url, {
      method: 'POST', body, headers: { 'Content-Type': 'text/xml' }, signal: controller.signal,
      credentials: 'omit', cache: 'no-store',
    });
  } finally {
    clearTimeout(timer);
  }
  const text = await response.text();
  const doc = new DOMParser().parseFromString(text, 'application/xml');
  const fault = doc.getElementsByTagName('fault')[0];
  if (fault) {
    const value = decode(fault.getElementsByTagName('value')[0]);
    throw new SampError((value && value.faultString) || 'SAMP hub refused the call');
  }
  const value = doc.getElementsByTagName('value')[0];
  if (!response.ok || !value) throw new SampError(`SAMP hub answered HTTP ${response.status}`);
  return decode(value);
}

// --- the connection ---------------------------------------------------------------------------------
export class SampConnection {
  constructor(meta) {
    this.meta = meta;
    this.url = hubUrl();
    this.key = null;
  }

  call(method, ...params) {
    return xmlrpc(this.url, `samp.webhub.${method}`, this.key ? [this.key, ...params] : params);
  }

  async register() {
    if (this.key) return;
    // the hub may ask its user to accept this page: wait for the answer
    const answer = await xmlrpc(this.url, 'samp.webhub.register', [{ 'samp.name': this.meta['samp.name'] }],
      { timeout: 120000 });
    this.key = answer['samp.private-key'];
    this.selfId = answer['samp.self-id'];
    await this.call('declareMetadata', this.meta);
  }

  // [{id, name}] of the clients that accept mtype
  async recipients(mtype) {
    const subscribed = await this.call('getSubscribedClients', mtype);
    const out = [];
    for (const id of Object.keys(subscribed || {})) {
      if (id === this.selfId) continue;
      let name = id;
      try {
        const meta = await this.call('getMetadata', id);
        name = (meta && meta['samp.name']) || id;
      } catch { /* keep the id */ }
      out.push({ id, name });
    }
    return out;
  }

  notify(recipient, mtype, params) {
    const message = { 'samp.mtype': mtype, 'samp.params': params };
    return recipient ? this.call('notify', recipient, message) : this.call('notifyAll', message);
  }

  async close() {
    if (!this.key) return;
    const key = this.key;
    this.key = null;
    try {
      await xmlrpc(this.url, 'samp.webhub.unregister', [key], { timeout: 3000 });
    } catch { /* the hub may be gone */ }
  }
}

let shared = null;

export function connection() {
  if (!shared) {
    shared = new SampConnection({
      'samp.name': document.title.split(' · ').pop() || 'tapserver',
      'samp.description.text': 'Web pages of a tapserver TAP service',
      'samp.documentation.url': new URL('/', location.href).href,
      'author.affiliation': 'tapserver',
    });
    window.addEventListener('pagehide', () => { if (shared) shared.close(); });
  }
  return shared;
}

function paramsFor(mtype, url, name) {
  const params = { url, name };
  if (mtype.startsWith('table.load')) params['table-id'] = `tapserver-${Date.now().toString(36)}`;
  return params;
}

// A "Send via SAMP" control inside `slot`: `target()` gives {url, mtype, name} when pressed (the URL may
// change with the result shown).
export function sampControl(slot, target, { label = 'Send to TOPCAT / Aladin…' } = {}) {
  slot.replaceChildren();
  const ui = document.createElement('span');
  ui.className = 'samp-ui';
  const connect = document.createElement('button');
  connect.type = 'button';
  connect.className = 'small samp-connect';
  connect.textContent = label;
  connect.title = 'Send through SAMP to a desktop application (TOPCAT, Aladin) running on this computer';
  const msg = document.createElement('span');
  msg.className = 'samp-msg';
  msg.setAttribute('role', 'status');
  ui.append(connect, msg);
  slot.append(ui);

  const send = async (recipient, label) => {
    const { url, mtype, name } = target();
    msg.textContent = `Sending to ${label}…`;
    try {
      await connection().notify(recipient, mtype, paramsFor(mtype, new URL(url, location.href).href, name));
      msg.textContent = `Sent to ${label}.`;
    } catch (err) {
      msg.textContent = `Could not send: ${err.message}`;
    }
  };

  connect.addEventListener('click', async () => {
    const { mtype } = target();
    msg.textContent = 'Contacting the SAMP hub (accept this page in the hub if it asks)…';
    connect.disabled = true;
    try {
      const conn = connection();
      await conn.register();
      const clients = await conn.recipients(mtype);
      ui.querySelectorAll('button.samp-send').forEach((b) => b.remove());
      if (!clients.length) {
        msg.textContent = 'No application connected to the hub accepts this (start TOPCAT or Aladin, then retry).';
      } else {
        msg.textContent = '';
        for (const client of clients) {
          const b = document.createElement('button');
          b.type = 'button';
          b.className = 'small samp-send';
          b.dataset.client = client.id;
          b.textContent = `Send to ${client.name}`;
          b.addEventListener('click', () => send(client.id, client.name));
          ui.insertBefore(b, msg);
        }
      }
      connect.textContent = 'Refresh SAMP list';
    } catch (err) {
      msg.textContent = err instanceof SampError
        ? `SAMP hub: ${err.message}`
        : 'No SAMP hub answered on this computer: start TOPCAT or Aladin (with its Web Profile), then retry.';
    } finally {
      connect.disabled = false;
    }
  });
}
