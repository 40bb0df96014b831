// Small rendering helpers: escaping (every value from the cluster goes through esc), badges, number
// formats, tables, and the keyed update of a page's parts that leaves unchanged parts (and the focus in
// them) alone.

const ENTITIES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function esc(v) {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/** A state as a badge: the word is always there, the colour only repeats it. */
export function badge(state, text = state) {
  return `<span class="badge ${esc(state)}">${esc(text)}</span>`;
}

export const num = (v, digits = 2) =>
  v === undefined || v === null || Number.isNaN(v) ? '–' : Number(v).toFixed(digits);
export const pct = (v) => (v === undefined || v === null ? '–' : `${(v * 100).toFixed(1)}%`);
export const ms = (v) => (v === undefined || v === null ? '–' : `${Math.round(v)} ms`);
export const usd = (v) => (v === undefined || v === null ? '–' : `$${Number(v).toFixed(4)}`);

/** A table with a caption; `rows` are arrays of cell HTML (already escaped). */
export function table(caption, headers, rows, empty = 'None.') {
  if (rows.length === 0) return `<p class="muted">${esc(empty)}</p>`;
  const head = headers
    .map((h) => `<th scope="col"${h.num ? ' class="num"' : ''}>${esc(h.label ?? h)}</th>`)
    .join('');
  const body = rows
    .map(
      (r) => `<tr>${r.map((c, i) => `<td${headers[i]?.num ? ' class="num"' : ''}>${c}</td>`).join('')}</tr>`,
    )
    .join('');
  return `<table><caption class="visually-hidden">${esc(caption)}</caption><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

export function facts(pairs) {
  return `<dl class="facts">${pairs.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join('')}</dl>`;
}

/**
 * Renders `parts` ([id, html] pairs) into `root`. A new set of ids (another page) rebuilds the root; the same
 * set replaces only the parts whose HTML changed.
 */
const shown = new Map();

export function renderParts(root, pageId, parts) {
  if (root.dataset.page !== pageId) {
    root.dataset.page = pageId;
    shown.clear();
    root.innerHTML = parts.map(([id]) => `<div data-part="${esc(id)}"></div>`).join('');
  }
  for (const [id, html] of parts) {
    const el = root.querySelector(`[data-part="${id}"]`);
    if (el && shown.get(id) !== html) {
      el.innerHTML = html;
      shown.set(id, html);
    }
  }
}
