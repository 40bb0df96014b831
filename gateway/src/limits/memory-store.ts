// Per-replica limit store. Node runs it on one thread, so a synchronous check-then-charge is atomic.
import {
  gcraStep,
  type AdjustRequest,
  type LimitStore,
  type ReserveRequest,
  type ReserveResult,
} from './store.js';

const SWEEP_EVERY = 1024;

export class MemoryLimitStore implements LimitStore {
  private readonly tats = new Map<string, number>();
  private readonly budgets = new Map<string, { usedUsd: number; expireAtMs: number }>();
  private ops = 0;

  reserve(req: ReserveRequest, nowMs: number): Promise<ReserveResult> {
    return Promise.resolve(this.reserveSync(req, nowMs));
  }

  reserveSync(req: ReserveRequest, nowMs: number): ReserveResult {
    this.maybeSweep(nowMs);
    const newTats: number[] = [];
    let rate: { index: number; retryAfterMs: number } | undefined;
    for (const [i, c] of req.rates.entries()) {
      const step = gcraStep(this.tats.get(c.key), nowMs, req.periodMs, c.limit, c.cost);
      newTats.push(step.newTat);
      if (!step.conforms && rate === undefined) rate = { index: i, retryAfterMs: step.retryAfterMs };
    }
    const used = req.budgets.map((b) => this.budgetUsed(b.key, nowMs));
    const failed = req.budgets.flatMap((b, i) =>
      b.amountUsd > 0 && (used[i] ?? 0) + b.amountUsd > b.limitUsd ? [i] : [],
    );
    if (rate !== undefined || failed.length > 0) {
      return { ok: false, ...(rate ? { rate } : {}), budgets: failed, budgetUsedUsd: used };
    }
    req.rates.forEach((c, i) => {
      if (c.cost > 0) this.tats.set(c.key, newTats[i] ?? nowMs);
    });
    req.budgets.forEach((b, i) => {
      this.budgets.set(b.key, { usedUsd: (used[i] ?? 0) + b.amountUsd, expireAtMs: b.expireAtMs });
    });
    return { ok: true, budgetUsedUsd: req.budgets.map((b, i) => (used[i] ?? 0) + b.amountUsd) };
  }

  adjust(req: AdjustRequest, nowMs: number): Promise<void> {
    for (const r of req.rates) {
      if (r.delta === 0) continue;
      const tat = this.tats.get(r.key);
      const base = r.delta > 0 ? Math.max(tat ?? nowMs, nowMs) : (tat ?? nowMs);
      const next = base + (r.delta * req.periodMs) / r.limit;
      if (next <= nowMs) this.tats.delete(r.key);
      else this.tats.set(r.key, next);
    }
    for (const b of req.budgets) {
      const used = this.budgetUsed(b.key, nowMs);
      this.budgets.set(b.key, { usedUsd: used + b.deltaUsd, expireAtMs: b.expireAtMs });
    }
    return Promise.resolve();
  }

  /** Seeds a budget counter (the last value seen in Redis) before enforcing locally during an outage. */
  seedBudget(key: string, usedUsd: number, expireAtMs: number): void {
    this.budgets.set(key, { usedUsd, expireAtMs });
  }

  budgetUsed(key: string, nowMs: number): number {
    const b = this.budgets.get(key);
    return b === undefined || b.expireAtMs <= nowMs ? 0 : b.usedUsd;
  }

  private maybeSweep(nowMs: number): void {
    if (++this.ops % SWEEP_EVERY !== 0) return;
    for (const [k, tat] of this.tats) if (tat <= nowMs) this.tats.delete(k);
    for (const [k, b] of this.budgets) if (b.expireAtMs <= nowMs) this.budgets.delete(k);
  }
}
