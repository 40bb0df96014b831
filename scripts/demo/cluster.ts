// What the demo asks of the cluster: kubectl for applying and waiting (what a user would type), and the
// API directly (kube/client.ts) for the fast status polling of the live view.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { CanaryStatus } from '../../api/v1alpha1/index.js';
import { KubeClient } from '../../kube/client.js';
import { R } from '../../kube/resources.js';
import { repoRoot } from '../../cluster/paths.js';
import { DEMO_NS } from './manifests.js';

export class Cluster {
  private readonly api: KubeClient;

  constructor(private readonly kubeconfig: string) {
    this.api = KubeClient.fromFile(kubeconfig);
  }

  kubectl(args: string[], input?: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = execFile(
        'kubectl',
        ['--kubeconfig', this.kubeconfig, ...args],
        { maxBuffer: 16 * 1024 * 1024, timeout: 180_000 },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`kubectl ${args.join(' ')}: ${stderr.trim() || err.message}`));
          else resolve(stdout);
        },
      );
      child.stdin?.end(input ?? '');
    });
  }

  async installCrds(): Promise<void> {
    await this.kubectl(['apply', '--server-side', '-f', join(repoRoot, 'crds')]);
    await this.kubectl([
      ...['wait', '--for=condition=Established', '--timeout=60s'],
      ...['crd', '-l', 'app.kubernetes.io/part-of=beastmode'],
    ]);
  }

  async ensureNamespace(ns: string): Promise<void> {
    await this.kubectl(['apply', '-f', '-'], `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n`);
  }

  async apply(yaml: string): Promise<void> {
    await this.kubectl(['apply', '-n', DEMO_NS, '-f', '-'], yaml);
  }

  async waitReady(kind: string, name: string, timeoutMs: number): Promise<void> {
    await this.kubectl([
      ...['wait', '-n', DEMO_NS, `${kind}/${name}`, '--for=condition=Ready'],
      `--timeout=${Math.round(timeoutMs / 1000)}s`,
    ]);
  }

  /** A GitOps-style change of one backend: new URL (a new model version) — what a commit would do. */
  async patchRouteBackendUrl(route: string, backend: string, url: string): Promise<void> {
    const json = JSON.parse(
      await this.kubectl(['get', '-n', DEMO_NS, 'modelroute', route, '-o', 'json']),
    ) as {
      spec: { backends: { name: string }[] };
    };
    const index = json.spec.backends.findIndex((b) => b.name === backend);
    if (index < 0) throw new Error(`route ${route} has no backend ${backend}`);
    const patch = [{ op: 'replace', path: `/spec/backends/${index}/url`, value: url }];
    await this.kubectl([
      'patch',
      '-n',
      DEMO_NS,
      'modelroute',
      route,
      '--type=json',
      '-p',
      JSON.stringify(patch),
    ]);
  }

  async canaryStatus(name: string): Promise<CanaryStatus | undefined> {
    const obj = await this.api.get(R.Canary, DEMO_NS, name);
    return obj.status as CanaryStatus | undefined;
  }

  async waitCanaryPhase(name: string, phases: string[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const phase = (await this.canaryStatus(name))?.phase;
      if (phase && phases.includes(phase)) return;
      if (Date.now() > deadline)
        throw new Error(`canary ${name} is ${phase ?? 'without status'}, expected ${phases.join(' or ')}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
