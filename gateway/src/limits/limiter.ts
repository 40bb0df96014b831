// Admission and settlement of rate limits and budgets for one request.
//
// admit: estimates the request's tokens (prompt + max output) and worst-case cost (over the route's
// backends, at the highest input and output prices), then charges every rate-limit cell and reserves the
// worst case on every budget in one atomic store operation — all or nothing. A budget that cannot fit
// the worst case refuses (429 budget_exceeded), or with onExhausted: fallback, the admission is retried
// at the fallback backend's prices and, if that fits, pins the request to that backend.
// settle: replaces the token estimate and the reserved worst case by the actual usage and cost.
//
// Why overspend is bounded: a reservation is only made when used + worst ≤ budget, atomically, and the
// actual cost of a request is at most its worst case unless the provider exceeds max_tokens or the
// tokenizer under-counts; so the sum of actual costs stays ≤ budget + the largest such excess, which is
// below one request's worst case.
import type { CompiledBackend, CompiledRoute } from '../../../api/v1alpha1/gatewayconfig.js';
import { costUsd, estimatePromptTokens, maxOutputTokens, type Pricing } from '../accounting/tokens.js';
import type { Caller, ChatRequest, Clock, Usage } from '../policy/types.js';
import { budgetExceeded, limiterUnavailable, rateLimited, type GatewayError } from '../server/errors.js';
import { budgetWindow, WINDOW_SLACK_MS } from './windows.js';
import {
  chargedUnits,
  type BudgetCell,
  type LimitStore,
  type RateCell,
  type ReserveRequest,
  type StoreRoute,
} from './store.js';
import { StoreUnavailableError } from './resilient-store.js';

export const RATE_PERIOD_MS = 60_000;

export interface LimiterOptions {
  clock: Clock;
  /** Key prefix: isolates gateways sharing one Redis. */
  prefix: string;
  /** Output tokens assumed when a request sets no max_tokens. Default 4096. */
  defaultMaxOutputTokens?: number;
}

/** What admit charged, so settle can correct exactly that. Opaque to the pipeline. */
export interface LimitTicket {
  readonly promptTokens: number;
  readonly worstCaseUsd: number;
  readonly charged: {
    tokenCells: { key: string; limit: number; units: number }[];
    budgets: { key: string; amountUsd: number; expireAtMs: number }[];
    via?: StoreRoute;
  };
  settled: boolean;
}

export type AdmitDecision =
  { ok: true; ticket: LimitTicket; pinnedBackend?: string } | { ok: false; refusal: GatewayError };

type Budget = CompiledRoute['budgets'][number];
type Subject = Budget['per'];

function subjectId(per: Subject, caller: Caller, route: CompiledRoute): string {
  switch (per) {
    case 'api-key':
      return `k:${caller.key}`;
    case 'team':
      // A key without a team is its own team: it never shares a team counter with other keys.
      return caller.team !== undefined ? `t:${caller.team}` : `k:${caller.key}`;
    case 'route':
      return `r:${route.namespace}/${route.name}`;
    default: {
      const never: never = per;
      throw new Error(`unknown limit subject ${String(never)}`);
    }
  }
}

/** Highest input and output prices among backends (a request may fall back to any of them). */
export function worstPricing(backends: readonly CompiledBackend[]): Pricing {
  return {
    inputPerMillionTokens: Math.max(0, ...backends.map((b) => b.pricing.inputPerMillionTokens)),
    outputPerMillionTokens: Math.max(0, ...backends.map((b) => b.pricing.outputPerMillionTokens)),
  };
}

/** Whether a route has anything for the limiter to check; a route without is never sent to it. */
export const isLimited = (route: CompiledRoute): boolean =>
  route.rateLimits.length > 0 || route.budgets.length > 0;

export class Limiter {
  private readonly defaultMaxOutput: number;

  constructor(
    private readonly store: LimitStore,
    private readonly options: LimiterOptions,
  ) {
    this.defaultMaxOutput = options.defaultMaxOutputTokens ?? 4096;
  }

