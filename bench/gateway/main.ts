// Gateway benchmark: direct-to-upstream (baseline), nginx proxy_pass, @portkey-ai/gateway and ours (on
// bare node:http, and through express for the decision recorded in gateway/README.md), side by side:
// (a) added latency at concurrency 1 (median of per-round medians, rounds interleaved across targets);
// (b) the highest fixed request rate with p99 < 10 ms and zero errors. Each server runs in its own
// process; ours runs with --cpu-prof and the profile is summarised at the end.
// (c) the exact-cache hit path: hits/s at fixed rates with p99, in memory and in Redis side by side.
// The fixed-rate steps of (b) and (c) are driven by vegeta (Go; see vegeta.ts) when Go or a cached build is
// there, else by the Node generator of loadgen.ts; the report names the generator and the CPU pinning.
// Usage: npm run bench:gateway [-- --quick] [-- --only cache] [-- --loadgen node|vegeta]
//        [-- --pin none|loadgen|split]
//   --pin loadgen: vegeta on the last core (taskset); split: vegeta on the last core and every server on
//   the others; none: no pinning. Default: loadgen when taskset is there and there are at least 2 cores
//   (measured on 2 cores: split leaves the gateway one core, and its p99 and capacity were worse).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { Pool } from 'undici';
import { compiledRoute, gatewayConfig } from '../../testkit/gateway-config.js';
import { startRedis } from '../../testkit/redis.js';
import { closedLoop, fixedRate, medianLatency, type RateResult, type Target } from './loadgen.js';
import { ensureVegeta, VEGETA_VERSION, vegetaRate, type Vegeta } from './vegeta.js';

const quick = process.argv.includes('--quick');
function option<T extends string>(name: string, allowed: readonly T[]): T | undefined {
  const at = process.argv.indexOf(name);
  if (at < 0) return undefined;
  const v = process.argv[at + 1] as T;
  if (!allowed.includes(v)) {
    process.stderr.write(`${name} takes ${allowed.join(' | ')} (got ${v})\n`);
    process.exit(2);
  }
  return v;
}
const only = option('--only', ['cache'] as const);
const loadgenChoice = option('--loadgen', ['node', 'vegeta'] as const);
const hasTaskset = spawnSync('taskset', ['-V']).error === undefined;
const NCPU = cpus().length;
const pin =
  option('--pin', ['none', 'loadgen', 'split'] as const) ?? (hasTaskset && NCPU >= 2 ? 'loadgen' : 'none');
if (pin !== 'none' && !hasTaskset) {
  process.stderr.write('--pin needs taskset (util-linux)\n');
  process.exit(2);
}
/** With --pin split: the servers' cores (all but the last) and the generator's (the last). */
const SERVER_CPUS = NCPU > 2 ? `0-${NCPU - 2}` : '0';
const LOADGEN_CPU = String(NCPU - 1);
const ROOT = path.resolve(import.meta.dirname, '../..');
const NODE = process.execPath;
const tmp = mkdtempSync(path.join(tmpdir(), 'bench-gateway-'));
let vegeta: Vegeta | undefined;

/** Picks the fixed-rate generator: vegeta unless --loadgen node or Go is missing. */
async function setUpGenerator(): Promise<void> {
  if (loadgenChoice === 'node') return;
  const bin = await ensureVegeta((l) => process.stderr.write(`${l}\n`));
  if (bin === undefined) {
    if (loadgenChoice === 'vegeta')
      throw new Error('--loadgen vegeta: Go is not installed and vegeta is not cached');
    process.stderr.write('Go not found: the fixed-rate steps use the Node load generator\n');
    return;
  }
  vegeta = { bin, dir: path.join(tmp, 'vegeta'), cpus: pin === 'none' ? undefined : LOADGEN_CPU };
}

/** How the fixed-rate numbers were measured, for the report. */
function generatorLine(): string {
  const servers =
    pin === 'split'
      ? `every server (upstream simulator, proxies, gateways, Redis) pinned to CPU ${SERVER_CPUS} with taskset`
      : 'servers unpinned';
  if (vegeta === undefined) {
    return `fixed-rate generator: Node (undici, loadgen.ts) in the benchmark process, unpinned, latency from the intended send time; ${servers}`;
  }
  return (
    `fixed-rate generator: vegeta ${VEGETA_VERSION} (Go, GOMAXPROCS = its CPUs), ` +
    `${vegeta.cpus !== undefined ? `pinned to CPU ${vegeta.cpus} with taskset` : 'unpinned'}, 128 connections, ` +
    `latency from the actual send; ${servers}; c=1 latency and closed loop: Node (undici), unpinned`
  );
}

