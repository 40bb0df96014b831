// Gateway soak: one `beastmode gateway` CLI process in front of the simulator (each its own process), offered
// a fixed rate by vegeta (../lib/vegeta.ts; latency from the send, so a stalling gateway cannot hide its
// queueing) in one-minute windows, each a separate attack. Every window prints one line of what was served
// and what the gateway held meanwhile (gateway-process.ts); the verdict (verdict.ts) compares the first
// window after the warm-up minute with the last, and the exit code is 1 when it finds the gateway broken.
// Usage: --help (options.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GATEWAY_NODE_OPTIONS } from '../../operator/src/render/gateway.js';
import { compiledRoute, gatewayConfig } from '../../testkit/gateway-config.js';
import type { Target } from '../lib/loadgen.js';
import { cpuSeconds, machineLoad, start, stopAll, waitFor } from '../lib/processes.js';
import { ensureVegeta, VEGETA_VERSION, vegetaRate, type Vegeta } from '../lib/vegeta.js';
import {
  freePort,
  openDescriptors,
  residentBytes,
  scrapeEventLoopDelay,
  spawnGateway,
  stopGateway,
  waitReady,
  type GatewayProcess,
} from './gateway-process.js';
import { liveHeapSince } from './gc-trace.js';
import { HELP, parseSoakOptions, type SoakOptions } from './options.js';
import { formatHeader, formatVerdict, formatWindow } from './report.js';
import { judgeSoak, type SoakWindow } from './verdict.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const WINDOW_SECONDS = 60;
/** How often memory and descriptors are sampled within a window (the window reports their medians). */
const SAMPLE_MS = 5_000;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

/** The simulator (its own process) and a gateway whose one route `chat` goes to it. */
async function startServers(tmp: string): Promise<GatewayProcess> {
  const simPort = await freePort();
  const sim = start(
    'simulator',
    process.execPath,
    ['--import', 'tsx', 'cli/main.ts', 'simulator', '--port', String(simPort), '--model', 'sim-model'],
    { cwd: ROOT, env: { NODE_OPTIONS: '' } },
  );
  await waitFor(`http://127.0.0.1:${simPort}/v1/models`).catch((e: Error) => {
    throw new Error(`${e.message}\n${sim.stderr()}`);
  });
  const config = gatewayConfig([
    compiledRoute('chat', [{ name: 'sim', url: `http://127.0.0.1:${simPort}/v1` }]),
  ]);
  config.logLevel = 'warn';
  const configFile = path.join(tmp, 'gateway.json');
  writeFileSync(configFile, JSON.stringify(config));
  // V8 as the Deployment sets it (its young generation bounded: left alone it grows to 128 MiB under load),
  // and major collections on the output: the live heap of each window (gc-trace.ts).
  const gw = spawnGateway({
    port: await freePort(),
    configFile,
    drainSeconds: 10,
    nodeArgs: [...GATEWAY_NODE_OPTIONS.split(' '), '--trace-gc', '--trace-gc-ignore-scavenger'],
  });
  await waitReady(gw);
  return gw;
}

