// The servers a benchmark starts: spawned (pinned to CPUs with taskset when asked), waited for, measured
// (CPU time from /proc, the process and its children), and stopped. Every benchmark stops what it started,
// also when it fails (stopAll in a finally, and on exit).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

export const hasTaskset = spawnSync('taskset', ['-V']).error === undefined;
/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on every Linux this runs on). */
const TICKS = 100;

export interface Started {
  name: string;
  child: ChildProcess;
  pid: number;
  /** The last lines the process wrote to stderr (for error messages). */
  stderr(): string;
}

const running: Started[] = [];

export interface StartOptions {
  env?: Record<string, string>;
  /** A CPU list for taskset -c ("0", "2-5"); undefined: not pinned. */
  cpus?: string | undefined;
  cwd?: string;
}

/** The command line that runs `command` on `cpus` (through taskset, which execs), or as is without either. */
export function pinned(cpus: string | undefined, command: string, args: string[]): [string, string[]] {
  return cpus !== undefined && hasTaskset ? ['taskset', ['-c', cpus, command, ...args]] : [command, args];
}

/** Spawns a server; with `cpus`, through taskset (which execs: the pid is the server's own). */
export function start(name: string, command: string, args: string[], o: StartOptions = {}): Started {
  const [cmd, argv] = pinned(o.cpus, command, args);
  const child = spawn(cmd, argv, {
    cwd: o.cwd,
    env: { ...process.env, ...o.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  child.on('error', (e) => process.stderr.write(`${name} failed to start: ${e.message}\n`));
  const s: Started = { name, child, pid: child.pid ?? -1, stderr: () => err };
  running.push(s);
  return s;
}

/** Resolves once `url` answers with a status below 500 (or throws after `ms`). */
export async function waitFor(url: string, init: RequestInit = {}, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      const r = await fetch(url, init);
      await r.text();
      if (r.status < 500) return;
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error(`${url} did not come up within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function stop(s: Started): Promise<void> {
  return new Promise((resolve) => {
    if (s.child.exitCode !== null || s.child.signalCode !== null) return resolve();
    s.child.once('exit', () => resolve());
    s.child.kill('SIGTERM');
    setTimeout(() => s.child.kill('SIGKILL'), 5000).unref();
  });
}

export async function stopAll(): Promise<void> {
  await Promise.all(running.splice(0).map(stop));
}
process.once('exit', () => {
  for (const s of running) s.child.kill('SIGKILL');
});

/** The process and its descendants (a gateway with workers is a primary and its children). */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const dir = `/proc/${out[i]}/task`;
    if (!existsSync(dir)) continue;
    for (const t of readdirSync(dir)) {
      try {
        const kids = readFileSync(`${dir}/${t}/children`, 'utf8').trim();
        if (kids !== '') out.push(...kids.split(/\s+/).map(Number));
      } catch {
        // exited meanwhile
      }
    }
  }
  return out;
}

/** CPU seconds (user + system) one process has used; 0 when it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return 0;
  }
}

/** "load 0.52 0.61 0.70 on 2 cores": printed beside every figure. */
export function machineLoad(): string {
  return `load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} on ${cpus().length} cores`;
}

/** Pins a running process and all its threads to a CPU list (taskset -a -p -c); no-op without taskset. */
export function pinProcess(pid: number, cpuList: string): void {
  if (hasTaskset) spawnSync('taskset', ['-a', '-p', '-c', cpuList, String(pid)], { stdio: 'ignore' });
}

export interface LoadSpan {
  /** machineLoad() as the section began and as it ended. */
  before: string;
  after: string;
}

/** Runs one section of a benchmark and returns the machine's load before and after it, beside its result. */
export async function withMachineLoad<T>(section: () => Promise<T>): Promise<{ result: T; load: LoadSpan }> {
  const before = machineLoad();
  const result = await section();
  return { result, load: { before, after: machineLoad() } };
}
