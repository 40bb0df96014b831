// The router benchmark's text report (router.ts's results): per route the requests, end-to-end p50/p99 and
// their difference to `plain`, and the gateway's own decision time (count, and p50/p99 as the upper bound of
// the histogram bucket each falls in) with how the decisions went; the machine's load around each part; and
// the verdict on the goal, the decision's p99 below 0.1 ms, for every deciding route in both parts.
import {
  decisionBuckets,
  decisionCounts,
  formatBound,
  observations,
  quantileBound,
  type Sample,
} from './decision-metrics.js';
import type { RateResult } from '../lib/loadgen.js';
import { formatLoad } from './report.js';
import {
  DECISION_GOAL_SECONDS,
  ROUTER_TARGET_QUALITY,
  ROUTES,
  type RouteLatency,
  type RouteName,
  type RouterResults,
} from './router.js';

const DECIDING: readonly RouteName[] = ROUTES.filter((r) => r !== 'plain');
const WIDTHS = [10, 9, 9, 9, 17, 10, 10, 10];
const row = (cells: readonly string[]) =>
  cells.map((c, i) => (i === 0 ? c.padEnd(WIDTHS[0]!) : c.padStart(WIDTHS[i] ?? 10))).join(' ');
const ms = (x: number) => x.toFixed(3);
const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(3)}`;
const vsPlain = (route: RouteName, l: RouteLatency, plain: RouteLatency | undefined) => {
  if (route === 'plain') return '—';
  return plain === undefined ? 'n/a' : `${signed(l.p50 - plain.p50)}/${signed(l.p99 - plain.p99)}`;
};

/** Decisions, p50 and p99 bounds, and "weak 41% (static 440)"; dashes for `plain`, which does not decide. */
function decisionCells(samples: readonly Sample[], route: RouteName): string[] {
  if (!DECIDING.includes(route)) return ['—', '—', '—', ''];
  const buckets = decisionBuckets(samples, route);
  const c = decisionCounts(samples, route);
  const via = [...c.via].map(([v, n]) => `${v} ${n}`).join(', ');
  const weak = c.total > 0 ? `${Math.round((100 * c.weak) / c.total)}% (${via})` : '';
  return [
    String(observations(buckets)),
    formatBound(quantileBound(buckets, 0.5)),
    formatBound(quantileBound(buckets, 0.99)),
    `  ${weak}`,
  ];
}

const HEADER = row([
  'route',
  'requests',
  'p50 ms',
  'p99 ms',
  'vs plain p50/p99',
  'decisions',
  'dec. p50',
  'dec. p99',
]);
const BY_BACKEND = '  weak share (decisions by via)';

/** One route's row: its latency beside plain's, its decisions, then `extra` (weak share last). */
function routeRow(
  route: RouteName,
  l: RouteLatency,
  plain: RouteLatency | undefined,
  samples: readonly Sample[],
  extra = '',
) {
  const [n = '', p50 = '', p99 = '', weak = ''] = decisionCells(samples, route);
  const cells = [route, String(l.requests), ms(l.p50), ms(l.p99), vsPlain(route, l, plain)];
  return `${row([...cells, n, p50, p99])}${extra}${weak}`;
}

function concurrencyOneLines(r: RouterResults): string[] {
  const c = r.concurrencyOne;
  const plain = c.result.get('plain');
  const out = [
    `Concurrency 1: ${r.rounds} rounds × ${r.prompts} sequential requests per route, the routes interleaved (after one warm-up round)`,
    formatLoad(c.load),
    `${HEADER}${BY_BACKEND}`,
  ];
  for (const route of ROUTES) {
    const l = c.result.get(route);
    if (l !== undefined) out.push(routeRow(route, l, plain, c.decisions));
  }
  return out;
}

const asLatency = (x: RateResult): RouteLatency => ({ requests: x.sent, p50: x.p50, p99: x.p99 });

function rateLines(r: RouterResults): string[] {
  const s = r.rate;
  const plainStep = s.result.get('plain');
  const plain = plainStep && asLatency(plainStep);
  const out = [
    `Fixed rate: ${s.rate}/s for ${s.seconds}s per route, open loop (Node generator, latency from the intended send time)`,
    formatLoad(s.load),
    `${HEADER}   achieved/s, errors${BY_BACKEND}`,
  ];
  for (const route of ROUTES) {
    const x = s.result.get(route);
    if (x === undefined) continue;
    const extra = `   ${Math.round(x.achieved)}, ${x.errors}`;
    out.push(routeRow(route, asLatency(x), plain, s.decisions, extra));
  }
  return out;
}

/** met below the goal; "not shown" when the p99 bucket is the one ending at the goal; else missed. */
function verdictOf(bounds: readonly (number | undefined)[]): string {
  if (bounds.some((b) => b === undefined)) return 'no decisions recorded';
  const worst = Math.max(...(bounds as number[]));
  if (worst < DECISION_GOAL_SECONDS) return 'met';
  if (worst === DECISION_GOAL_SECONDS) return 'not shown (p99 in the bucket ending at 100 µs)';
  return 'missed';
}

function verdictLine(r: RouterResults): string {
  const parts = DECIDING.map((route) => {
    const at = (samples: readonly Sample[]) => quantileBound(decisionBuckets(samples, route), 0.99);
    const bounds = [at(r.concurrencyOne.decisions), at(r.rate.decisions)];
    const where = `${formatBound(bounds[0])} at concurrency 1, ${formatBound(bounds[1])} at ${r.rate.rate}/s`;
    return `${route} ${verdictOf(bounds)} (p99 ${where})`;
  });
  return `verdict, decision p99 vs the goal < 0.1 ms: ${parts.join('; ')}`;
}

export function formatRouter(r: RouterResults): string {
  return [
    `(e) Router decision on the request path${r.quick ? ' (quick)' : ''}: one gateway, routes plain (weighted), ` +
      `router (quality-cost, target quality ${ROUTER_TARGET_QUALITY}, the bundled model), learning (the same ` +
      `with the learning router) and embeddings (a router on the simulator's /v1/embeddings: the call is in its ` +
      `end-to-end latency, not in its decision time), all over the same two simulator backends; ${r.prompts} labelled prompts ` +
      `(gateway/src/routing/domains/test.jsonl), the same stream to every route; end-to-end latency in ms, ` +
      `the decision's own time from beastmode_router_decision_seconds (bucket upper bounds)`,
    ...concurrencyOneLines(r),
    '',
    ...rateLines(r),
    '',
    verdictLine(r),
  ].join('\n');
}
