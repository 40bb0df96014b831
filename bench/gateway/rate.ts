// Fixed-rate probe of one target: tsx bench/gateway/rate.ts http://127.0.0.1:8080 500 1000 2000
import { Pool } from 'undici';
import { fixedRate, medianLatency } from '../lib/loadgen.js';
const [origin, ...rates] = process.argv.slice(2);
const t = {
  name: 'x',
  origin: origin!,
  path: '/v1/chat/completions',
  headers: { 'content-type': 'application/json' },
};
const pool = new Pool(t.origin, { connections: 128 });
await medianLatency(pool, t, 500);
for (const r of rates) {
  const res = await fixedRate(pool, t, Number(r), 3);
  console.log(JSON.stringify(res));
}
await pool.close();