/** One fixed-rate step with the chosen generator. */
function fixed(pool: Pool, t: Target, rate: number, seconds: number): Promise<RateResult> {
  return vegeta !== undefined ? vegetaRate(vegeta, t, rate, seconds) : fixedRate(pool, t, rate, seconds);
}
const children: ChildProcess[] = [];
const PORTS = {
  sim: 19301,
  nginx: 19302,
  portkey: 19303,
  ours: 19304,
  express: 19305,
  bare: 19306,
  nopolicy: 19307,
  cacheMemory: 19308,
  cacheRedis: 19309,
};

function start(name: string, cmd0: string, args0: string[], env: Record<string, string> = {}): ChildProcess {
  // taskset execs the command: the child's pid is the server's own.
  const [cmd, args] = pin === 'split' ? ['taskset', ['-c', SERVER_CPUS, cmd0, ...args0]] : [cmd0, args0];
  const c = spawn(cmd, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  c.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
  c.on('error', (e) => process.stderr.write(`${name} failed to start: ${e.message}\n`));
  c.on('exit', (code) => {
    if (code !== 0 && code !== null) process.stderr.write(`${name} exited ${code}: ${err}\n`);
  });
  children.push(c);
  return c;
}

async function waitFor(url: string, init: RequestInit = {}): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(url, init);
      await r.text();
      if (r.status < 500) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

function stop(c: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (c.exitCode !== null) return resolve();
    c.once('exit', () => resolve());
    c.kill('SIGTERM');
    setTimeout(() => c.kill('SIGKILL'), 5000).unref();
  });
}

const upstream = `http://127.0.0.1:${PORTS.sim}`;
const body = { 'content-type': 'application/json' };
// nginx comes from Debian's nginx-light (apt-get install -y nginx-light); without it, its column is skipped.
const hasNginx = spawnSync('nginx', ['-v']).error === undefined;
const allTargets: Target[] = [
  { name: 'direct', origin: upstream, path: '/v1/chat/completions', headers: body },
  {
    name: 'bare-node-proxy',
    origin: `http://127.0.0.1:${PORTS.bare}`,
    path: '/v1/chat/completions',
    headers: body,
  },
  { name: 'nginx', origin: `http://127.0.0.1:${PORTS.nginx}`, path: '/v1/chat/completions', headers: body },
  {
    name: 'portkey',
    origin: `http://127.0.0.1:${PORTS.portkey}`,
    path: '/v1/chat/completions',
    headers: {
      ...body,
      authorization: 'Bearer bench',
      'x-portkey-provider': 'openai',
      'x-portkey-custom-host': `${upstream}/v1`,
    },
  },
  {
    name: 'beastmode',
    origin: `http://127.0.0.1:${PORTS.ours}`,
    path: '/v1/chat/completions',
    headers: body,
  },
  {
    name: 'beastmode-no-policy',
    origin: `http://127.0.0.1:${PORTS.nopolicy}`,
    path: '/v1/chat/completions',
    headers: body,
  },
  {
    name: 'beastmode-express',
    origin: `http://127.0.0.1:${PORTS.express}`,
    path: '/v1/chat/completions',
    headers: body,
  },
];
const targets = allTargets.filter((t) => t.name !== 'nginx' || hasNginx);

function nginxConf(): string {
  return `worker_processes 1;
daemon off;
pid ${tmp}/nginx.pid;
error_log ${tmp}/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${tmp}/nginx-body;
  proxy_temp_path ${tmp}/nginx-proxy;
  fastcgi_temp_path ${tmp}/nginx-fastcgi;
  uwsgi_temp_path ${tmp}/nginx-uwsgi;
  scgi_temp_path ${tmp}/nginx-scgi;
  upstream sim { server 127.0.0.1:${PORTS.sim}; keepalive 128; }
  server {
    listen 127.0.0.1:${PORTS.nginx};
    location / {
      proxy_pass http://sim;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
`;
}

interface Frame {
  callFrame: { functionName: string; url: string; lineNumber: number };
  id: number;
  children?: number[];
}

const STARTUP = /\/tsx\/|esbuild|node:internal\/modules/;

