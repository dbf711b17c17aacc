// Enhancements shared by every page; each page works without them.
import { sampControl } from './samp.js';

async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // http on another host than localhost: the old way
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.append(area);
  area.select();
  try {
    document.execCommand('copy');
  } finally {
    area.remove();
  }
}

function setUpCopyButtons(root = document) {
  for (const button of root.querySelectorAll('button.copy')) {
    if (button.dataset.ready) continue;
    button.dataset.ready = '1';
    button.hidden = false;
    const label = button.textContent;
    button.addEventListener('click', async () => {
      let text = button.dataset.copyText;
      if (text === undefined) {
        const source = document.getElementById(button.dataset.copy);
        text = source ? (source.value !== undefined && source.tagName === 'INPUT' ? source.value : source.textContent) : '';
      }
      try {
        await copyText(text);
        button.textContent = 'Copied';
        button.classList.add('done');
      } catch {
        button.textContent = 'Copy failed: select the text';
      }
      setTimeout(() => { button.textContent = label; button.classList.remove('done'); }, 1600);
    });
  }
}

function setUpColumnFilter() {
  const box = document.querySelector('.filter');
  const input = document.getElementById('column-filter');
  if (!box || !input) return;
  box.hidden = false;
  input.addEventListener('input', () => {
    const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    for (const section of document.querySelectorAll('.table-doc')) {
      let shown = 0;
      for (const row of section.querySelectorAll('tr[data-search]')) {
        const hit = words.every((w) => row.dataset.search.includes(w));
        row.hidden = !hit;
        if (hit) shown += 1;
      }
      const details = section.querySelector('details');
      if (details && words.length) details.open = shown > 0;
      section.hidden = words.length > 0 && shown === 0;
    }
  });
}

function setUpSampSlots() {
  for (const slot of document.querySelectorAll('.samp-slot')) {
    const { sampUrl, sampMtype, sampName, sampLabel } = slot.dataset;
    sampControl(slot, () => ({ url: sampUrl, mtype: sampMtype, name: sampName }), sampLabel ? { label: sampLabel } : {});
  }
}

export { copyText, setUpCopyButtons };

setUpCopyButtons();
setUpColumnFilter();
setUpSampSlots();
