// A gateway pod without a kubelet: the local cluster's fake kubelet runs no container and mounts nothing, so
// the suites run the gateway as a local process with the arguments and environment of the Deployment the
// operator rendered (paths under the secrets directory moved to a local one), and play the kubelet's part
// for its Secret volumes: each volume written under that directory the way the kubelet's atomic writer does
// (every key a symlink through `..data` to a timestamped directory, replaced by one rename), kept in step
// with the Secrets every `periodMs`. Only this stand-in reads Secrets (with the admin's credentials, as the
// kubelet does with its own); the gateway process reads files.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GATEWAY_SECRETS_DIR } from '../../operator/src/render/gateway.js';
import type { KubeClient, KubeObject } from '../../kube/client.js';
import { R } from '../../kube/resources.js';
import { repoRoot } from './env.js';

interface PodTemplate {
  volumes?: { name: string; secret?: { secretName: string; optional?: boolean } }[];
  containers: {
    args: string[];
    env?: { name: string; value?: string }[];
    volumeMounts?: { name: string; mountPath: string }[];
  }[];
}

export const podTemplateOf = (d: KubeObject): PodTemplate =>
  (d.spec as { template: { spec: PodTemplate } }).template.spec;

/** Writes a Secret's data as the kubelet's atomic writer does. */
function writeAtomically(dir: string, data: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  const stamp = `..${Date.now()}_${Math.random().toString(36).slice(2, 8)}`;
  mkdirSync(join(dir, stamp));
  for (const [k, v] of Object.entries(data)) writeFileSync(join(dir, stamp, k), Buffer.from(v, 'base64'));
  symlinkSync(stamp, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const k of Object.keys(data)) {
    try {
      symlinkSync(join('..data', k), join(dir, k));
    } catch {
      // the key's link exists from an earlier write and follows ..data
    }
  }
}

/** The kubelet's part for the Secret volumes of one gateway Deployment, under a local directory. */
export class SecretVolumes {
  /** A local directory standing for the pods' secrets directory. */
  readonly root = mkdtempSync(join(tmpdir(), 'gw-secrets-'));
  /** When each Secret's files were last (re)written, by Secret name. */
  readonly written = new Map<string, number>();
  private readonly hashes = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly namespace: string,
    private readonly deployment: string,
    private readonly periodMs = 500,
  ) {}

  /** The local path of a pod path under the secrets directory. */
  local(podPath: string): string {
    if (podPath === GATEWAY_SECRETS_DIR) return this.root;
    return podPath.startsWith(`${GATEWAY_SECRETS_DIR}/`)
      ? join(this.root, podPath.slice(GATEWAY_SECRETS_DIR.length + 1))
      : podPath;
  }

  start(): void {
    const tick = (): void => {
      this.sync().then(
        () => (this.timer = setTimeout(tick, this.periodMs)),
        () => (this.timer = setTimeout(tick, this.periodMs)),
      );
    };
    tick();
  }

  stop(): void {
    clearTimeout(this.timer);
    rmSync(this.root, { recursive: true, force: true });
  }

  /** One sync: every Secret volume of the Deployment's pod template written if its data changed. */
  async sync(): Promise<void> {
    const dep = await this.client.get(R.Deployment, this.namespace, this.deployment).catch(() => undefined);
    if (dep === undefined) return;
    const pod = podTemplateOf(dep);
    const mounts = pod.containers[0]?.volumeMounts ?? [];
    for (const v of pod.volumes ?? []) {
      const mount = mounts.find((m) => m.name === v.name);
      if (!v.secret || !mount) continue;
      const secret = await this.client
        .get(R.Secret, this.namespace, v.secret.secretName)
        .catch(() => undefined);
      const dir = this.local(mount.mountPath);
      // An optional volume of a missing Secret is an empty directory; a required one keeps the pod waiting.
      const data = (secret?.data ?? {}) as Record<string, string>;
      if (secret === undefined && v.secret.optional !== true) continue;
      const hash = createHash('sha256').update(JSON.stringify(data)).digest('hex');
      if (this.hashes.get(dir) === hash) continue;
      writeAtomically(dir, data);
      this.hashes.set(dir, hash);
      this.written.set(v.secret.secretName, Date.now());
    }
  }
}

export interface GatewayProcess {
  child: ChildProcess;
  url: string;
  output: string[];
  stop(): Promise<void>;
}

/**
 * Runs `beastmode gateway` with the container's arguments and environment from the rendered Deployment:
 * the port and address made local, the secrets directory the stand-in's, and `--kubeconfig` in place of the
 * pod's in-cluster ServiceAccount.
 */
export function startGatewayProcess(o: {
  deployment: KubeObject;
  volumes: SecretVolumes;
  kubeconfig: string;
  port: number;
  env?: Record<string, string>;
}): GatewayProcess {
  const container = podTemplateOf(o.deployment).containers[0];
  if (!container) throw new Error('the Deployment has no container');
  const args = container.args.slice(1).map((a, i, all) => {
    if (all[i - 1] === '--port') return String(o.port);
    return all[i - 1] === '--secrets-dir' ? o.volumes.local(a) : a;
  });
  const env: Record<string, string> = {};
  for (const e of container.env ?? [])
    if (e.value !== undefined && e.name !== 'NODE_OPTIONS') env[e.name] = o.volumes.local(e.value);
  const output: string[] = [];
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'cli/main.ts',
      'gateway',
      ...args,
      '--kubeconfig',
      o.kubeconfig,
      '--host',
      '127.0.0.1',
    ],
    {
      cwd: repoRoot,
      env: { ...process.env, ...env, ...o.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const keep = (b: Buffer): void => {
    output.push(b.toString());
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return {
    child,
    url: `http://127.0.0.1:${o.port}`,
    output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
