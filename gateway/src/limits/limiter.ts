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
  type AdjustRequest,
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

/** worstPricing of each backend list seen: a compiled route's lists never change, and every admission asks. */
const worstOf = new WeakMap<readonly CompiledBackend[], Pricing>();

/** Highest input and output prices among backends (a request may fall back to any of them). */
export function worstPricing(backends: readonly CompiledBackend[]): Pricing {
  let worst = worstOf.get(backends);
  if (worst === undefined) {
    worst = { inputPerMillionTokens: 0, outputPerMillionTokens: 0 };
    for (const b of backends) {
      worst.inputPerMillionTokens = Math.max(worst.inputPerMillionTokens, b.pricing.inputPerMillionTokens);
      worst.outputPerMillionTokens = Math.max(worst.outputPerMillionTokens, b.pricing.outputPerMillionTokens);
    }
    worstOf.set(backends, worst);
  }
  return worst;
}

/** Adds a rate cell, or keeps the stricter limit when two limits on one subject share its counter. */
function keepStrictest(cells: RateCell[], key: string, limit: number, cost: number): void {
  for (const c of cells) {
    if (c.key !== key) continue;
    if (limit < c.limit) {
      c.limit = limit;
      c.cost = cost;
    }
    return;
  }
  cells.push({ key, limit, cost });
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
    const rates: AdjustRequest['rates'] = [];
    for (const t of c.tokenCells) rates.push({ key: t.key, limit: t.limit, delta: tokens - t.units });
    const budgets: AdjustRequest['budgets'] = [];
    for (const b of c.budgets)
      budgets.push({ key: b.key, deltaUsd: actualUsd - b.amountUsd, expireAtMs: b.expireAtMs });
    await this.store.adjust({ periodMs: RATE_PERIOD_MS, rates, budgets }, this.options.clock.now(), c.via);
    return actualUsd;
  }

  // The cells below are built with plain loops and arrays (a route has a few limits): every admission on a
  // limited route builds them, and Maps, closures and spreads were a third of what it allocated.
  private rateCells(base: string, caller: Caller, route: CompiledRoute, tokens: number): RateCell[] {
    const cells: RateCell[] = [];
    for (const r of route.rateLimits) {
      const subject = subjectId(r.per, caller, route);
      if (r.requestsPerMinute !== undefined)
        keepStrictest(cells, `${base}:rpm:${subject}`, r.requestsPerMinute, 1);
      if (r.tokensPerMinute !== undefined)
        keepStrictest(cells, `${base}:tpm:${subject}`, r.tokensPerMinute, tokens);
    }
    return cells;
  }

  /** One cell per budget counter: budgets on the same counter share it at the lowest limit. */
  private budgetCells(
    base: string,
    caller: Caller,
    route: CompiledRoute,
    worstUsd: number,
    now: number,
  ): BudgetCell[] {
    const cells: BudgetCell[] = [];
    outer: for (const b of route.budgets) {
      const key = this.budgetKey(base, b, caller, route, now);
      for (const c of cells) {
        if (c.key !== key) continue;
        c.limitUsd = Math.min(c.limitUsd, b.usd);
        continue outer;
      }
      const expireAtMs = budgetWindow(b.window, now).endMs + WINDOW_SLACK_MS;
      cells.push({ key, limitUsd: b.usd, amountUsd: worstUsd, expireAtMs });
    }
    return cells;
  }

  private budgetKey(base: string, b: Budget, caller: Caller, route: CompiledRoute, now: number): string {
    return `${base}:usd:${budgetWindow(b.window, now).id}:${subjectId(b.per, caller, route)}`;
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
    const cells = this.budgetCells(base, caller, route, worst, now);
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
      const tokenCells: LimitTicket['charged']['tokenCells'] = [];
      for (const r of rates) {
        if (r.key.includes(':tpm:'))
          tokenCells.push({ key: r.key, limit: r.limit, units: chargedUnits(r.cost, r.limit) });
      }
      // The cells themselves are the charge: the store reads them and keeps none.
      const ticket = this.ticket(usage.input, worst, tokenCells, cells, result.via);
      return { kind: 'ok', decision: { ok: true, ticket } };
    }
    if (result.rate !== undefined) {
      const cell = rates[result.rate.index];
      const what = cell?.key.includes(':tpm:') ? 'tokens per minute' : 'requests per minute';
      return { kind: 'rate', decision: { ok: false, refusal: rateLimited(what, result.rate.retryAfterMs) } };
    }
    // The budgets behind each refusing counter (the refusal path only: the keys are built again).
    const refusing = new Set(result.budgets.map((i) => cells[i]?.key));
    const failed = route.budgets.filter((b) => refusing.has(this.budgetKey(base, b, caller, route, now)));
    return { kind: 'budget', failed };
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
      charged: via === undefined ? { tokenCells, budgets } : { tokenCells, budgets, via },
      settled: false,
    };
  }
}
