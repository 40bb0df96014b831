// Starts and stops the control plane's processes so that none outlives the harness.
// Three layers: (1) each child runs in its own process group (detached: setsid) and is stopped by signalling
// the whole group; (2) handlers on exit/SIGINT/SIGTERM/uncaught errors SIGKILL every live group synchronously;
// (3) each Go child gets BMCP_PARENT_PID and exits by itself within ~0.5 s once this process is gone, which
// covers a SIGKILL of the harness, where no handler can run.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

export interface ManagedProcess {
  name: string;
  pid: number;
  logFile: string;
  child: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited: () => boolean;
}

const live = new Set<ManagedProcess>();
let handlersInstalled = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

/** SIGKILLs every process group this module started and that is still running. Synchronous. */
export function killAllNow(): void {
  for (const p of live) killGroup(p.pid, 'SIGKILL');
  live.clear();
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      // Someone else (the CLI) handles this signal gracefully: only act if we are the only listener.
      if (process.listenerCount(signal) > 1) return;
      killAllNow();
      process.off(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Starts a command in its own process group, output appended to logFile, watched by BMCP_PARENT_PID. */
export function spawnManaged(options: SpawnOptions): ManagedProcess {
  installHandlers();
  const fd = openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env, BMCP_PARENT_PID: String(process.pid) },
      stdio: ['ignore', fd, fd],
      detached: true,
    });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) {
    throw new Error(`failed to start ${options.name} (${options.command}); see ${options.logFile}`);
  }
  let done = false;
  const managed: ManagedProcess = {
    name: options.name,
    pid: child.pid,
    logFile: options.logFile,
    child,
    hasExited: () => done,
    exited: new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        done = true;
        live.delete(managed);
        resolve({ code, signal });
      });
    }),
  };
  // Let the harness's own process exit even while children run (the CLI keeps itself alive).
  child.unref();
  live.add(managed);
  return managed;
}

/** SIGTERM the process group, SIGKILL it after graceMs, and wait until the leader has exited. */
export async function stopManaged(p: ManagedProcess, graceMs = 5000): Promise<void> {
  if (p.hasExited()) {
    killGroup(p.pid, 'SIGKILL');
    return;
  }
  killGroup(p.pid, 'SIGTERM');
  const timer = setTimeout(() => killGroup(p.pid, 'SIGKILL'), graceMs);
  await p.exited;
  clearTimeout(timer);
  // Anything the leader left behind in its group goes too.
  killGroup(p.pid, 'SIGKILL');
}
