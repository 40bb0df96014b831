// The pages as parts ([id, html]): the overview, a route, a canary, an autoscaler (the experiment page is in
// experiment.js). Pure functions of the state (views by key, series by key); the canary page's action
// buttons sit in a part of their own that does not change while the page is open, so a live update never
// takes the focus away from them.
import { lineChart } from './chart.js';
import { badge, esc, facts, ms, num, pct, table, usd } from './render.js';

const link = (v) =>
  `<a href="#/${v.kind}/${encodeURIComponent(v.namespace)}/${encodeURIComponent(v.name)}">${esc(v.name)}</a>`;
export const health = (v) => `${badge(v.health)} <span class="muted">${esc(v.summary)}</span>`;

const byKind = (views, kind) =>
  [...views.values()].filter((v) => v.kind === kind).sort((a, b) => a.key.localeCompare(b.key));

const experimentRows = (views) =>
  byKind(views, 'experiment').map((v) => [
    link(v),
    esc(v.namespace),
    esc(v.route),
    badge(v.phase),
    v.verdict ? badge(v.verdict) : '–',
    esc(v.winner ?? '–'),
    health(v),
  ]);

export function overview(views) {
  const gw = byKind(views, 'gateway').map((v) => [
    link(v),
    esc(v.namespace),
    health(v),
    `${num(v.readyReplicas, 0)} / ${num(v.replicas, 0)}`,
    `<span class="routes">${num(v.attachedRoutes, 0)}</span>`,
  ]);
  const routes = byKind(views, 'route').map((v) => [
    link(v),
    esc(v.namespace),
    health(v),
    esc(v.model),
    esc(v.policy),
    v.backends
      .map((b) => `${esc(b.name)} ${b.variant === 'canary' ? '(canary) ' : ''}${b.weightPercent}%`)
      .join(', '),
  ]);
  const canaries = byKind(views, 'canary').map((v) => [
    link(v),
    esc(v.namespace),
    health(v),
    badge(v.phase),
    `${v.weight}%`,
  ]);
  const scalers = byKind(views, 'autoscaler').map((v) => [
    link(v),
    esc(v.namespace),
    health(v),
    esc(v.target),
    `${num(v.currentReplicas, 0)} → ${num(v.desiredReplicas, 0)}`,
  ]);
  const experiments = experimentRows(views);
  const h = (label) => ({ label });
  return [
    ['title', '<h1>Overview</h1>'],
    [
      'gateways',
      `<h2 id="gateways">Gateways</h2>${table('Gateways', [h('Name'), h('Namespace'), h('Health'), { label: 'Ready', num: true }, { label: 'Routes', num: true }], gw)}`,
    ],
    [
      'routes',
      `<h2 id="routes">Routes</h2>${table('Routes', [h('Name'), h('Namespace'), h('Health'), h('Model'), h('Policy'), h('Backends')], routes)}`,
    ],
    [
      'canaries',
      `<h2 id="canaries">Canaries</h2>${table('Canaries', [h('Name'), h('Namespace'), h('Health'), h('Phase'), { label: 'Weight', num: true }], canaries)}`,
    ],
    [
      'autoscalers',
      `<h2 id="autoscalers">Autoscalers</h2>${table('Autoscalers', [h('Name'), h('Namespace'), h('Health'), h('Target'), h('Replicas (current → desired)')], scalers)}`,
    ],
    [
      'experiments',
      `<h2 id="experiments">Experiments</h2>${table('Experiments', [h('Name'), h('Namespace'), h('Route'), h('Phase'), h('Verdict'), h('Winner'), h('Health (Ready)')], experiments)}`,
    ],
  ];
}

export const conditions = (v) =>
  `<h2>Conditions</h2>${table(
    'Conditions',
    ['Type', 'Status', 'Reason', 'Message', 'Since'],
    v.conditions.map((c) => [esc(c.type), esc(c.status), esc(c.reason), esc(c.message), esc(c.since)]),
  )}`;

/** Series lines whose names match `/<suffix>` (one per backend and variant). */
function lines(series, suffix, scale = 1) {
  if (!series) return [];
  return Object.entries(series.values)
    .filter(([k]) => k.endsWith(`/${suffix}`))
    .map(([k, vals]) => ({
      name: k.slice(0, -suffix.length - 1),
      at: series.at,
      values: vals.map((v) => (v === null ? null : v * scale)),
    }));
}

const lastHourSum = (series, name) => {
  const vals = series?.values[name] ?? [];
  const at = series?.at ?? [];
  let sum = 0;
  for (let i = 1; i < vals.length; i++) {
    if (vals[i] !== null) sum += (vals[i] * (at[i] - at[i - 1])) / 3600_000;
  }
  return sum;
};