  async admit(caller: Caller, route: CompiledRoute, request: ChatRequest): Promise<AdmitDecision> {
    // Nothing to check or charge (the policy layer does not even call): the store is not asked, and the
    // estimates are computed only if read.
    if (!isLimited(route)) return { ok: true, ticket: this.lazyTicket(request, route) };
    const promptTokens = estimatePromptTokens(request);
    const outputTokens = maxOutputTokens(request, this.defaultMaxOutput);
    const usage: Usage = { input: promptTokens, output: outputTokens };
    const now = this.options.clock.now();
    const base = `${this.options.prefix}:{${route.namespace}/${route.name}}`;
    const rates = this.rateCells(base, caller, route, promptTokens + outputTokens);
    const first = await this.tryReserve(base, caller, route, usage, rates, route.backends, now);
    if (first.kind !== 'budget') return first.decision;
    // Budgets refused: fall back when every refusing budget says so, at the fallback backend's prices.
    const fallbacks = new Set(
      first.failed.map((b) => (b.onExhausted === 'fallback' ? b.fallbackBackend : undefined)),
    );
    const [fallback] = [...fallbacks];
    const pinned = route.backends.filter((b) => b.name === fallback);
    if (fallbacks.size === 1 && fallback !== undefined && pinned.length > 0) {
      const second = await this.tryReserve(base, caller, route, usage, rates, pinned, now);
      if (second.kind === 'budget') return this.budgetRefusal(second.failed, route, now);
      if (second.kind === 'ok') return { ...second.decision, pinnedBackend: fallback };
      return second.decision;
    }
    return this.budgetRefusal(first.failed, route, now);
  }

  /** Replaces the estimate and the reserved worst case by what the request actually used. */
  async settle(ticket: LimitTicket, usage: Usage, pricing: Pricing): Promise<number> {
    const actualUsd = costUsd(usage, pricing);
    if (ticket.settled) return actualUsd;
    ticket.settled = true;
    const c = ticket.charged;
    if (c.tokenCells.length === 0 && c.budgets.length === 0) return actualUsd;
    const tokens = usage.input + usage.output;
    await this.store.adjust(
      {
        periodMs: RATE_PERIOD_MS,
        rates: c.tokenCells.map((t) => ({ key: t.key, limit: t.limit, delta: tokens - t.units })),
        budgets: c.budgets.map((b) => ({
          key: b.key,
          deltaUsd: actualUsd - b.amountUsd,
          expireAtMs: b.expireAtMs,
        })),
      },
      this.options.clock.now(),
      c.via,
    );
    return actualUsd;
  }

  private rateCells(base: string, caller: Caller, route: CompiledRoute, tokens: number): RateCell[] {
    // Two limits on one subject share a counter: keep the strictest.
    const byKey = new Map<string, RateCell>();
    const add = (key: string, limit: number, cost: number): void => {
      const prev = byKey.get(key);
      if (prev === undefined || limit < prev.limit) byKey.set(key, { key, limit, cost });
    };
    for (const r of route.rateLimits) {
      const subject = subjectId(r.per, caller, route);
      if (r.requestsPerMinute !== undefined) add(`${base}:rpm:${subject}`, r.requestsPerMinute, 1);
      if (r.tokensPerMinute !== undefined) add(`${base}:tpm:${subject}`, r.tokensPerMinute, tokens);
    }
    return [...byKey.values()];
  }

  private budgetCells(
    base: string,
    caller: Caller,
    route: CompiledRoute,
    worstUsd: number,
    now: number,
  ): { cells: BudgetCell[]; sources: Budget[][] } {
    const byKey = new Map<string, { cell: BudgetCell; sources: Budget[] }>();
    for (const b of route.budgets) {
      const w = budgetWindow(b.window, now);
      const key = `${base}:usd:${w.id}:${subjectId(b.per, caller, route)}`;
      const prev = byKey.get(key);
      if (prev === undefined) {
        const cell = { key, limitUsd: b.usd, amountUsd: worstUsd, expireAtMs: w.endMs + WINDOW_SLACK_MS };
        byKey.set(key, { cell, sources: [b] });
      } else {
        prev.cell.limitUsd = Math.min(prev.cell.limitUsd, b.usd);
        prev.sources.push(b);
      }
    }
    const entries = [...byKey.values()];
    return { cells: entries.map((e) => e.cell), sources: entries.map((e) => e.sources) };
  }

