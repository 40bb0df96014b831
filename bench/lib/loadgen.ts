// A small open-loop (fixed-rate) load generator on undici: requests are sent on schedule whether or not
// earlier ones have answered, and latency is measured from the scheduled time, so a stalling target
// cannot hide its queueing (no coordinated omission).
import { Pool } from 'undici';

export interface Target {
  name: string;
  origin: string;
  path: string;
  headers: Record<string, string>;
  /** The request body; default BODY. */
  body?: string;
}

export const BODY = JSON.stringify({
  model: 'chat',
  messages: [{ role: 'user', content: 'Say hello to the benchmark.' }],
  max_tokens: 16,
});

export interface RateResult {
  rate: number;
  sent: number;
  errors: number;
  p50: number;
  p99: number;
  achieved: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function once(pool: Pool, t: Target): Promise<boolean> {
  try {
    const r = await pool.request({ path: t.path, method: 'POST', headers: t.headers, body: t.body ?? BODY });
    await r.body.text();
    return r.statusCode === 200;
  } catch {
    return false;
  }
}

/** Sequential requests (concurrency 1); returns the median latency in ms. */
export async function medianLatency(pool: Pool, t: Target, n: number): Promise<number> {
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    if (!(await once(pool, t))) throw new Error(`${t.name}: request failed`);
    lat.push(performance.now() - s);
  }
  lat.sort((a, b) => a - b);
  return percentile(lat, 50);
}

/** Runs `rate` requests/s for `seconds`; latencies from the intended send time. */
export async function fixedRate(pool: Pool, t: Target, rate: number, seconds: number): Promise<RateResult> {
  const total = Math.round(rate * seconds);
  const lat: number[] = [];
  let errors = 0;
  const pending: Promise<void>[] = [];
  const start = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - start) / 1000) * rate) + 1);
      while (sent < due) {
        const intended = start + (sent * 1000) / rate;
        sent++;
        pending.push(
          once(pool, t).then((ok) => {
            if (ok) lat.push(performance.now() - intended);
            else errors++;
          }),
        );
      }
      if (sent >= total) resolve();
      else setImmediate(tick);
    };
    tick();
  });
  await Promise.all(pending);
  const elapsed = (performance.now() - start) / 1000;
  lat.sort((a, b) => a - b);
  return { rate, sent, errors, p50: percentile(lat, 50), p99: percentile(lat, 99), achieved: sent / elapsed };
}

/** Closed loop: `concurrency` workers sending back to back for `seconds`; returns requests/s and errors. */
export async function closedLoop(
  pool: Pool,
  t: Target,
  concurrency: number,
  seconds: number,
): Promise<{ rps: number; errors: number }> {
  const end = performance.now() + seconds * 1000;
  let done = 0;
  let errors = 0;
  const worker = async () => {
    while (performance.now() < end) {
      if (await once(pool, t)) done++;
      else errors++;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { rps: done / ((performance.now() - start) / 1000), errors };
}
