// What the policy layer costs, side by side: bench:scale runs the same fixed-rate steps against a gateway
// with each policy mode (off, on, full) and measures the gateway's CPU per served request at every step.
// CPU per request is the inverse of a core's capacity, and unlike "the largest passing rate" it does not
// move with a scheduler stall or a collection that lands in one 10 s step. This module turns those
// measurements into the comparison the summary prints. "bare" is the floor measured beside them: a bare
// node:http server forwarding through an undici Pool (bench/gateway/bare-proxy.ts), the least any Node proxy
// pays. Also the requests each mode is sent, one mode's or every mode's together (--together). Pure: the
// steps and targets are passed in.
import type { Target } from '../lib/loadgen.js';
import type { PolicyMode } from './fleet.js';

/** What one series of steps ran: the gateway in a policy mode, or the bare proxy. */
export type Compared = PolicyMode | 'bare';

/** One fixed-rate step of one policy mode, as measured. */
export interface MeasuredStep {
  rate: number;
  /** Requests served in the step (achieved rate × seconds). */
  served: number;
  /** CPU seconds every gateway process of the fleet used during the step. */
  gatewayCpuSeconds: number;
  pass: boolean;
}

/** The gateway's CPU per served request in µs; NaN when nothing was served. */
export function cpuMicrosPerRequest(s: MeasuredStep): number {
  return s.served > 0 ? (s.gatewayCpuSeconds * 1e6) / s.served : Number.NaN;
}

export interface PolicyCost {
  policy: Compared;
  /** Median CPU µs per request over the rates every compared mode ran. */
  cpuMicros: number;
  /** That median against the same for "off" (1.10 = 10% more CPU per request); undefined without "off". */
  vsOff: number | undefined;
  /** That median against the bare proxy's; undefined without "bare". */
  vsBare: number | undefined;
  /** Capacity per core implied by the CPU per request, requests/s. */
  perCore: number;
  /** The largest rate that passed, or undefined. */
  largestPassing: number | undefined;
}

/** The middle value; the mean of the middle two for an even count. */
export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/**
 * Each mode's CPU per request at the rates all modes ran (a mode that failed early stops its steps, so
 * only the common rates compare like with like), its ratio to "off" and its largest passing rate.
 */
export function comparePolicies(byPolicy: ReadonlyMap<Compared, readonly MeasuredStep[]>): {
  /** The rates every mode ran (and served something at). */
  rates: number[];
  costs: PolicyCost[];
} {
  const all = [...byPolicy.values()];
  const common = (all[0] ?? [])
    .map((s) => s.rate)
    .filter((rate) => all.every((steps) => steps.some((s) => s.rate === rate && s.served > 0)));
  const cost = new Map<Compared, number>();
  for (const [policy, steps] of byPolicy) {
    const at = steps.filter((s) => common.includes(s.rate)).map(cpuMicrosPerRequest);
    cost.set(policy, at.length > 0 ? median(at) : Number.NaN);
  }
  const off = cost.get('off');
  const bare = cost.get('bare');
  const costs = [...byPolicy].map(([policy, steps]) => {
    const cpuMicros = cost.get(policy) as number;
    return {
      policy,
      cpuMicros,
      vsOff: off === undefined ? undefined : cpuMicros / off,
      vsBare: bare === undefined ? undefined : cpuMicros / bare,
      perCore: 1e6 / cpuMicros,
      largestPassing: steps.filter((s) => s.pass).at(-1)?.rate,
    };
  });
  return { rates: common, costs };
}

/** The summary lines, one per mode: "policy on    312 µs CPU/request (≈ 3,205/s a core; …)  1.03× off …". */
export function formatPolicyCosts(costs: readonly PolicyCost[], rates: readonly number[]): string[] {
  const over = rates.length === 0 ? 'no common step' : `median over ${rates.join(', ')}/s`;
  return costs.map((c) => {
    const ratio =
      (c.vsOff === undefined || c.policy === 'off' || c.policy === 'bare'
        ? ''
        : `  ${c.vsOff.toFixed(2)}× off`) +
      (c.vsBare === undefined || c.policy === 'bare' ? '' : `  ${c.vsBare.toFixed(2)}× bare`);
    const passing = c.largestPassing === undefined ? 'none' : `${c.largestPassing}/s`;
    const perCore = Number.isFinite(c.perCore) ? Math.round(c.perCore).toLocaleString('en-US') : '?';
    return (
      `  ${c.policy === 'bare' ? 'bare proxy  ' : `policy ${c.policy.padEnd(5)}`} ${c.cpuMicros.toFixed(0).padStart(5)} µs CPU/request ` +
      `(≈ ${perCore}/s a core; ${over})${ratio}  largest passing ${passing}`
    );
  });
}

/** Distinct requests (every one a cache miss) for policy "full"; one request otherwise. */
export function requests(policy: Compared, base: Target[], step: string, count: number): Target[] {
  if (policy !== 'full') return base;
  return Array.from({ length: count }, (_, i) => ({
    ...(base[i % base.length] as Target),
    body: JSON.stringify({
      model: 'chat',
      messages: [{ role: 'user', content: `Say hello to request ${i} of ${step}.` }],
      max_tokens: 16,
      temperature: 0,
    }),
  }));
}

/**
 * The targets of a step run together: for each request index, one request to every mode's fleet in turn
 * (full's distinct), so vegeta offers each mode the same rate, interleaved.
 */
export function together(
  modes: readonly { policy: Compared; targets: Target[] }[],
  step: string,
  count: number,
): Target[] {
  const perMode = modes.map((m) => requests(m.policy, m.targets, step, count));
  const out: Target[] = [];
  for (let i = 0; i < count; i++) for (const list of perMode) out.push(list[i % list.length] as Target);
  return out;
}
