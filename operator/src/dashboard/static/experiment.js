// The experiment page as parts ([id, html]), a pure function of the view: the split and samples per
// variant, each treatment's comparison with the control drawn as its always-valid interval around 0, the
// planned vs collected samples, the verdict and its reasons, and the promote/abort buttons. The action's
// answer sits in a part of its own that never changes, so a live update after a promotion keeps it shown.
import { badge, esc, facts, num, pct, table, usd } from './render.js';
import { conditions, health } from './pages.js';

const UNITS = {
  'latency-ms': (v) => `${num(v, 1)} ms`,
  'ttft-ms': (v) => `${num(v, 1)} ms`,
  'cost-per-request': usd,
  'task-success': pct,
  'error-rate': pct,
  'feedback-score': (v) => num(v, 3),
};

/** A value of `metric` in its unit ('–' when absent). */
export function metricValue(metric, v) {
  if (v === undefined || v === null || !Number.isFinite(v)) return '–';
  return (UNITS[metric] ?? ((x) => num(x, 3)))(v);
}

/** A difference of `metric`, signed; rates in percentage points. */
export function metricDelta(metric, v) {
  if (v === undefined || v === null || !Number.isFinite(v)) return '–';
  const sign = v > 0 ? '+' : v < 0 ? '−' : '';
  const a = Math.abs(v);
  if (metric === 'task-success' || metric === 'error-rate') return `${sign}${(a * 100).toFixed(1)} pp`;
  if (metric === 'cost-per-request') return `${sign}$${a.toFixed(4)}`;
  if (metric === 'latency-ms' || metric === 'ttft-ms') return `${sign}${a.toFixed(1)} ms`;
  return `${sign}${a.toFixed(3)}`;
}

const W = 220;
const H = 30;
const PAD = 10;

/**
 * The improvement with its always-valid interval as a small SVG: a line from the lower to the upper bound,
 * a dot at the estimate, a dashed mark at 0 (no difference). An interval wholly right of 0 is better than
 * the control, wholly left worse. The label says the same in words.
 */
export function intervalPlot(metric, c) {
  const { lower, upper, improvement } = c;
  if (![lower, upper].every((x) => typeof x === 'number' && Number.isFinite(x)))
    return '<span class="muted">no interval yet</span>';
  const est = typeof improvement === 'number' && Number.isFinite(improvement) ? improvement : undefined;
  const lo = Math.min(lower, 0, est ?? 0);
  const hi = Math.max(upper, 0, est ?? 0);
  const span = hi - lo || 1;
  const x = (v) => (PAD + ((v - lo) / span) * (W - 2 * PAD)).toFixed(1);
  const side = lower > 0 ? 'better' : upper < 0 ? 'worse' : 'straddles';
  const label =
    `improvement ${metricDelta(metric, est)}, always-valid interval ${metricDelta(metric, lower)} to ` +
    `${metricDelta(metric, upper)}` +
    (side === 'straddles' ? ', which contains 0' : side === 'better' ? ', above 0' : ', below 0');
  return `<svg class="interval ${side}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(label)}" data-lower="${lower}" data-upper="${upper}">
<line class="zero" x1="${x(0)}" y1="2" x2="${x(0)}" y2="${H - 2}"/>
<line class="ci" x1="${x(lower)}" y1="${H / 2}" x2="${x(upper)}" y2="${H / 2}"/>
<line class="ci" x1="${x(lower)}" y1="${H / 2 - 6}" x2="${x(lower)}" y2="${H / 2 + 6}"/>
<line class="ci" x1="${x(upper)}" y1="${H / 2 - 6}" x2="${x(upper)}" y2="${H / 2 + 6}"/>
${est === undefined ? '' : `<circle class="est" cx="${x(est)}" cy="${H / 2}" r="4"/>`}
</svg>`;
}

function variantsTable(v) {
  const primary = v.primary.metric;
  return table(
    'Variants',
    [
      'Variant',
      'Backend',
      { label: 'Share of subjects', num: true },
      ...v.metrics.map((m) => ({ label: `Samples ${m}`, num: true })),
      { label: `Mean ${primary}`, num: true },
    ],
    v.variants.map((x) => [
      `${esc(x.name)}${x.control ? ' <span class="muted">(control)</span>' : ''}${x.name === v.winner ? ` ${badge('winner')}` : ''}`,
      esc(x.backend),
      pct(x.weight),
      ...v.metrics.map((m) => num(x.samples[m] ?? 0, 0)),
      `<span data-testid="mean-${esc(x.name)}">${metricValue(primary, x.means[primary])}</span>`,
    ]),
    'No variants.',
  );
}