function policyFacts(v, series) {
  const cost = lastHourSum(series, 'cost/usdPerHour');
  const saved = lastHourSum(series, 'cache/savedUsdPerHour');
  return facts([
    ['Selection', esc(v.policy)],
    ['Policies in force', esc(v.policies.join('; ') || '–')],
    [
      'Fallback',
      v.fallback ? esc(`on ${v.fallback.when.join(', ')}; up to ${v.fallback.maxAttempts} attempts`) : 'none',
    ],
    [
      'Cache',
      v.cache ? esc(`${v.cache.mode}, ttl ${v.cache.ttl ?? '–'}, scope ${v.cache.scope ?? '–'}`) : 'none',
    ],
    [
      'Rate limits',
      esc(
        v.rateLimits
          .map(
            (l) =>
              `per ${l.per}: ${l.requestsPerMinute ?? '–'} req/min, ${l.tokensPerMinute ?? '–'} tokens/min`,
          )
          .join('; ') || 'none',
      ),
    ],
    [
      'Budgets',
      esc(
        v.budgets.map((b) => `per ${b.per}: $${b.usd} a ${b.window}, then ${b.onExhausted}`).join('; ') ||
          'none',
      ),
    ],
    ['Cost, last hour', usd(cost)],
    ['Saved by the cache, last hour', usd(saved)],
  ]);
}

export function routePage(v, series) {
  if (!v) return [['title', '<h1>Route not found</h1><p>It may have been deleted.</p>']];
  const backends = table(
    'Effective routing',
    [
      'Backend',
      'Variant',
      { label: 'Weight', num: true },
      'Model',
      'Provider',
      'Pricing (per 1M in / out)',
      'Excluded',
    ],
    v.backends.map((b) => [
      esc(b.name),
      esc(b.variant),
      `${b.weightPercent}%`,
      esc(b.model),
      esc(b.provider),
      b.pricing ? `${usd(b.pricing.inputPerMillionTokens)} / ${usd(b.pricing.outputPerMillionTokens)}` : '–',
      esc(b.excluded ?? ''),
    ]),
  );
  const policy = policyFacts(v, series);
  const charts = [
    lineChart({ title: 'Requests per second', format: (x) => num(x, 1), lines: lines(series, 'rps') }),
    lineChart({ title: 'Error rate', format: pct, lines: lines(series, 'errorRate') }),
    lineChart({ title: 'Latency p95', format: ms, lines: lines(series, 'latencyP95Ms') }),
    lineChart({ title: 'Time to first token p95', format: ms, lines: lines(series, 'ttftP95Ms') }),
    lineChart({
      title: 'Cost (USD per hour)',
      format: (x) => `$${x.toFixed(2)}`,
      lines: lines(series, 'usdPerHour'),
    }),
    lineChart({ title: 'Cache hit ratio', format: pct, lines: lines(series, 'hitRatio') }),
  ];
  return [
    ['title', `<h1>Route ${esc(v.namespace)}/${esc(v.name)}</h1><p>${health(v)}</p>`],
    [
      'routing',
      `<h2>Effective routing</h2><p>Model <code>${esc(v.model)}</code> on gateway ${esc(v.gateway)}</p>${backends}`,
    ],
    ['policy', `<h2>Policy, limits and spend</h2>${policy}`],
    [
      'charts',
      `<h2>Last hour</h2><p class="muted">${series?.source === 'prometheus' ? 'From Prometheus, then' : 'From'} the operator’s scrapes of the gateways.</p>` +
        (series?.error ? `<p class="error" role="alert">${esc(series.error)}</p>` : '') +
        `<div class="charts">${charts.join('')}</div>`,
    ],
    ['conditions', conditions(v)],
  ];
}

const figures = (f) =>
  f
    ? `${f.requests} req, errors ${pct(f.errorRate)}, p95 ${ms(f.latencyP95Ms)}, TTFT ${ms(f.ttftP95Ms)}` +
      (f.feedbackScore !== undefined ? `, feedback ${num(f.feedbackScore)}` : '')
    : '–';

function analysisTable(v) {
  const a = v.lastAnalysis;
  if (!a) return '<p class="muted">No analysis yet.</p>';
  const row = (name, key, fmt) => [esc(name), fmt(a.stable?.[key]), fmt(a.canary?.[key])];
  const limits = v.thresholds
    .map((t) => `${t.name} ${t.max !== undefined ? `≤ ${t.max}` : `≥ ${t.min}`}`)
    .join(', ');
  return (
    `<p>Verdict ${badge(a.verdict)}${a.failures?.length ? ` <span class="error">${esc(a.failures.join('; '))}</span>` : ''}</p>` +
    table(
      'Last analysis',
      ['Figure', { label: 'Stable', num: true }, { label: 'Canary', num: true }],
      [
        row('Requests', 'requests', (x) => num(x, 0)),
        row('Error rate', 'errorRate', pct),
        row('Latency p95', 'latencyP95Ms', ms),
        row('TTFT p95', 'ttftP95Ms', ms),
        row('Cost per request', 'costPerRequest', usd),
        row('Feedback score', 'feedbackScore', (x) => num(x)),
      ],
    ) +
    `<p class="muted">Thresholds: ${esc(limits)}</p>`
  );
}

