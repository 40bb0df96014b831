// The dashboard page: logs in, opens one EventSource (/api/events: a snapshot, then deltas pushed by the
// operator; no polling), keeps the views and the open page's series, and renders the page named by the
// location hash. Promote and abort are POSTs with the action header; a refusal is shown as it came.
import { autoscalerPage, canaryPage, overview, routePage } from './pages.js';
import { experimentPage } from './experiment.js';
import { renderParts } from './render.js';

const $ = (id) => document.getElementById(id);
const state = { views: new Map(), series: new Map(), canAct: false, source: undefined };
/** Series points kept per figure in the page: one hour at a 1 s scrape at most. */
const MAX_POINTS = 3600;

function route() {
  const [kind, ns, name] = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  return kind && ns && name ? { kind, key: `${kind}/${ns}/${name}` } : { kind: 'overview', key: '' };
}

function render() {
  const r = route();
  const v = state.views.get(r.key);
  let parts;
  switch (r.kind) {
    case 'route':
      parts = routePage(v, state.series.get(r.key));
      break;
    case 'canary':
      parts = canaryPage(v, state.canAct);
      break;
    case 'autoscaler':
      parts = autoscalerPage(v, state.series.get(r.key));
      break;
    case 'experiment':
      parts = experimentPage(v, state.canAct);
      break;
    case 'gateway':
    default:
      parts = overview(state.views);
  }
  renderParts($('page'), `${r.kind}:${r.key}`, parts);
}

async function loadSeries() {
  const r = route();
  if (r.kind !== 'route' && r.kind !== 'autoscaler') return;
  const res = await fetch(`/api/series/${r.key}`);
  const body = await res.json().catch(() => ({}));
  // A refusal (Prometheus down) is shown where the charts would be; live points still arrive.
  state.series.set(r.key, res.ok ? body : { at: [], values: {}, error: body.error ?? res.statusText });
  render();
}

function appendPoints({ at, figures }) {
  for (const [key, f] of Object.entries(figures)) {
    const s = state.series.get(key);
    if (!s) continue; // only the open page's series are kept
    s.at.push(at);
    const names = new Set([...Object.keys(s.values), ...Object.keys(f)]);
    for (const n of names) {
      s.values[n] ??= new Array(s.at.length - 1).fill(null);
      s.values[n].push(f[n] ?? null);
    }
    if (s.at.length > MAX_POINTS) {
      s.at.shift();
      for (const n of names) s.values[n].shift();
    }
  }
}

function announce(text) {
  $('live').textContent = text;
}

function connect() {
  state.source?.close();
  const es = new EventSource('/api/events');
  state.source = es;
  es.addEventListener('open', () => ($('conn').textContent = 'Live'));
  es.addEventListener('error', () => {
    $('conn').textContent = 'Reconnecting…';
    // A closed stream after a 401 means the session is gone: back to the login form.
    void fetch('/api/whoami').then((r) => {
      if (r.status === 401) {
        es.close();
        showLogin();
      }
    });
  });
  es.addEventListener('snapshot', (e) => {
    const snap = JSON.parse(e.data);
    state.views = new Map(snap.views.map((v) => [v.key, v]));
    render();
  });
  es.addEventListener('upsert', (e) => {
    const v = JSON.parse(e.data);
    const before = state.views.get(v.key);
    state.views.set(v.key, v);
    if (v.kind === 'canary' && before && (before.phase !== v.phase || before.weight !== v.weight))
      announce(`Canary ${v.name}: ${v.phase}, weight ${v.weight}%`);
    if (v.kind === 'experiment' && before && (before.phase !== v.phase || before.verdict !== v.verdict))
      announce(`Experiment ${v.name}: ${v.phase}${v.winner ? `, winner ${v.winner}` : ''}`);
    render();
  });
  es.addEventListener('delete', (e) => {
    state.views.delete(JSON.parse(e.data).key);
    render();
  });
  es.addEventListener('points', (e) => {
    appendPoints(JSON.parse(e.data));
    if (state.series.has(route().key)) render();
  });
}

async function act(action, button) {
  const r = route();
  const [, ns, name] = r.key.split('/');
  const out = $('action-result');
  button.disabled = true;
  out.className = 'result';
  out.textContent = `${action === 'promote' ? 'Promoting' : 'Aborting'}…`;
  try {
    const kind = r.kind === 'experiment' ? 'experiments' : 'canaries';
    const res = await fetch(`/api/${kind}/${encodeURIComponent(ns)}/${encodeURIComponent(name)}/${action}`, {
      method: 'POST',
      headers: { 'x-beastmode-dashboard': 'action' },
    });
    const body = await res.json().catch(() => ({}));
    out.className = res.ok ? 'result ok' : 'result refused';
    out.textContent = res.ok
      ? `Done: ${body.message}`
      : `Refused (${res.status}): ${body.error ?? res.statusText}`;
  } catch (e) {
    out.className = 'result refused';
    out.textContent = `Failed: ${e.message}`;
  } finally {
    button.disabled = false;
  }
}

function showLogin() {
  $('login').hidden = false;
  $('page').hidden = true;
  $('logout').hidden = true;
  $('who').textContent = '';
  $('conn').textContent = 'Logged out';
  $('token').focus();
}

async function start() {
  const who = await fetch('/api/whoami');
  if (who.status === 401) return showLogin();
  const me = await who.json();
  state.canAct = me.canAct;
  $('login').hidden = true;
  $('page').hidden = false;
  $('logout').hidden = false;
  $('who').textContent = `${me.user} (${me.mode})`;
  connect();
  await loadSeries();
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const res = await fetch('/api/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: $('token').value }),
  });
  $('token').value = '';
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    $('login-error').textContent = `Login refused (${res.status}): ${body.error ?? res.statusText}`;
    return;
  }
  $('login-error').textContent = '';
  await start();
});

$('logout').addEventListener('click', async () => {
  await fetch('/api/logout', { method: 'POST' });
  state.source?.close();
  showLogin();
});

$('page').addEventListener('click', (e) => {
  const b = e.target.closest('button[data-action]');
  if (b) void act(b.dataset.action, b);
});

window.addEventListener('hashchange', () => {
  render();
  $('main').focus();
  void loadSeries();
});

void start();
