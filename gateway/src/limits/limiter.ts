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
  type ReserveResult,
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

/** One admission in progress: what each reservation it tries is made of. */
interface Admitting {
  base: string;
  caller: Caller;
  route: CompiledRoute;
  usage: Usage;
  rates: RateCell[];
  now: number;
}

/** A reservation's outcome: admitted, refused outright, or refused by budgets (which may fall back). */
type Reserved =
  | { kind: 'ok'; decision: AdmitDecision & { ok: true } }
  | { kind: 'rate' | 'refused'; decision: AdmitDecision & { ok: false } }
  | { kind: 'budget'; failed: Budget[] };

/** A store that is down under redis.failurePolicy closed refuses (503); any other error is a bug. */
function unavailable(err: unknown): Reserved {
  if (err instanceof StoreUnavailableError)
    return { kind: 'refused', decision: { ok: false, refusal: limiterUnavailable() } };
  throw err;
}

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

  /**
   * Charges the request's limits and reserves its worst case on its budgets, all or nothing. Synchronous on
   * a store that answers at once (in memory): no promise on the request path.
   */
  admit(caller: Caller, route: CompiledRoute, request: ChatRequest): AdmitDecision | Promise<AdmitDecision> {
    // Nothing to check or charge (the policy layer does not even call): the store is not asked, and the
    // estimates are computed only if read.
    if (!isLimited(route)) return { ok: true, ticket: this.lazyTicket(request, route) };
    const promptTokens = estimatePromptTokens(request);
    const outputTokens = maxOutputTokens(request, this.defaultMaxOutput);
    const base = `${this.options.prefix}:{${route.namespace}/${route.name}}`;
    const a: Admitting = {
      base,
      caller,
      route,
      usage: { input: promptTokens, output: outputTokens },
      rates: this.rateCells(base, caller, route, promptTokens + outputTokens),
      now: this.options.clock.now(),
    };
    const first = this.tryReserve(a, route.backends);
    return first instanceof Promise ? first.then((f) => this.afterFirst(a, f)) : this.afterFirst(a, first);
  }

  /** Budgets refused: fall back when every refusing budget says so, at the fallback backend's prices. */
  private afterFirst(a: Admitting, first: Reserved): AdmitDecision | Promise<AdmitDecision> {
    if (first.kind !== 'budget') return first.decision;
    const { route, now } = a;
    const fallbacks = new Set(
      first.failed.map((b) => (b.onExhausted === 'fallback' ? b.fallbackBackend : undefined)),
    );
    const [fallback] = [...fallbacks];
    const pinned = route.backends.filter((b) => b.name === fallback);
    if (fallbacks.size !== 1 || fallback === undefined || pinned.length === 0)
      return this.budgetRefusal(first.failed, route, now);
    const pinnedTo = (second: Reserved): AdmitDecision => {
      if (second.kind === 'budget') return this.budgetRefusal(second.failed, route, now);
      if (second.kind === 'ok') return { ...second.decision, pinnedBackend: fallback };
      return second.decision;
    };
    const second = this.tryReserve(a, pinned);
    return second instanceof Promise ? second.then(pinnedTo) : pinnedTo(second);
  }

  /**
   * Replaces the estimate and the reserved worst case by what the request actually used; returns the
   * actual cost, once the store took the correction when it is not in memory.
   */
  settle(ticket: LimitTicket, usage: Usage, pricing: Pricing): number | Promise<number> {
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
    const adjusted = this.store.adjust(
      { periodMs: RATE_PERIOD_MS, rates, budgets },
      this.options.clock.now(),
      c.via,
    );
    return adjusted instanceof Promise ? adjusted.then(() => actualUsd) : actualUsd;
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

  private tryReserve(a: Admitting, backends: readonly CompiledBackend[]): Reserved | Promise<Reserved> {
    const worst = costUsd(a.usage, worstPricing(backends));
    const cells = this.budgetCells(a.base, a.caller, a.route, worst, a.now);
    const req: ReserveRequest = { periodMs: RATE_PERIOD_MS, rates: a.rates, budgets: cells };
    let result;
    try {
      result = this.store.reserve(req, a.now);
    } catch (err) {
      return unavailable(err);
    }
    return result instanceof Promise
      ? result.then((r) => this.reserved(a, worst, cells, r), unavailable)
      : this.reserved(a, worst, cells, result);
  }

  /** What the store's answer to a reservation means for the request. */
  private reserved(a: Admitting, worst: number, cells: BudgetCell[], result: ReserveResult): Reserved {
    const { rates } = a;
    if (result.ok) {
      const tokenCells: LimitTicket['charged']['tokenCells'] = [];
      for (const r of rates) {
        if (r.key.includes(':tpm:'))
          tokenCells.push({ key: r.key, limit: r.limit, units: chargedUnits(r.cost, r.limit) });
      }
      // The cells themselves are the charge: the store reads them and keeps none.
      const ticket = this.ticket(a.usage.input, worst, tokenCells, cells, result.via);
      return { kind: 'ok', decision: { ok: true, ticket } };
    }
    if (result.rate !== undefined) {
      const cell = rates[result.rate.index];
      const what = cell?.key.includes(':tpm:') ? 'tokens per minute' : 'requests per minute';
      return { kind: 'rate', decision: { ok: false, refusal: rateLimited(what, result.rate.retryAfterMs) } };
    }
    // The budgets behind each refusing counter (the refusal path only: the keys are built again).
    const refusing = new Set(result.budgets.map((i) => cells[i]?.key));
    const failed = a.route.budgets.filter((b) =>
      refusing.has(this.budgetKey(a.base, b, a.caller, a.route, a.now)),
    );
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