/** One window: a fixed-rate attack, with the gateway's memory and descriptors sampled while it runs. */
async function measureWindow(
  minute: number,
  vegeta: Vegeta,
  target: Target,
  gw: GatewayProcess,
  rate: number,
  gcSeen: { lastMs: number },
): Promise<SoakWindow> {
  const rss: number[] = [];
  const fds: number[] = [];
  const upstream: number[] = [];
  const clients: number[] = [];
  const takeSample = () => {
    rss.push(residentBytes(gw.pid));
    const d = openDescriptors(gw.pid, gw.port);
    fds.push(d.other);
    upstream.push(d.outbound);
    clients.push(d.inbound);
  };
  const cpuBefore = cpuSeconds(gw.pid);
  const started = performance.now();
  const sampler = setInterval(takeSample, SAMPLE_MS);
  const r = await vegetaRate(vegeta, target, rate, WINDOW_SECONDS).finally(() => clearInterval(sampler));
  if (rss.length === 0) takeSample();
  const wall = (performance.now() - started) / 1000;
  const eld = await scrapeEventLoopDelay(gw.url);
  const gc = liveHeapSince(gw.output(), gcSeen.lastMs);
  gcSeen.lastMs = gc.lastMs;
  return {
    minute,
    offered: r.sent,
    served: r.sent - r.errors,
    errors: r.errors,
    p50Ms: r.p50,
    p99Ms: r.p99,
    maxMs: r.max,
    cpuPercent: ((cpuSeconds(gw.pid) - cpuBefore) / wall) * 100,
    rssBytes: median(rss),
    fds: median(fds),
    upstreamConnections: median(upstream),
    clientConnections: median(clients),
    eldP99Ms: eld.p99Ms,
    eldMaxMs: eld.maxMs,
    heapUsedBytes: eld.heapUsedBytes,
    liveHeapBytes: gc.liveHeapBytes,
    load: machineLoad(),
  };
}

async function soak(o: SoakOptions, tmp: string): Promise<boolean> {
  const bin = await ensureVegeta((l) => process.stderr.write(`${l}\n`));
  if (bin === undefined) throw new Error('the soak needs vegeta: install Go (it is built once per machine)');
  const vegeta: Vegeta = { bin, dir: path.join(tmp, 'vegeta') };
  const gw = await startServers(tmp);
  try {
    const target: Target = {
      name: 'soak',
      origin: gw.url,
      path: '/v1/chat/completions',
      headers: { 'content-type': 'application/json' },
    };
    console.log(
      `Soak: ${o.rate} requests/s for ${o.minutes} one-minute windows against one gateway process ` +
        `(pid ${gw.pid}); vegeta ${VEGETA_VERSION}, latency from the send; before: ${machineLoad()}`,
    );
    console.log(
      `cpu: the gateway's, % of one core; rss, fds (descriptors but TCP connections), up (upstream ` +
        `connections), clients (client connections): medians of samples every ${SAMPLE_MS / 1000} s; eld: ` +
        "event-loop delay from the gateway's /metrics, ms (10 ms resolution: an idle loop reads ~10 ms); " +
        'heap: the V8 heap in use at the end of the window (not judged: it saws with each collection); ' +
        'live: the least heap a major collection left in the window (— when none ran)',
    );
    await scrapeEventLoopDelay(gw.url); // starts the first window's event-loop histogram
    console.log(formatHeader());
    const windows: SoakWindow[] = [];
    const gcSeen = { lastMs: 0 };
    for (let minute = 1; minute <= o.minutes; minute++) {
      const w = await measureWindow(minute, vegeta, target, gw, o.rate, gcSeen);
      windows.push(w);
      console.log(formatWindow(w, minute === 1));
      if (gw.child.exitCode !== null)
        throw new Error(`the gateway exited ${gw.child.exitCode}:\n${gw.output()}`);
    }
    const verdict = judgeSoak(windows);
    console.log(formatVerdict(verdict));
    const stopping = performance.now();
    const code = await stopGateway(gw);
    console.log(`Gateway exited ${code} ${(performance.now() - stopping).toFixed(0)} ms after SIGTERM`);
    return verdict.ok && code === 0;
  } finally {
    await stopGateway(gw, 'SIGKILL');
  }
}

async function main(): Promise<number> {
  let o: SoakOptions;
  try {
    o = parseSoakOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${HELP}`);
    return 2;
  }
  if (o.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const tmp = mkdtempSync(path.join(tmpdir(), 'beastmode-soak-'));
  try {
    return (await soak(o, tmp)) ? 0 : 1;
  } finally {
    await stopAll();
    rmSync(tmp, { recursive: true, force: true });
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => void stopAll().then(() => process.exit(130)));

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`Soak failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  },
);