  private async tryReserve(
    base: string,
    caller: Caller,
    route: CompiledRoute,
    usage: Usage,
    rates: RateCell[],
    backends: readonly CompiledBackend[],
    now: number,
  ): Promise<
    | { kind: 'ok'; decision: AdmitDecision & { ok: true } }
    | { kind: 'rate' | 'refused'; decision: AdmitDecision & { ok: false } }
    | { kind: 'budget'; failed: Budget[] }
  > {
    const worst = costUsd(usage, worstPricing(backends));
    const { cells, sources } = this.budgetCells(base, caller, route, worst, now);
    const req: ReserveRequest = { periodMs: RATE_PERIOD_MS, rates, budgets: cells };
    let result;
    try {
      result = await this.store.reserve(req, now);
    } catch (err) {
      if (err instanceof StoreUnavailableError)
        return { kind: 'refused', decision: { ok: false, refusal: limiterUnavailable() } };
      throw err;
    }
    if (result.ok) {
      const tokenCells = rates
        .filter((r) => r.key.includes(':tpm:'))
        .map((r) => ({ key: r.key, limit: r.limit, units: chargedUnits(r.cost, r.limit) }));
      const budgets = cells.map((c) => ({ key: c.key, amountUsd: c.amountUsd, expireAtMs: c.expireAtMs }));
      return {
        kind: 'ok',
        decision: {
          ok: true,
          ticket: this.ticket(usage.input, worst, tokenCells, budgets, result.via),
        },
      };
    }
    if (result.rate !== undefined) {
      const cell = rates[result.rate.index];
      const what = cell?.key.includes(':tpm:') ? 'tokens per minute' : 'requests per minute';
      return { kind: 'rate', decision: { ok: false, refusal: rateLimited(what, result.rate.retryAfterMs) } };
    }
    return { kind: 'budget', failed: result.budgets.flatMap((i) => sources[i] ?? []) };
  }

  private budgetRefusal(failed: Budget[], route: CompiledRoute, now: number): AdmitDecision {
    const b = failed[0];
    const window = budgetWindow(b?.window ?? 'day', now);
    const what = b
      ? `${b.per} on route ${route.namespace}/${route.name} (${b.usd} USD per ${b.window})`
      : 'route';
    return { ok: false, refusal: budgetExceeded(what, window.endMs - now) };
  }

  /** A ticket that charged nothing; its estimates are computed on first read. */
  private lazyTicket(request: ChatRequest, route: CompiledRoute): LimitTicket {
    let promptTokens: number | undefined;
    let worstCaseUsd: number | undefined;
    const defaultMax = this.defaultMaxOutput;
    return {
      get promptTokens() {
        return (promptTokens ??= estimatePromptTokens(request));
      },
      get worstCaseUsd() {
        const usage = { input: this.promptTokens, output: maxOutputTokens(request, defaultMax) };
        return (worstCaseUsd ??= costUsd(usage, worstPricing(route.backends)));
      },
      charged: { tokenCells: [], budgets: [] },
      settled: false,
    };
  }

  private ticket(
    promptTokens: number,
    worstCaseUsd: number,
    tokenCells: LimitTicket['charged']['tokenCells'],
    budgets: LimitTicket['charged']['budgets'],
    via: StoreRoute | undefined,
  ): LimitTicket {
    return {
      promptTokens,
      worstCaseUsd,
      charged: { tokenCells, budgets, ...(via ? { via } : {}) },
      settled: false,
    };
  }
}
