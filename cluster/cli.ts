// `beastmode cluster build|up|down` (also `npm run cluster:build|cluster:up|cluster:down`): the local
// control plane from a terminal. A development tool of source checkouts, not part of the image.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { readFlags, type CommandSpec } from '../cli/flags.js';
import { buildControlPlane, MissingToolError } from './build.js';
import { startControlPlane } from './control-plane.js';
import { clusterStateDir, repoRoot } from './paths.js';

export const CLUSTER_COMMAND: CommandSpec = {
  name: 'beastmode cluster',
  usage: 'build | up | down [--dir <dir>]',
  summary:
    'A real Kubernetes control plane as local processes (etcd, kube-apiserver, controller-manager,\n' +
    'scheduler, a fake kubelet), built from Go modules without Docker.\n' +
    '  build  builds the binaries, or finds them in ~/.cache/beastmode (first time: about 9 min on 2 cores)\n' +
    '  up     starts a cluster, writes <dir>/kubeconfig, stays in the foreground until Ctrl-C or SIGTERM\n' +
    '  down   stops a cluster that `up` started in another terminal (through <dir>/state.json)',
  flags: {
    dir: {
      value: 'dir',
      default: '.beastmode/cluster',
      help: 'State directory: kubeconfig, pids, data, logs',
    },
  },
};

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

function readState(stateFile: string): ClusterState | undefined {
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

async function up(stateDir: string): Promise<void> {
  const stateFile = join(stateDir, 'state.json');
  const existing = readState(stateFile);
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
      `Try:   kubectl --kubeconfig ${rel} get nodes`,
      `Or:    export KUBECONFIG=${cp.kubeconfigPath}`,
      `Logs:  ${join(stateDir, 'logs')}`,
      'Stop:  Ctrl-C here, or npm run cluster:down from another terminal',
      '',
    ].join('\n'),
  );
}

async function down(stateDir: string): Promise<void> {
  const stateFile = join(stateDir, 'state.json');
  const state = readState(stateFile);
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

/** Resolves with an exit code, or undefined while `up` keeps the cluster running. */
export async function runCluster(argv: string[], env: NodeJS.ProcessEnv): Promise<number | undefined> {
  const read = readFlags(CLUSTER_COMMAND, argv, env);
  if (read.kind === 'help') {
    process.stdout.write(read.text);
    return 0;
  }
  const [verb] = read.kind === 'ok' ? read.positionals : [];
  const steps = { build: () => build(), up, down } as const;
  if (read.kind === 'error' || verb === undefined || !(verb in steps)) {
    process.stderr.write(
      `${read.kind === 'error' ? read.message : `usage: ${CLUSTER_COMMAND.name} ${CLUSTER_COMMAND.usage}`}\n`,
    );
    return 2;
  }
  const stateDir = resolve((read.values.dir as string | undefined) ?? clusterStateDir);
  try {
    await steps[verb as keyof typeof steps](stateDir);
  } catch (err) {
    log(err instanceof MissingToolError ? err.message : ((err as Error).stack ?? String(err)));
    return 1;
  }
  return verb === 'up' ? undefined : 0;
}
