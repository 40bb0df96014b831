// Interleaved closed-loop A/B of two or more targets (same path, same body), for quick comparisons on a
// noisy machine: tsx bench/gateway/ab.ts http://127.0.0.1:8080 http://127.0.0.1:8081 [rounds]
import { Pool } from 'undici';
import { closedLoop, medianLatency, type Target } from '../lib/loadgen.js';

const origins = process.argv.slice(2).filter((a) => a.startsWith('http'));
const rounds = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? '3');
const targets: Target[] = origins.map((o) => ({
  name: o,
  origin: o,
  path: '/v1/chat/completions',
  headers: { 'content-type': 'application/json' },
}));
const pools = targets.map((t) => new Pool(t.origin, { connections: 64 }));
for (const [i, t] of targets.entries()) await medianLatency(pools[i] as Pool, t, 300);
const rps = targets.map(() => [] as number[]);
for (let r = 0; r < rounds; r++) {
  for (const [i, t] of targets.entries())
    rps[i]?.push(Math.round((await closedLoop(pools[i] as Pool, t, 16, 2)).rps));
}
for (const [i, t] of targets.entries()) process.stdout.write(`${t.name}: ${rps[i]?.join(' ')} req/s\n`);
await Promise.all(pools.map((p) => p.close()));
