// Proof that the cluster under test is a real Kubernetes: the real Deployment, ReplicaSet, garbage-collector
// and HPA controllers act, the fake kubelet makes pods Ready, helm installs into it, and /version is the pinned release.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { helm, kubectl, kubeconfigPath, repoRoot, type CommandResult } from './harness/env.js';

// jest 30 ignores the project-level testTimeout of jest.config.js, and `jest` is no global under ESM.
const TIMEOUT_MS = 180_000;

const ns = `e2e-cluster-${Date.now().toString(36)}`;

function expectSuccess(res: CommandResult, what: string): void {
  if (res.code !== 0) throw new Error(`${what} failed (exit code ${res.code}):\n${res.stderr}${res.stdout}`);
}

async function ok(args: string[], input?: string): Promise<string> {
  const res = await kubectl(args, input);
  if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${res.code}): ${res.stderr}`);
  return res.stdout;
}

async function getJson<T>(args: string[]): Promise<T> {
  return JSON.parse(await ok([...args, '-o', 'json'])) as T;
}

async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 90_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ''}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function deployment(name: string, replicas: number, extraMeta: Record<string, unknown> = {}): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, ...extraMeta },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'registry.example/app:1',
              resources: { requests: { cpu: '100m', memory: '64Mi' } },
            },
          ],
        },
      },
    },
  });
}

interface DeploymentStatus {
  spec: { replicas: number };
  status: {
    readyReplicas?: number;
    availableReplicas?: number;
    conditions?: { type: string; status: string }[];
  };
}

beforeAll(async () => {
  await ok(['create', 'namespace', ns]);
  // Pods need the namespace's default ServiceAccount (ServiceAccount admission): wait for the controller.
  await eventually('the default ServiceAccount', async () =>
    (await kubectl(['-n', ns, 'get', 'serviceaccount', 'default'])).code === 0 ? true : undefined,
  );
}, TIMEOUT_MS);

afterAll(async () => {
  await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe('local control plane', () => {
  it(
    'reports Kubernetes 1.34 on /version',
    async () => {
      const version = JSON.parse(await ok(['get', '--raw', '/version'])) as {
        gitVersion: string;
        minor: string;
      };
      expect(version.gitVersion).toMatch(/^v1\.34\.\d+$/);
      expect(version.minor).toBe('34');
    },
    TIMEOUT_MS,
  );

  it(
    'has a Ready node',
    async () => {
      const nodes = await getJson<{
        items: { status: { conditions: { type: string; status: string }[] } }[];
      }>(['get', 'nodes']);
      expect(
        nodes.items.some((n) => n.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True')),
      ).toBe(true);
    },
    TIMEOUT_MS,
  );

  it(
    'makes a Deployment Available with Ready pods',
    async () => {
      await ok(['apply', '-f', '-'], deployment('web', 2));
      await ok(['-n', ns, 'wait', '--for=condition=Available', 'deployment/web', '--timeout=90s']);
      const d = await getJson<DeploymentStatus>(['-n', ns, 'get', 'deployment', 'web']);
      expect(d.status.readyReplicas).toBe(2);
      const pods = await getJson<{
        items: { status: { phase: string; conditions?: { type: string; status: string }[] } }[];
      }>(['-n', ns, 'get', 'pods', '-l', 'app=web']);
      expect(pods.items).toHaveLength(2);
      for (const pod of pods.items) {
        expect(pod.status.phase).toBe('Running');
        expect(pod.status.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
      }
    },
    TIMEOUT_MS,
  );

  it(
    'garbage-collects a Deployment when its owner is deleted',
    async () => {
      await ok(['-n', ns, 'create', 'configmap', 'owner']);
      const owner = await getJson<{ metadata: { uid: string } }>(['-n', ns, 'get', 'configmap', 'owner']);
      const ownerReferences = [
        { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid },
      ];
      await ok(['apply', '-f', '-'], deployment('owned', 1, { ownerReferences }));
      await ok(['-n', ns, 'wait', '--for=condition=Available', 'deployment/owned', '--timeout=90s']);

      await ok(['-n', ns, 'delete', 'configmap', 'owner']);
      await eventually('the owned Deployment to be garbage-collected', async () =>
        (await kubectl(['-n', ns, 'get', 'deployment', 'owned'])).code !== 0 ? true : undefined,
      );
      await eventually('its pods to be garbage-collected', async () => {
        const pods = await getJson<{ items: unknown[] }>(['-n', ns, 'get', 'pods', '-l', 'app=owned']);
        return pods.items.length === 0 ? true : undefined;
      });
    },
    TIMEOUT_MS,
  );

  it(
    'scales a 1-replica Deployment to the HPA minReplicas of 2',
    async () => {
      await ok(['apply', '-f', '-'], deployment('scaled', 1));
      await ok(
        ['apply', '-f', '-'],
        JSON.stringify({
          apiVersion: 'autoscaling/v2',
          kind: 'HorizontalPodAutoscaler',
          metadata: { name: 'scaled', namespace: ns },
          spec: {
            scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'scaled' },
            minReplicas: 2,
            maxReplicas: 4,
            metrics: [
              {
                type: 'Resource',
                resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } },
              },
            ],
          },
        }),
      );
      const d = await eventually('the HPA to scale the Deployment to 2 ready replicas', async () => {
        const current = await getJson<DeploymentStatus>(['-n', ns, 'get', 'deployment', 'scaled']);
        return current.spec.replicas === 2 && current.status.readyReplicas === 2 ? current : undefined;
      });
      expect(d.spec.replicas).toBe(2);
      const hpa = await getJson<{ status: { desiredReplicas?: number } }>(['-n', ns, 'get', 'hpa', 'scaled']);
      expect(hpa.status.desiredReplicas).toBe(2);
    },
    TIMEOUT_MS,
  );

  describe('helm', () => {
    let chartDir: string;

    beforeAll(() => {
      chartDir = mkdtempSync(join(tmpdir(), 'beastmode-e2e-chart-'));
      mkdirSync(join(chartDir, 'templates'));
      writeFileSync(
        join(chartDir, 'Chart.yaml'),
        // kubeVersion makes helm check the server's /version (it needs a real 1.34 gitVersion).
        'apiVersion: v2\nname: hello\nversion: 0.1.0\nkubeVersion: ">=1.34.0-0 <1.35.0-0"\n',
      );
      writeFileSync(join(chartDir, 'values.yaml'), 'greeting: hello\n');
      writeFileSync(
        join(chartDir, 'templates', 'configmap.yaml'),
        [
          'apiVersion: v1',
          'kind: ConfigMap',
          'metadata:',
          '  name: {{ .Release.Name }}-greeting',
          'data:',
          '  greeting: {{ .Values.greeting | quote }}',
          '  kubeVersion: {{ .Capabilities.KubeVersion.Version | quote }}',
          '',
        ].join('\n'),
      );
    });

    afterAll(() => rmSync(chartDir, { recursive: true, force: true }));

    it(
      'renders a chart with helm template',
      async () => {
        const res = await helm(['template', 'demo', chartDir, '--namespace', ns, '--set', 'greeting=hi']);
        expectSuccess(res, 'helm template');
        expect(res.stdout).toContain('name: demo-greeting');
        expect(res.stdout).toContain('greeting: "hi"');
      },
      TIMEOUT_MS,
    );

    it(
      'installs a chart with helm install and uninstalls it',
      async () => {
        const install = await helm([
          'install',
          'demo',
          chartDir,
          '--namespace',
          ns,
          '--wait',
          '--timeout',
          '60s',
        ]);
        expectSuccess(install, 'helm install');
        const cm = await getJson<{ data: Record<string, string> }>([
          '-n',
          ns,
          'get',
          'configmap',
          'demo-greeting',
        ]);
        expect(cm.data.greeting).toBe('hello');
        expect(cm.data.kubeVersion).toMatch(/^v1\.34\.\d+$/);
        const list = await helm(['list', '--namespace', ns, '--output', 'json']);
        expect(JSON.parse(list.stdout)).toEqual([
          expect.objectContaining({ name: 'demo', status: 'deployed' }),
        ]);
        const uninstall = await helm(['uninstall', 'demo', '--namespace', ns, '--wait']);
        expectSuccess(uninstall, 'helm uninstall');
        expect((await kubectl(['-n', ns, 'get', 'configmap', 'demo-greeting'])).code).not.toBe(0);
      },
      TIMEOUT_MS,
    );
  });

  // Only meaningful (and only possible without Go) when the suites run on the local control plane.
  const local = process.env.E2E_LOCAL_CONTROL_PLANE === '1' ? it : it.skip;
  local(
    'leaves no process behind when the harness is killed with SIGKILL',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'beastmode-e2e-orphans-'));
      const tsx = join(repoRoot, 'node_modules', '.bin', 'tsx');
      const up = spawn(tsx, ['cli/main.ts', 'cluster', 'up', '--dir', dir], {
        cwd: repoRoot,
        stdio: 'ignore',
      });
      try {
        const state = await eventually('a second control plane to start', () => {
          const file = join(dir, 'state.json');
          return existsSync(file)
            ? (JSON.parse(readFileSync(file, 'utf8')) as { pid: number; processGroups: number[] })
            : undefined;
        });
        // A zombie (exited, not yet reaped by whoever inherited it) counts as gone.
        const alive = (pid: number): boolean => {
          try {
            process.kill(pid, 0);
          } catch {
            return false;
          }
          try {
            return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
          } catch {
            return process.platform !== 'linux'; // no /proc: trust kill(pid, 0)
          }
        };
        expect(state.processGroups).toHaveLength(5); // etcd, apiserver, controller-manager, scheduler, kubelet
        expect(state.processGroups.every(alive)).toBe(true);

        process.kill(state.pid, 'SIGKILL'); // no handler runs: only the children's watchdog can act
        await eventually(
          'every process of the killed harness to exit',
          () => (state.processGroups.some(alive) ? undefined : true),
          15_000,
        );
      } finally {
        up.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      }
    },
    TIMEOUT_MS,
  );

  it('exposes the kubeconfig path to tests', () => {
    expect(kubeconfigPath()).toMatch(/kubeconfig|config/);
  });
});