export function canaryPage(v, canAct) {
  if (!v) return [['title', '<h1>Canary not found</h1><p>It may have been deleted.</p>']];
  const steps = v.steps
    .map((s, i) => {
      const cls =
        v.currentStep === i ? 'current' : v.currentStep !== undefined && i < v.currentStep ? 'done' : '';
      return `<li class="${cls}"${cls === 'current' ? ' aria-current="step"' : ''}>${s}%</li>`;
    })
    .join('');
  const timeline = table(
    'Timeline',
    ['Time', 'Phase', { label: 'Weight', num: true }, 'Step', 'Verdict', 'Stable', 'Canary'],
    [...v.timeline]
      .reverse()
      .map((e) => [
        esc(new Date(e.at).toISOString().slice(11, 19)),
        badge(e.phase),
        `${e.weight}%`,
        e.step === undefined ? '–' : `${e.step + 1} of ${v.steps.length}`,
        e.analysis ? badge(e.analysis.verdict) : '',
        esc(figures(e.analysis?.stable)),
        esc(figures(e.analysis?.canary)),
      ]),
    'Nothing seen yet.',
  );
  const actions = `<h2 id="actions-title">Actions</h2>
<div class="actions" role="group" aria-labelledby="actions-title">
<button type="button" class="primary" data-action="promote">Promote ${esc(v.name)}</button>
<button type="button" class="danger" data-action="abort">Abort ${esc(v.name)}</button>
<span id="action-result" class="result" role="status" aria-live="assertive"></span>
</div>${canAct ? '' : '<p class="muted">Read-only dashboard: actions are refused. Use <code>beastmode canary promote|abort</code>.</p>'}`;
  return [
    ['title', `<h1>Canary ${esc(v.namespace)}/${esc(v.name)}</h1><p>${health(v)}</p>`],
    [
      'status',
      facts([
        ['Phase', `<span data-testid="canary-phase">${badge(v.phase)}</span>`],
        ['Canary weight', `<span data-testid="canary-weight">${v.weight}%</span>`],
        ['Step', v.currentStep === undefined ? '–' : `${v.currentStep + 1} of ${v.steps.length}`],
        ['Route / backend', `${esc(v.route)} / ${esc(v.backend)}`],
        ['Stable revision', esc(v.stableRevision ?? '–')],
        ['Candidate revision', esc(v.candidateRevision ?? '–')],
        ['Rolled back revision', esc(v.rolledBackRevision ?? '–')],
        [
          'Promotion',
          esc(`${v.promotionMode}${v.approvedRevision ? `, approved ${v.approvedRevision}` : ''}`),
        ],
        ['Abort', v.abort ? 'set' : 'no'],
        ['Message', esc(v.message ?? '–')],
      ]) + `<ol class="steps" aria-label="Steps">${steps}</ol>`,
    ],
    ['actions', actions],
    ['analysis', `<h2>Last analysis</h2>${analysisTable(v)}`],
    ['timeline', `<h2>Timeline</h2>${timeline}`],
    ['conditions', conditions(v)],
  ];
}

export function autoscalerPage(v, series) {
  if (!v) return [['title', '<h1>Autoscaler not found</h1><p>It may have been deleted.</p>']];
  const metricLines = series
    ? Object.entries(series.values)
        .filter(([k]) => k.startsWith('metric/'))
        .map(([k, vals]) => ({ name: k.slice(7), at: series.at, values: vals }))
    : [];
  const pick = (names) =>
    series
      ? names
          .filter((n) => series.values[n])
          .map((n) => ({ name: n, at: series.at, values: series.values[n] }))
      : [];
  return [
    ['title', `<h1>Autoscaler ${esc(v.namespace)}/${esc(v.name)}</h1><p>${health(v)}</p>`],
    [
      'status',
      facts([
        ['Target', esc(v.target)],
        ['Replicas', `<span data-testid="replicas">${num(v.currentReplicas, 0)}</span>`],
        ['Desired', num(v.desiredReplicas, 0)],
        ['Bounds', `${num(v.minReplicas, 0)} – ${num(v.maxReplicas, 0)}`],
        ['Metrics', esc(v.metrics.map((m) => `${m.type} ${m.value}`).join(', ') || '–')],
        [
          'Forecast',
          v.forecast
            ? esc(
                `${v.forecast.requestsPerSecond} req/s at the horizon${v.forecast.accuracy ? `, accuracy ${v.forecast.accuracy}` : ''}`,
              )
            : '–',
        ],
      ]),
    ],
    [
      'charts',
      `<h2>Last hour</h2><div class="charts">${[
        lineChart({
          title: 'Replicas',
          format: (x) => num(x, 0),
          lines: pick(['replicas', 'desiredReplicas']),
        }),
        lineChart({ title: 'Metric values', format: (x) => num(x, 2), lines: metricLines }),
        lineChart({
          title: 'Forecast (requests per second)',
          format: (x) => num(x, 1),
          lines: pick(['forecast/rps']),
        }),
      ].join('')}</div>`,
    ],
    ['conditions', conditions(v)],
  ];
}
