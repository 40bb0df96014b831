// The interface of a limit store: one atomic "check everything, then charge everything or nothing" for
// a request's rate-limit cells and budget cells, and a correction applied at settle. Implemented in
// memory (per replica), in Redis (shared, Lua), and by a wrapper that survives Redis outages.

/** One GCRA cell: `limit` units per `periodMs`; the request costs `cost` units (clamped to `limit`). */
export interface RateCell {
  key: string;
  limit: number;
  cost: number;
}

/** One budget counter for a calendar window: the request reserves `amountUsd` of `limitUsd`. */
export interface BudgetCell {
  key: string;
  limitUsd: number;
  amountUsd: number;
  /** When the counter may be dropped (window end plus slack for late settles), epoch ms. */
  expireAtMs: number;
}

export interface ReserveRequest {
  periodMs: number;
  rates: RateCell[];
  budgets: BudgetCell[];
}

/** Which store took a reservation (the Redis-backed store may fall back locally); a settle goes there. */
export type StoreRoute = 'redis' | 'local';

export type ReserveResult = ({ ok: true; budgetUsedUsd: number[] } | ReserveRefused) & { via?: StoreRoute };

export type ReserveRefused = {
  ok: false;
  /** Index into rates of the first cell that refused, with the wait until it would admit. */
  rate?: { index: number; retryAfterMs: number };
  /** Indices into budgets that cannot fit the amount. */
  budgets: number[];
  budgetUsedUsd: number[];
};

export interface AdjustRequest {
  periodMs: number;
  /** Units to add to (positive) or give back to (negative) each rate cell. */
  rates: { key: string; limit: number; delta: number }[];
  budgets: { key: string; deltaUsd: number; expireAtMs: number }[];
}

/** A store that answers at once (in memory) returns its answer itself: no promise on the request path. */
export interface LimitStore {
  reserve(req: ReserveRequest, nowMs: number): ReserveResult | Promise<ReserveResult>;
  adjust(req: AdjustRequest, nowMs: number, via?: StoreRoute): void | Promise<void>;
}

/**
 * GCRA (generic cell rate algorithm): each cell is one number, the theoretical arrival time (TAT). A
 * cost of c units moves the TAT by c·T (T = period/limit); the request conforms when the new TAT is at
 * most one period ahead of now. That is a token bucket of `limit` units refilled continuously, with an
 * exact retry-after, weighted costs, and refunds (move the TAT back) — all in O(1) state per subject.
 */
export function gcraStep(
  tat: number | undefined,
  nowMs: number,
  periodMs: number,
  limit: number,
  cost: number,
): { conforms: boolean; newTat: number; retryAfterMs: number } {
  const interval = periodMs / limit;
  const charged = Math.min(cost, limit);
  const newTat = Math.max(tat ?? nowMs, nowMs) + charged * interval;
  const excess = newTat - nowMs - periodMs;
  return { conforms: excess <= 0, newTat, retryAfterMs: Math.max(0, Math.ceil(excess)) };
}

/** The units a cost is charged as: a request larger than the whole limit is charged the whole limit. */
export function chargedUnits(cost: number, limit: number): number {
  return Math.min(cost, limit);
}
