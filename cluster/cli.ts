// `npm run cluster:build|cluster:up|cluster:down`: the local control plane from a terminal.
//   build  builds (or finds in the cache) the binaries
//   up     starts a cluster, writes .beastmode/cluster/kubeconfig, stays in the foreground until Ctrl-C/SIGTERM
//   down   stops a cluster that `up` started in another terminal (through .beastmode/cluster/state.json)
// `up` and `down` take `--dir <dir>` to use another state directory than .beastmode/cluster.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { buildControlPlane, MissingToolError } from './build.js';
import { startControlPlane } from './control-plane.js';
import { clusterStateDir, repoRoot } from './paths.js';

function optionValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

const stateDir = resolve(optionValue('--dir') ?? clusterStateDir);
const stateFile = join(stateDir, 'state.json');

interface ClusterState {
  pid: number;
  server: string;
  kubeconfigPath: string;
  processGroups: number[];
  startedAt: string;
}

function log(line: string): void {
  process.stderr.write(`[cluster] ${line}\n`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readState(): ClusterState | undefined {
  if (!existsSync(stateFile)) return undefined;
  try {
    return JSON.parse(readFileSync(stateFile, 'utf8')) as ClusterState;
  } catch {
    return undefined;
  }
}

async function build(): Promise<void> {
  const started = Date.now();
  const binaries = await buildControlPlane({ onProgress: log });
  log(
    `${binaries.built ? 'Built' : 'Cached'}: ${binaries.bmcp}, ${binaries.helm} ` +
      `(${((Date.now() - started) / 1000).toFixed(1)}s)`,
  );
}

async function up(): Promise<void> {
  const existing = readState();
  if (existing && alive(existing.pid)) {
    throw new Error(
      `a cluster is already running (pid ${existing.pid}, ${existing.server}); run npm run cluster:down`,
    );
  }
  mkdirSync(stateDir, { recursive: true });
  const started = Date.now();
  const cp = await startControlPlane({ dir: stateDir, log });
  const state: ClusterState = {
    pid: process.pid,
    server: cp.server,
    kubeconfigPath: cp.kubeconfigPath,
    processGroups: cp.pids(),
    startedAt: new Date().toISOString(),
  };
  writeFileSync(stateFile, JSON.stringify(state, null, 2) + '\n');

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping the cluster`);
    cp.stop()
      .catch((err: unknown) => log(`stop failed: ${(err as Error).message}`))
      .finally(() => {
        rmSync(stateFile, { force: true });
        log('stopped');
        process.exit(0);
      });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGHUP', () => shutdown('SIGHUP'));
  // Keep the event loop alive until a signal arrives.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  void keepAlive;

  const rel = relative(process.cwd(), cp.kubeconfigPath) || cp.kubeconfigPath;
  process.stdout.write(
    [
      '',
      `Local Kubernetes ${cp.kubernetesVersion} control plane is up at ${cp.server} ` +
        `(${((Date.now() - started) / 1000).toFixed(1)}s)`,
      `kubeconfig: ${cp.kubeconfigPath}`,
      '',
      readFileSync(cp.kubeconfigPath, 'utf8'),
      `Try:   kubectl --kubeconfig ${rel} get nodes`,
      `Or:    export KUBECONFIG=${cp.kubeconfigPath}`,
      `Logs:  ${join(stateDir, 'logs')}`,
      'Stop:  Ctrl-C here, or npm run cluster:down from another terminal',
      '',
    ].join('\n'),
  );
}

async function down(): Promise<void> {
  const state = readState();
  if (!state) {
    log(`no cluster state at ${relative(repoRoot, stateFile)}: nothing to stop`);
    return;
  }
  if (alive(state.pid)) {
    process.kill(state.pid, 'SIGTERM');
    const deadline = Date.now() + 20_000;
    while (alive(state.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  }
  // Whatever is left (the `up` process was SIGKILLed, or did not stop in time) is killed by process group.
  // (The children also exit by themselves once the `up` process is gone: see processes.ts.)
  const targets = alive(state.pid) ? [state.pid] : [];
  targets.push(...state.processGroups.map((pgid) => -pgid));
  for (const target of targets) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  rmSync(stateFile, { force: true });
  log(`stopped the cluster at ${state.server}`);
}

async function main(): Promise<void> {
  const command = process.argv[2];
  switch (command) {
    case 'build':
      return build();
    case 'up':
      return up();
    case 'down':
      return down();
    default:
      process.stderr.write('usage: npm run cluster:build|cluster:up|cluster:down\n');
      process.exit(2);
  }
}

main().catch((err: unknown) => {
  if (err instanceof MissingToolError) log(err.message);
  else log((err as Error).stack ?? String(err));
  process.exit(1);
});
