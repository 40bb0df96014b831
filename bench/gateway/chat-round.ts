// One round of load on a gateway for the in-process benchmarks (experiment, shadow, tracing): `n` small chat
// completions, `concurrency` at a time, each timed; with the wall time of the round and the CPU time this
// process spent on it (client, gateway and simulator together) per request. Also the figures their reports
// print.
import os from 'node:os';
import type { Pool } from 'undici';

export interface ChatRound {
  /** Latency of each request, ms. */
  times: number[];
  wallMs: number;
  cpuUsPerRequest: number;
}

/** A short chat completion for `model`; `user` when the request should carry one. */
export const chatBody = (model: string, user?: string): string =>
  JSON.stringify({
    model,
    ...(user !== undefined ? { user } : {}),
    messages: [{ role: 'user', content: 'hi' }],
    max_tokens: 8,
  });

/** Sends `n` requests, `concurrency` at a time, request `i` with `body(i)`; throws on any status but 200. */
export async function chatRound(
  pool: Pool,
  n: number,
  concurrency: number,
  body: (i: number) => string,
): Promise<ChatRound> {
  const times: number[] = [];
  let next = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const t = performance.now();
      const r = await pool.request({
        path: '/v1/chat/completions',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: body(i),
      });
      await r.body.text();
      if (r.statusCode !== 200) throw new Error(`status ${r.statusCode}`);
      times.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const used = process.cpuUsage(cpu);
  return { times, wallMs: performance.now() - started, cpuUsPerRequest: (used.user + used.system) / n };
}

export const median = (xs: readonly number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/** A difference with its sign, `+` included. */
export const signed = (x: number, digits = 0): string => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;

/** The machine's 1, 5 and 15 minute load averages. */
export const loadAverages = (): string =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
