// Runs the operator as a child process (its own RSS, killable with SIGKILL) and reads its /metrics.
// Shared by the operator benchmark and the operator e2e suite.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface OperatorProcess {
  child: ChildProcess;
  port: number;
  identity: string;
  output: string[];
  metrics(): Promise<string>;
  /** API writes by this instance, excluding its own Lease and Events. */
  writes(): Promise<number>;
  isLeader(): Promise<boolean>;
  /** Peak resident set (VmHWM) in bytes, from /proc. */
  peakRss(): number;
  /** Current resident set (VmRSS) in bytes, from /proc. */
  rss(): number;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface StartOptions {
  repoRoot: string;
  kubeconfig: string;
  port: number;
  identity: string;
  args?: string[];
  env?: Record<string, string>;
  /** Node flags, e.g. a heap bound (the chart sets the same through NODE_OPTIONS). */
  nodeArgs?: string[];
  /**
   * How the operator runs: `tsx` (the TypeScript sources through the tsx loader, the default: no build
   * step) or `dist` (the compiled JavaScript under dist/, what the image ships; see buildOperator()).
   * The tsx loader (esbuild, source maps) costs tens of MiB of RSS on its own.
   */
  runtime?: OperatorRuntime;
}

export type OperatorRuntime = 'tsx' | 'dist';

/** The operator's entry point for a runtime, relative to the repository root. */
export const operatorEntry = (runtime: OperatorRuntime): string[] =>
  runtime === 'dist' ? ['dist/cli/main.js', 'operator'] : ['--import', 'tsx', 'cli/main.ts', 'operator'];

/** Compiles the operator (and api/) into dist/ like the image build does, without touching the gateway. */
export function buildOperator(repoRoot: string): void {
  execFileSync(
    process.execPath,
    [
      join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      'bench/operator/tsconfig.operator.json',
    ],
    { cwd: repoRoot, stdio: 'inherit' },
  );
}

/** Sums a Prometheus text-format counter over the series whose labels pass `keep`. */
export function sumMetric(
  text: string,
  name: string,
  keep: (labels: string) => boolean = () => true,
): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    if (keep(m[2] ?? '')) sum += Number(m[3]);
  }
  return sum;
}

function procStatusBytes(pid: number | undefined, field: 'VmHWM' | 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1];
  return Number(kb ?? 0) * 1024;
}

export async function startOperator(o: StartOptions): Promise<OperatorProcess> {
  const output: string[] = [];
  const child = spawn(
    process.execPath,
    [
      ...(o.nodeArgs ?? []),
      ...operatorEntry(o.runtime ?? 'tsx'),
      '--kubeconfig',
      o.kubeconfig,
      '--metrics-port',
      String(o.port),
      '--identity',
      o.identity,
      ...(o.args ?? []),
    ],
    { cwd: o.repoRoot, env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const keep = (b: Buffer): void => {
    output.push(b.toString());
    if (output.length > 2000) output.splice(0, 1000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const base = `http://127.0.0.1:${o.port}`;
  const metrics = async (): Promise<string> => (await fetch(`${base}/metrics`)).text();
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`operator exited (${child.exitCode}):\n${output.join('')}`);
    try {
      if ((await fetch(`${base}/readyz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`operator not ready in 60s:\n${output.join('')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    child,
    port: o.port,
    identity: o.identity,
    output,
    metrics,
    writes: async () =>
      sumMetric(
        await metrics(),
        'beastmode_operator_api_writes_total',
        (l) => !/kind="(Lease|Event)"/.test(l),
      ),
    isLeader: async () => sumMetric(await metrics(), 'beastmode_operator_leader') === 1,
    peakRss: () => procStatusBytes(child.pid, 'VmHWM'),
    rss: () => procStatusBytes(child.pid, 'VmRSS'),
    stop: (signal = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}