/** Node ids whose stack includes module loading (tsx, esbuild, the ESM loader): startup, not serving. */
function startupNodes(nodes: Frame[]): Set<number> {
  const parent = new Map<number, number>();
  for (const n of nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const out = new Set<number>();
  for (const n of nodes) {
    for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
      if (STARTUP.test(byId.get(id)?.callFrame.url ?? '')) {
        out.add(n.id);
        break;
      }
    }
  }
  return out;
}

/** Self time by function and by area (our code, undici, node http, prom-client, GC…). */
function summariseProfile(file: string): string {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: Frame[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const startup = startupNodes(prof.nodes);
  const self = new Map<string, number>();
  const area = new Map<string, number>();
  let total = 0;
  prof.samples.forEach((id, i) => {
    const dt = prof.timeDeltas[i] ?? 0;
    const n = byId.get(id);
    if (n === undefined || startup.has(id)) return;
    total += dt;
    const { functionName, url, lineNumber } = n.callFrame;
    const short = url.replace(/^file:\/\/\/work\/main\//, '').replace(/.*node_modules\//, '');
    const key = `${functionName || '(anonymous)'} ${short}:${lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    const a =
      functionName === '(idle)'
        ? 'idle'
        : functionName === '(garbage collector)'
          ? 'GC'
          : url.includes('/gateway/src/')
            ? 'beastmode code'
            : url.includes('undici')
              ? 'undici (upstream client)'
              : url.includes('prom-client')
                ? 'prom-client'
                : url.startsWith('node:') || url === ''
                  ? functionName === '(program)'
                    ? 'native/program'
                    : 'node core (http, net, streams)'
                  : 'other libraries';
    area.set(a, (area.get(a) ?? 0) + dt);
  });
  const busy = total - (area.get('idle') ?? 0);
  const pct = (v: number, of: number) => `${((100 * v) / of).toFixed(1)}%`;
  const lines = ['CPU profile of beastmode while serving (self time, share of busy time; startup excluded):'];
  for (const [k, v] of [...area].filter(([k]) => k !== 'idle').sort((x, y) => y[1] - x[1])) {
    lines.push(`  ${k.padEnd(34)} ${pct(v, busy)}`);
  }
  lines.push('  top functions:');
  for (const [k, v] of [...self]
    .filter(([k]) => !k.startsWith('(idle)'))
    .sort((x, y) => y[1] - x[1])
    .slice(0, 12)) {
    lines.push(`    ${pct(v, busy).padStart(6)}  ${k}`);
  }
  return lines.join('\n');
}

interface Results {
  rounds: number;
  perRound: number;
  seconds: number;
  steps: number[];
  load0: string;
  direct: number[];
  added: Map<string, number[]>;
  best: Map<string, { rate: number; p50: number; p99: number }>;
  failedAt: Map<string, string>;
  throughput: Map<string, number>;
  profDir: string;
}

const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

function report(r: Results): string {
  const { rounds, perRound, seconds, steps, load0, direct, added, best, failedAt, throughput, profDir } = r;
  const out: string[] = [];
  out.push(
    `Gateway benchmark${quick ? ' (quick)' : ''}: ${rounds} rounds × ${perRound} sequential requests; rate steps of ${seconds}s`,
  );
  out.push(
    `load average before/after: ${load0} / ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} on ${cpus().length} cores`,
  );
  out.push(generatorLine());
  out.push(`direct upstream median latency at concurrency 1: ${med(direct).toFixed(3)} ms`);
  out.push('');
  out.push(
    `${'target'.padEnd(20)} ${'added latency c=1'.padStart(18)} ${'max rate (p99<10ms, 0 err)'.padStart(28)} ${'closed loop c=16'.padStart(17)}   first failing step`,
  );
  for (const t of targets) {
    const a = t.name === 'direct' ? '(baseline)' : `${med(added.get(t.name) ?? []).toFixed(3)} ms`;
    const b = best.get(t.name);
    const rate = b ? `${b.rate}/s (p99 ${b.p99.toFixed(1)} ms)` : 'none';
    const tp = `${Math.round(throughput.get(t.name) ?? 0)}/s`;
    out.push(
      `${t.name.padEnd(20)} ${a.padStart(18)} ${rate.padStart(28)} ${tp.padStart(17)}   ${failedAt.get(t.name) ?? `above ${steps[steps.length - 1]}/s`}`,
    );
  }
  const ratio = (a: string, b: string) => {
    const x = best.get(a)?.rate;
    const y = best.get(b)?.rate;
    const tx = throughput.get(a);
    const ty = throughput.get(b);
    const fixed = x && y ? `${(x / y).toFixed(2)}×` : 'n/a';
    return `${fixed} (closed loop ${tx && ty ? `${(tx / ty).toFixed(2)}×` : 'n/a'})`;
  };
  out.push('');
  out.push(
    `beastmode max rate vs portkey: ${ratio('beastmode', 'portkey')}, vs nginx: ${ratio('beastmode', 'nginx')}, node:http vs express (both without policy): ${ratio('beastmode-no-policy', 'beastmode-express')}, vs the bare node proxy: ${ratio('beastmode', 'bare-node-proxy')}, without policy vs the bare node proxy: ${ratio('beastmode-no-policy', 'bare-node-proxy')}`,
  );
  const prof = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
  if (prof[0] !== undefined) out.push('', summariseProfile(path.join(profDir, prof[0])));
  return out.join('\n');
}

async function main(): Promise<void> {
  const load0 = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  const tsx = ['--import', 'tsx'];
  start('simulator', NODE, [
    ...tsx,
    'cli/main.ts',
    'simulator',
    '--port',
    String(PORTS.sim),
    '--model',
    'sim-model',
  ]);
  start('bare-node-proxy', NODE, [...tsx, 'bench/gateway/bare-proxy.ts', String(PORTS.bare), upstream]);
  writeFileSync(path.join(tmp, 'nginx.conf'), nginxConf());
  if (hasNginx) start('nginx', 'nginx', ['-c', path.join(tmp, 'nginx.conf'), '-p', tmp]);
  else process.stderr.write('nginx not found (apt-get install -y nginx-light): skipping the nginx column\n');
  start(
    'portkey',
    NODE,
    ['node_modules/@portkey-ai/gateway/build/start-server.js', `--port=${PORTS.portkey}`, '--headless'],
    {
      NODE_ENV: 'production',
    },
  );
  const cfg = gatewayConfig([compiledRoute('chat', [{ name: 'sim', url: `${upstream}/v1` }])]);
  cfg.logLevel = 'warn';
  const cfgFile = path.join(tmp, 'gateway.json');
  writeFileSync(cfgFile, JSON.stringify(cfg));
  const profDir = path.join(tmp, 'prof');
  const ours = start('beastmode', NODE, [
    '--cpu-prof',
    '--cpu-prof-dir',
    profDir,
    ...tsx,
    'cli/main.ts',
    'gateway',
    '--port',
    String(PORTS.ours),
    '--host',
    '127.0.0.1',
    '--config',
    cfgFile,
  ]);
  start(
    'beastmode-no-policy',
    NODE,
    [
      ...tsx,
      'cli/main.ts',
      'gateway',
      '--port',
      String(PORTS.nopolicy),
      '--host',
      '127.0.0.1',
      '--config',
      cfgFile,
    ],
    { BEASTMODE_POLICY: 'off' },
  );
  start(
    'beastmode-express',
    NODE,
    [
      ...tsx,
      'cli/main.ts',
      'gateway',
      '--port',
      String(PORTS.express),
      '--host',
      '127.0.0.1',
      '--config',
      cfgFile,
    ],
    {
      // Without the policy modules, like beastmode-no-policy: the pair isolates what express costs.
      BEASTMODE_V1_VIA_EXPRESS: '1',
      BEASTMODE_POLICY: 'off',
    },
  );
  for (const t of targets) {
    await waitFor(`${t.origin}${t.path}`, {
      method: 'POST',
      headers: t.headers,
      body: '{"model":"chat","messages":[]}',
    });
  }
  const pools = new Map(
    targets.map((t) => [t.name, new Pool(t.origin, { connections: 128, pipelining: 1 })]),
  );
  const pool = (t: Target) => pools.get(t.name) as Pool;
  for (const t of targets) await medianLatency(pool(t), t, quick ? 100 : 500); // warm-up, JIT

  // (a) Added latency at concurrency 1.
  const rounds = quick ? 3 : 7;
  const perRound = quick ? 100 : 300;
  const added = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  const direct: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const m = new Map<string, number>();
    for (const t of targets) m.set(t.name, await medianLatency(pool(t), t, perRound));
    const d = m.get('direct') as number;
    direct.push(d);
    for (const t of targets) added.get(t.name)?.push((m.get(t.name) as number) - d);
  }
  // (b) Highest fixed rate with p99 < 10 ms and zero errors.
  const steps = [250, 500, 1000, 1500, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 10000, 12000, 15000];
  const seconds = quick ? 1 : 1.5;
  const best = new Map<string, { rate: number; p50: number; p99: number }>();
  const failedAt = new Map<string, string>();
  for (const t of targets) {
    for (const rate of steps) {
      let r = await fixed(pool(t), t, rate, seconds);
      // One retry per step: on a shared 2-core machine a single stall of another process can spoil a step.
      if (r.errors > 0 || r.p99 >= 10) {
        await new Promise((res) => setTimeout(res, 500));
        r = await fixed(pool(t), t, rate, seconds);
      }
      if (r.errors > 0 || r.p99 >= 10) {
        failedAt.set(t.name, `${rate}/s: p99 ${r.p99.toFixed(1)} ms, ${r.errors} errors`);
        break;
      }
      best.set(t.name, { rate, p50: r.p50, p99: r.p99 });
      await new Promise((res) => setTimeout(res, 300));
    }
  }

  // (c) Closed-loop throughput at concurrency 16: CPU cost per request, less sensitive to latency spikes.
  const throughput = new Map<string, number>();
  for (const t of targets) {
    const r = await closedLoop(pool(t), t, 16, quick ? 1 : 3);
    throughput.set(t.name, r.errors > 0 ? Number.NaN : r.rps);
  }

  await Promise.all([...pools.values()].map((p) => p.close()));
  await stop(ours);
  await Promise.all(children.map(stop));

  const text = report({
    rounds,
    perRound,
    seconds,
    steps,
    load0,
    direct,
    added,
    best,
    failedAt,
    throughput,
    profDir,
  });
  process.stdout.write(`${text}\n`);
}

// (c) Cache hits. The request is deterministic (temperature 0) on a route with cache mode exact, filled
// once; every later request is a hit. Open loop at fixed rates (latency from the intended send time), the
// highest rate with p99 < 5 ms, zero errors and the rate actually achieved. The upstream must see no
// requests during the runs (checked), so what is measured is the hit path alone.
const CACHE_P99_MS = 5;
const CACHE_BODY = JSON.stringify({
  model: 'chat',
  messages: [{ role: 'user', content: 'Say hello to the cache benchmark.' }],
  max_tokens: 16,
  temperature: 0,
});

async function upstreamRequests(): Promise<number> {
  const r = await fetch(`${upstream}/admin/stats`);
  return ((await r.json()) as { requests: number }).requests;
}

async function cacheHits(origin: string): Promise<number> {
  const text = await (await fetch(`${origin}/metrics`)).text();
  let n = 0;
  for (const m of text.matchAll(/^beastmode_cache_lookups_total\{[^}]*result="hit"[^}]*\} (\S+)$/gm))
    n += Number(m[1]);
  return n;
}

async function cacheBench(startSim: boolean): Promise<string> {
  const tsx = ['--import', 'tsx'];
  if (startSim) {
    start('simulator', NODE, [
      ...tsx,
      'cli/main.ts',
      'simulator',
      '--port',
      String(PORTS.sim),
      '--model',
      'sim-model',
    ]);
  }
  const redis = await startRedis();
  const redisPid = redis.pid();
  if (pin === 'split' && redisPid !== undefined)
    spawnSync('taskset', ['-a', '-p', '-c', SERVER_CPUS, String(redisPid)], { stdio: 'ignore' });
  const cfg = gatewayConfig([
    compiledRoute('chat', [{ name: 'sim', url: `${upstream}/v1` }], {
      cache: { mode: 'exact', ttlMs: 3_600_000, scope: 'route', cacheNonDeterministic: false },
    }),
  ]);
  cfg.logLevel = 'warn';
  const cfgFile = path.join(tmp, 'gateway-cache.json');
  writeFileSync(cfgFile, JSON.stringify(cfg));
  const profDir = path.join(tmp, 'prof-cache');
  const args = (port: number) => [
    ...tsx,
    'cli/main.ts',
    'gateway',
    '--port',
    String(port),
    '--host',
    '127.0.0.1',
    '--config',
    cfgFile,
  ];
  const memory = start('beastmode-cache-memory', NODE, [
    '--cpu-prof',
    '--cpu-prof-dir',
    profDir,
    ...args(PORTS.cacheMemory),
  ]);
  const inRedis = start('beastmode-cache-redis', NODE, args(PORTS.cacheRedis), {
    BEASTMODE_REDIS_URL: redis.url,
  });
  const cacheTargets: Target[] = [
    {
      name: 'cache-memory',
      origin: `http://127.0.0.1:${PORTS.cacheMemory}`,
      path: '/v1/chat/completions',
      headers: body,
      body: CACHE_BODY,
    },
    {
      name: 'cache-redis',
      origin: `http://127.0.0.1:${PORTS.cacheRedis}`,
      path: '/v1/chat/completions',
      headers: body,
      body: CACHE_BODY,
    },
  ];
  await waitFor(`${upstream}/v1/models`);
  const results = new Map<string, RateResult[]>();
  const best = new Map<string, RateResult>();
  const steps = quick
    ? [2000, 5000, 8000, 10000, 12000]
    : [1000, 2000, 4000, 6000, 8000, 10000, 12000, 14000, 16000, 20000];
  const seconds = quick ? 1 : 2;
  let upstreamDuring = 0;
  let hitsSeen = 0;
  try {
    for (const t of cacheTargets) {
      await waitFor(`${t.origin}${t.path}`, { method: 'POST', headers: t.headers, body: CACHE_BODY });
      const p = new Pool(t.origin, { connections: 128, pipelining: 1 });
      await medianLatency(p, t, quick ? 500 : 2000); // fills the entry (one miss), warm-up, JIT
      const up0 = await upstreamRequests();
      const hits0 = await cacheHits(t.origin);
      const rows: RateResult[] = [];
      for (const rate of steps) {
        let r = await fixed(p, t, rate, seconds);
        const fails = (x: RateResult) => x.errors > 0 || x.p99 >= CACHE_P99_MS || x.achieved < rate * 0.95;
        // Up to two retries per step: the 2 cores are shared (other builds and tests stall any process for
        // 10-100 ms, which alone puts p99 over 5 ms; the direct upstream shows the same stalls).
        for (let retry = 0; retry < 2 && fails(r); retry++) {
          await new Promise((res) => setTimeout(res, 500));
          r = await fixed(p, t, rate, seconds);
        }
        rows.push(r);
        // A p99 spoiled by a stall of the shared machine does not end the sweep; lost capacity does.
        if (r.errors > 0 || r.achieved < rate * 0.95) break;
        if (!fails(r)) best.set(t.name, r);
        await new Promise((res) => setTimeout(res, 300));
      }
      results.set(t.name, rows);
      upstreamDuring += (await upstreamRequests()) - up0;
      hitsSeen += (await cacheHits(t.origin)) - hits0;
      await p.close();
    }
  } finally {
    await stop(memory);
    await stop(inRedis);
    await redis.stop();
  }
  const out = [
    '',
    `Cache hits (exact cache, one ${CACHE_BODY.length}-byte request, open loop, ${seconds}s steps; target ≥ 10,000 hits/s with p99 < ${CACHE_P99_MS} ms):`,
    generatorLine(),
    `${'store'.padEnd(14)} ${'max hit rate (p99<5ms, 0 err)'.padStart(32)}   steps: rate → p50/p99 ms (achieved/s, errors)`,
  ];
  for (const t of cacheTargets) {
    const b = best.get(t.name);
    const head = b ? `${b.rate}/s (p50 ${b.p50.toFixed(2)}, p99 ${b.p99.toFixed(2)} ms)` : 'none';
    const steps = (results.get(t.name) ?? [])
      .map(
        (r) => `${r.rate} → ${r.p50.toFixed(2)}/${r.p99.toFixed(2)} (${Math.round(r.achieved)}, ${r.errors})`,
      )
      .join('; ');
    out.push(`${t.name.replace('cache-', '').padEnd(14)} ${head.padStart(32)}   ${steps}`);
  }
  out.push(
    `upstream requests during the hit runs: ${upstreamDuring} (must be 0); hits counted by the gateways: ${hitsSeen}`,
  );
  const prof = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
  if (prof[0] !== undefined)
    out.push(
      '',
      summariseProfile(path.join(profDir, prof[0])).replace(
        'of beastmode',
        'of beastmode (cache hits, memory)',
      ),
    );
  return out.join('\n');
}

const run = setUpGenerator().then(() =>
  only === 'cache'
    ? cacheBench(true).then((t) => {
        process.stdout.write(`${t}\n`);
      })
    : main().then(async () => {
        process.stdout.write(`${await cacheBench(true)}\n`);
      }),
);

run.then(
  async () => {
    await Promise.all(children.map(stop));
  },
  async (err: unknown) => {
    process.stderr.write(`benchmark failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    await Promise.all(children.map(stop));
    process.exit(1);
  },
);