function comparisonsTable(v) {
  const metric = v.primary.metric;
  return table(
    'Comparisons with the control',
    [
      'Treatment',
      'Standing',
      { label: 'Improvement', num: true },
      'Always-valid interval',
      { label: 'p-value', num: true },
      'Guardrail breaches',
    ],
    v.comparisons.map((c) => [
      esc(c.variant),
      badge(c.standing),
      `<span data-testid="improvement-${esc(c.variant)}">${metricDelta(metric, c.improvement)}</span>`,
      `${intervalPlot(metric, c)}<span class="ci-text">[${metricDelta(metric, c.lower)}, ${metricDelta(metric, c.upper)}]</span>`,
      num(c.pValue, 4),
      c.breaches.length ? `<span class="error">${esc(c.breaches.join('; '))}</span>` : 'none',
    ]),
    'No comparison yet: the experiment has not ticked.',
  );
}

function progress(v) {
  const planned = v.plannedSamplesPerVariant;
  const got = v.collectedSamplesPerVariant;
  if (!planned) return `${num(got, 0)} per variant <span class="muted">(no planned size yet)</span>`;
  const share = Math.min(1, got / planned);
  return `<progress max="${planned}" value="${Math.min(got, planned)}" aria-label="Samples collected of planned"></progress> <span data-testid="experiment-progress">${num(got, 0)} of ${num(planned, 0)} (${Math.round(share * 100)}%)</span>`;
}

function actionsPart(v, canAct) {
  const promoteHint = v.awaitingPromotion
    ? ''
    : `<p class="muted">Promote applies once the experiment has concluded with a winner and its promotion is manual (now: ${esc(v.phase)}, promotion ${esc(v.promotion)}).</p>`;
  return `<h2 id="actions-title">Actions</h2>
<div class="actions" role="group" aria-labelledby="actions-title">
<button type="button" class="primary" data-action="promote"${v.awaitingPromotion ? '' : ' disabled'}>Promote winner${v.winner ? ` ${esc(v.winner)}` : ''}</button>
<button type="button" class="danger" data-action="abort"${v.abort || v.phase === 'Aborted' ? ' disabled' : ''}>Abort experiment</button>
</div>${promoteHint}${canAct ? '' : '<p class="muted">Read-only dashboard: actions are refused. Use <code>beastmode experiment promote|abort</code>.</p>'}`;
}

export function experimentPage(v, canAct) {
  if (!v) return [['title', '<h1>Experiment not found</h1><p>It may have been deleted.</p>']];
  const guardrails = v.guardrails.length
    ? esc(v.guardrails.map((g) => `${g.metric} within ${metricValue(g.metric, g.tolerance)}`).join(', '))
    : 'none';
  const breaches = v.comparisons.flatMap((c) => c.breaches.map((b) => `${c.variant}: ${b}`));
  return [
    ['title', `<h1>Experiment ${esc(v.namespace)}/${esc(v.name)}</h1><p>${health(v)}</p>`],
    [
      'status',
      facts([
        ['Phase', `<span data-testid="experiment-phase">${badge(v.phase)}</span>`],
        ['Verdict', `<span data-testid="experiment-verdict">${v.verdict ? badge(v.verdict) : '–'}</span>`],
        ['Winner', `<span data-testid="experiment-winner">${esc(v.winner ?? '–')}</span>`],
        ['Promotion', esc(`${v.promotion}${v.promote ? `, promote ${v.promote}` : ''}`)],
        ['Promoted', esc(v.promotedVariant ?? '–')],
        ['Route', esc(v.route)],
        ['Subject, split', esc(`${v.subject}, ${v.allocation}`)],
        [
          'Primary metric',
          esc(
            `${v.primary.metric} (${v.primary.direction.replace(/-/g, ' ')}), minimum detectable effect ${metricValue(v.primary.metric, v.primary.minimumDetectableEffect)}, alpha ${v.alpha}`,
          ),
        ],
        ['Samples', progress(v)],
        ['Abort', v.abort ? 'set' : 'no'],
        ['Message', esc(v.message ?? '–')],
      ]),
    ],
    ['actions', actionsPart(v, canAct)],
    [
      'action-result',
      '<p><span id="action-result" class="result" role="status" aria-live="assertive"></span></p>',
    ],
    ['variants', `<h2>Variants</h2>${variantsTable(v)}`],
    [
      'comparisons',
      `<h2>Comparisons with the control</h2><p class="muted">Improvement over the control in the better direction of ${esc(v.primary.metric)}; the interval stays valid however often it is looked at.</p>${comparisonsTable(v)}`,
    ],
    [
      'guardrails',
      `<h2>Guardrails</h2><p>${guardrails}</p>${breaches.length ? `<ul class="error">${breaches.map((b) => `<li>${esc(b)}</li>`).join('')}</ul>` : '<p class="muted">No breach.</p>'}`,
    ],
    [
      'reasons',
      `<h2>Verdict and reasons</h2>${v.reasons.length ? `<ul>${v.reasons.map((r) => `<li>${esc(r)}</li>`).join('')}</ul>` : '<p class="muted">No decision yet.</p>'}`,
    ],
    ['conditions', conditions(v)],
  ];
}
