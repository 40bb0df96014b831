// Calendar windows (UTC) of budgets: an id that names the counter, and when the window ends.

export interface BudgetWindow {
  readonly id: string;
  readonly startMs: number;
  readonly endMs: number;
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** The last window computed of each kind: every admission asks, and the answer changes once a day. */
const last: { day?: BudgetWindow; month?: BudgetWindow } = {};

export function budgetWindow(kind: 'day' | 'month', nowMs: number): BudgetWindow {
  const held = last[kind];
  if (held !== undefined && held.startMs <= nowMs && nowMs < held.endMs) return held;
  return (last[kind] = computeWindow(kind, nowMs));
}

function computeWindow(kind: 'day' | 'month', nowMs: number): BudgetWindow {
  const d = new Date(nowMs);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  if (kind === 'day') {
    const startMs = Date.UTC(y, m, d.getUTCDate());
    return {
      id: `d${y}-${pad(m + 1)}-${pad(d.getUTCDate())}`,
      startMs,
      endMs: Date.UTC(y, m, d.getUTCDate() + 1),
    };
  }
  return { id: `m${y}-${pad(m + 1)}`, startMs: Date.UTC(y, m, 1), endMs: Date.UTC(y, m + 1, 1) };
}

/** Counters outlive their window by a day: settles of requests in flight at midnight still land. */
export const WINDOW_SLACK_MS = 86_400_000;
