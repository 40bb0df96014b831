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

  reserve(req: ReserveRequest, nowMs: number): ReserveResult {
    this.maybeSweep(nowMs);
    // Plain loops: every admission on a limited route comes here (per replica, or in a pod's primary).
    const { rates, budgets, periodMs } = req;
    const newTats: number[] = [];
    let rate: { index: number; retryAfterMs: number } | undefined;
    for (let i = 0; i < rates.length; i++) {
      const c = rates[i]!;
      const step = gcraStep(this.tats.get(c.key), nowMs, periodMs, c.limit, c.cost);
      newTats.push(step.newTat);
      if (!step.conforms && rate === undefined) rate = { index: i, retryAfterMs: step.retryAfterMs };
    }
    const used: number[] = [];
    let failed: number[] | undefined;
    for (let i = 0; i < budgets.length; i++) {
      const b = budgets[i]!;
      const u = this.budgetUsed(b.key, nowMs);
      used.push(u);
      if (b.amountUsd > 0 && u + b.amountUsd > b.limitUsd) (failed ??= []).push(i);
    }
    if (rate !== undefined || failed !== undefined) {
      return { ok: false, ...(rate ? { rate } : {}), budgets: failed ?? [], budgetUsedUsd: used };
    }
    for (let i = 0; i < rates.length; i++) {
      const c = rates[i]!;
      if (c.cost > 0) this.tats.set(c.key, newTats[i]!);
    }
    for (let i = 0; i < budgets.length; i++) {
      const b = budgets[i]!;
      const total = used[i]! + b.amountUsd;
      used[i] = total;
      this.setBudget(b.key, total, b.expireAtMs);
    }
    return { ok: true, budgetUsedUsd: used };
  }

  adjust(req: AdjustRequest, nowMs: number): void {
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
      this.setBudget(b.key, used + b.deltaUsd, b.expireAtMs);
    }
  }

  /** Seeds a budget counter (the last value seen in Redis) before enforcing locally during an outage. */
  seedBudget(key: string, usedUsd: number, expireAtMs: number): void {
    this.setBudget(key, usedUsd, expireAtMs);
  }

  /** Sets a counter in place when it exists (a counter moves twice a request: reserve and settle). */
  private setBudget(key: string, usedUsd: number, expireAtMs: number): void {
    const b = this.budgets.get(key);
    if (b === undefined) this.budgets.set(key, { usedUsd, expireAtMs });
    else {
      b.usedUsd = usedUsd;
      b.expireAtMs = expireAtMs;
    }
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
