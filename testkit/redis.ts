// Test helper: a real, throw-away redis-server on a free loopback port, in a temp dir, without
// persistence. Outage tests pause (SIGSTOP: connections hang), kill (SIGKILL: connections drop) and
// restart it on the same port.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestRedis {
  url: string;
  port: number;
  /** Stops the server and removes its directory. Idempotent. */
  stop(): Promise<void>;
  /** SIGSTOP: the server keeps its sockets open but answers nothing (a hung Redis). */
  pause(): void;
  /** SIGCONT after pause. */
  resume(): void;
  /** SIGKILL: connections drop at once; data is lost (no persistence). */
  kill(): Promise<void>;
  /** Starts a fresh, empty server on the same port after kill. */
  restart(): Promise<void>;
  /** The running server's pid (the benchmark pins it to CPUs), undefined once killed. */
  pid(): number | undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = createConnection({ host: '127.0.0.1', port }, () => {
        sock.write('PING\r\n');
      });
      sock.once('data', (d) => {
        sock.destroy();
        resolve(d.toString().startsWith('+PONG'));
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function exited(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => proc.once('exit', () => resolve()));
}

export async function startRedis(): Promise<TestRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'beastmode-redis-'));
  const port = await freePort();
  let proc: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    args.push('--dir', dir, '--protected-mode', 'no', '--loglevel', 'warning');
    proc = spawn('redis-server', args, { stdio: 'ignore' });
    await waitForPort(port, 10_000);
  };
  await launch();

  const signal = (sig: NodeJS.Signals): void => {
    if (proc && proc.exitCode === null) proc.kill(sig);
  };
  const kill = async (): Promise<void> => {
    if (!proc) return;
    const p = proc;
    p.kill('SIGCONT');
    p.kill('SIGKILL');
    await exited(p);
    proc = undefined;
  };

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    kill,
    pid: () => proc?.pid,
    restart: async () => {
      await kill();
      await launch();
    },
    stop: async () => {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
