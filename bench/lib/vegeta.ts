// Fixed-rate steps of the benchmarks driven by vegeta (github.com/tsenart/vegeta), a
// constant-rate load generator in Go: on a 2-core machine a Node load generator costs about as much CPU as
// the proxy it measures and its own event-loop stalls land in the p99. vegeta is built from the Go module
// proxy once per machine into ~/.cache/beastmode/vegeta-<version>/vegeta (cluster/go-tools.ts); without Go
// the benchmark falls back to the Node generator (loadgen.ts).
//
// Each step is one `vegeta attack` process writing its results to a file, reported afterwards with
// `vegeta report -type=json`, so decoding the results does not compete with the step. vegeta measures
// each request from the moment it is sent; its pacer sends on schedule while it has workers (up to
// maxWorkers) and CPU, and catches up in a burst after a stall of its own. A send that waits for one of
// the 128 connections counts that wait in its latency (as the Node generator's 128-connection pool does).
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BODY, type RateResult, type Target } from './loadgen.js';
import { pinned } from './processes.js';

export const VEGETA_MODULE = 'github.com/tsenart/vegeta/v12';
export const VEGETA_VERSION = 'v12.13.0';
/** Connections per target, as the Node generator's undici Pool. */
const CONNECTIONS = 128;

export interface VegetaRateResult extends RateResult {
  p95: number;
  max: number;
  statusCodes: Record<string, number>;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    c.on('error', reject);
    c.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`)),
    );
  });
}

/**
 * The vegeta binary, built with `go install <module>@<version>` into the cache on the first call on a
 * machine; undefined when it is not cached and Go is not installed. The Go tooling is loaded only here:
 * a benchmark bundled into a kit (bench:kit) runs where there is no repository and brings its vegeta.
 */
export async function ensureVegeta(onProgress: (line: string) => void): Promise<string | undefined> {
  const { ensureGoTool } = await import('../../cluster/go-tools.js');
  return ensureGoTool({ name: 'vegeta', module: VEGETA_MODULE, version: VEGETA_VERSION }, onProgress);
}

export interface Vegeta {
  bin: string;
  /** Working directory for targets and results files. */
  dir: string;
  /** CPU list for `taskset -c` (e.g. "1"), or undefined to leave vegeta unpinned (also without taskset). */
  cpus?: string | undefined;
}

/** The JSON targets file: one line per target (method, url, headers, base64 body); vegeta cycles them. */
function targetsFile(v: Vegeta, name: string, targets: readonly Target[]): string {
  const file = path.join(v.dir, `targets-${name}.json`);
  const lines = targets.map((t) => {
    const header: Record<string, string[]> = {};
    for (const [k, val] of Object.entries(t.headers)) header[k] = [val];
    return JSON.stringify({
      method: 'POST',
      url: `${t.origin}${t.path}`,
      header,
      body: Buffer.from(t.body ?? BODY).toString('base64'),
    });
  });
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

interface VegetaReport {
  latencies: { '50th': number; '95th': number; '99th': number; max: number };
  duration: number;
  requests: number;
  status_codes: Record<string, number>;
}

/**
 * One open-loop step: `rate` requests/s for `seconds`, then the report. Several targets (the same request
 * to several gateways) are sent to in turn, as a client-side balancer would.
 */
export async function vegetaRate(
  v: Vegeta,
  target: Target | readonly Target[],
  rate: number,
  seconds: number,
): Promise<VegetaRateResult> {
  mkdirSync(v.dir, { recursive: true });
  const all = Array.isArray(target) ? (target as readonly Target[]) : [target as Target];
  const name = all[0]?.name ?? 'target';
  const targets = targetsFile(v, name, all);
  const results = path.join(v.dir, `results-${name}.bin`);
  closeSync(openSync(results, 'w'));
  const attack = [
    'attack',
    '-format=json',
    `-targets=${targets}`,
    `-rate=${rate}/1s`,
    `-duration=${Math.round(seconds * 1000)}ms`,
    '-http2=false',
    `-connections=${CONNECTIONS}`,
    `-max-connections=${CONNECTIONS}`,
    '-workers=64',
    '-max-workers=4096',
    '-timeout=10s',
    '-redirects=-1',
    '-max-body=-1',
    `-output=${results}`,
  ];
  const [cmd, args] = pinned(v.cpus, v.bin, attack);
  await run(cmd, args, process.env, v.dir);
  const rep = JSON.parse(
    await run(v.bin, ['report', '-type=json', results], process.env, v.dir),
  ) as VegetaReport;
  const ok = rep.status_codes['200'] ?? 0;
  const ms = (ns: number) => ns / 1e6;
  return {
    rate,
    sent: rep.requests,
    errors: rep.requests - ok,
    p50: ms(rep.latencies['50th']),
    p95: ms(rep.latencies['95th']),
    p99: ms(rep.latencies['99th']),
    max: ms(rep.latencies.max),
    // duration: from the first to the last send; the requests it took, per second.
    achieved: rep.duration > 0 ? (rep.requests - 1) / (rep.duration / 1e9) : 0,
    statusCodes: rep.status_codes,
  };
}
