// A `beastmode gateway` CLI process as the soak and the fault e2e suite run it (cli/main.ts through the tsx
// loader, as `npm run gateway` does), and what they read of it from outside: its log, its readiness, its
// resident memory and open file descriptors (the clients' connections told apart) from /proc, and its
// event-loop delay from /metrics.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { GATEWAY_NODE_OPTIONS } from '../../operator/src/render/gateway.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
/** How much of a process's output is kept: enough for its last errors, bounded over an hour's soak. */
const OUTPUT_KEPT = 64 * 1024;

export interface GatewayProcessOptions {
  port: number;
  configFile: string;
  /** --drain-seconds: how long SIGTERM waits for requests in flight. */
  drainSeconds?: number;
  env?: Record<string, string>;
  /**
   * Options for node itself (--trace-gc, --cpu-prof), before the tsx loader; the Deployment's V8 settings
   * (GATEWAY_NODE_OPTIONS) when not given, so that what is measured is what users run.
   */
  nodeArgs?: string[];
}

export interface GatewayProcess {
  pid: number;
  port: number;
  url: string;
  child: ChildProcess;
  /** What it has written to stdout and stderr (the last 64 KiB). */
  output(): string;
  /** Its exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

export { freePort } from '../../cluster/control-plane.js';

export function spawnGateway(o: GatewayProcessOptions): GatewayProcess {
  const args = [
    ...(o.nodeArgs ?? GATEWAY_NODE_OPTIONS.split(' ')),
    '--import',
    'tsx',
    'cli/main.ts',
    'gateway',
    '--host',
    '127.0.0.1',
  ];
  args.push('--port', String(o.port), '--config', o.configFile);
  if (o.drainSeconds !== undefined) args.push('--drain-seconds', String(o.drainSeconds));
  // NODE_OPTIONS of a jest parent (--experimental-vm-modules) must not reach the gateway.
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '', ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-OUTPUT_KEPT));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  running.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  return {
    pid: child.pid ?? -1,
    port: o.port,
    url: `http://127.0.0.1:${o.port}`,
    child,
    output: () => out,
    exited,
  };
}

/** Resolves once GET /readyz answers 200; throws with the process's output if it exits or takes too long. */
export async function waitReady(gw: GatewayProcess, ms = 60_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    if (gw.child.exitCode !== null)
      throw new Error(`gateway on port ${gw.port} exited ${gw.child.exitCode}:\n${gw.output()}`);
    const status = await fetch(`${gw.url}/readyz`).then(
      async (r) => (await r.text(), r.status),
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > until)
      throw new Error(`gateway on port ${gw.port} not ready within ${ms} ms:\n${gw.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Sends SIGTERM (or another signal) and resolves with the exit code; SIGKILL after `killAfterMs`. */
export async function stopGateway(
  gw: GatewayProcess,
  signal: NodeJS.Signals = 'SIGTERM',
  killAfterMs = 30_000,
): Promise<number | null> {
  if (gw.child.exitCode !== null || gw.child.signalCode !== null) return gw.exited;
  gw.child.kill(signal);
  const timer = setTimeout(() => gw.child.kill('SIGKILL'), killAfterMs);
  const code = await gw.exited;
  clearTimeout(timer);
  return code;
}

/** Resident memory of a process in bytes (VmRSS of /proc/<pid>/status). */
export function residentBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kb) * 1024;
}

export interface Descriptors {
  /** Open descriptors other than TCP connections: files, pipes, the listener, epoll and event fds. */
  other: number;
  /** TCP connections accepted on the gateway's port: as many as its clients keep open. */
  inbound: number;
  /** TCP connections it opened (to upstreams): as many as its pools keep, idle ones for a while. */
  outbound: number;
}

/** Local port of every TCP socket but listening ones, by inode (/proc/net/tcp and tcp6). */
function connectionPorts(): Map<string, number> {
  const ports = new Map<string, number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue; // no IPv6
    }
    for (const line of text.split('\n').slice(1)) {
      const [, local, , state, , , , , , inode] = line.trim().split(/\s+/);
      if (local === undefined || inode === undefined || inode === '0' || state === '0A') continue;
      ports.set(inode, parseInt(local.slice(local.lastIndexOf(':') + 1), 16));
    }
  }
  return ports;
}

/** The open descriptors of a process listening on `port`, its TCP connections told apart. */
export function openDescriptors(pid: number, port: number): Descriptors {
  const ports = connectionPorts();
  const d: Descriptors = { other: 0, inbound: 0, outbound: 0 };
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target = '';
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    const local = ports.get(/^socket:\[(\d+)\]$/.exec(target)?.[1] ?? '');
    if (local === undefined) d.other++;
    else if (local === port) d.inbound++;
    else d.outbound++;
  }
  return d;
}

export interface EventLoopDelay {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The V8 heap in use at the scrape (nodejs_heap_size_used_bytes), bytes. */
  heapUsedBytes: number;
}

/** A sample value of the text exposition format, or NaN. */
function sample(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/**
 * The event-loop delay since the previous scrape: prom-client's default metrics (nodejs_eventloop_lag_*)
 * read perf_hooks.monitorEventLoopDelay at its 10 ms resolution and reset the histogram on every scrape,
 * so scraping once per window gives that window's figures. A delay includes the 10 ms timer interval
 * itself: an idle loop reads about 10 ms.
 */
export async function scrapeEventLoopDelay(url: string): Promise<EventLoopDelay> {
  const r = await fetch(`${url}/metrics`);
  const text = await r.text();
  if (r.status !== 200) throw new Error(`GET ${url}/metrics answered ${r.status}`);
  const ms = (name: string) => sample(text, `nodejs_eventloop_lag_${name}_seconds`) * 1000;
  return {
    p50Ms: ms('p50'),
    p99Ms: ms('p99'),
    maxMs: ms('max'),
    heapUsedBytes: sample(text, 'nodejs_heap_size_used_bytes'),
  };
}
