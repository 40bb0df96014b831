// The chart's embeddings server, rendered by helm: off by default; on, a restricted pod running `beastmode
// embeddings` with no service account token, a Service on its port, a disruption budget only with more than
// one replica, and a NetworkPolicy that lets callers in and nothing out. Skipped when no helm binary is
// around.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { findHelm } from '../../../testkit/helm.js';

const root = process.cwd();
const helm = findHelm(root);

interface Doc {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
}

/** helm template with each `a.b=v` as --set, and each `{a.b=json}` as --set-json. */
function render(...set: string[]): Doc[] {
  const args = ['template', 'bm', join(root, 'charts', 'beastmode'), '--namespace', 'llm-system'];
  for (const s of set) args.push(s.startsWith('{') ? '--set-json' : '--set', s.replace(/^\{|\}$/g, ''));
  return parseAllDocuments(execFileSync(helm as string, args).toString())
    .map((d) => d.toJS() as Doc | null)
    .filter((d): d is Doc => d !== null);
}

const NAME = 'bm-beastmode-embeddings';
const named = (docs: Doc[], kind: string) => docs.find((d) => d.kind === kind && d.metadata.name === NAME);

interface Pod {
  automountServiceAccountToken?: boolean;
  securityContext: Record<string, unknown>;
  containers: {
    args: string[];
    ports: { name: string; containerPort: number }[];
    readinessProbe: { httpGet: { path: string } };
    securityContext: Record<string, unknown>;
  }[];
}
const podOf = (d: Doc | undefined) => (d?.spec as { template: { spec: Pod } }).template.spec;

(helm ? describe : describe.skip)('the chart with the embeddings server', () => {
  test('is off by default', () => {
    const docs = render();
    expect(docs.filter((d) => d.metadata.name === NAME)).toEqual([]);
  });

  test('runs `beastmode embeddings` in a restricted pod with no token, behind a Service', () => {
    const docs = render('embeddings.enabled=true', 'embeddings.threads=4', 'embeddings.port=9000');
    const pod = podOf(named(docs, 'Deployment'));
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const c = pod.containers[0]!;
    expect(c.args).toEqual(['embeddings', '--port=9000', '--threads=4', '--max-queue=1024']);
    expect(c.ports).toEqual([{ name: 'http', containerPort: 9000, protocol: 'TCP' }]);
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(named(docs, 'Service')?.spec).toMatchObject({
      selector: { 'app.kubernetes.io/name': 'beastmode-embeddings', 'app.kubernetes.io/instance': 'bm' },
      ports: [{ port: 9000, targetPort: 'http' }],
    });
    // Its own labels: the operator's NetworkPolicy and Services do not select it.
    const operatorPolicy = docs.find((d) => d.kind === 'NetworkPolicy' && d.metadata.name === 'bm-beastmode');
    expect(JSON.stringify(operatorPolicy?.spec)).not.toContain('beastmode-embeddings');
  });

  test('keeps one replica through a drain only when it has more than one', () => {
    expect(named(render('embeddings.enabled=true'), 'PodDisruptionBudget')?.spec).toMatchObject({
      maxUnavailable: 1,
    });
    expect(
      named(render('embeddings.enabled=true', 'embeddings.replicas=1'), 'PodDisruptionBudget'),
    ).toBeUndefined();
  });

  test('lets the declared callers in and nothing out', () => {
    const from = [{ namespaceSelector: { matchLabels: { team: 'llm' } } }];
    const docs = render('embeddings.enabled=true', `{embeddings.from=${JSON.stringify(from)}}`);
    expect(named(docs, 'NetworkPolicy')?.spec).toEqual({
      podSelector: {
        matchLabels: { 'app.kubernetes.io/name': 'beastmode-embeddings', 'app.kubernetes.io/instance': 'bm' },
      },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ ports: [{ port: 8080, protocol: 'TCP' }], from }],
      egress: [],
    });
    expect(
      named(render('embeddings.enabled=true', 'networkPolicy.enabled=false'), 'NetworkPolicy'),
    ).toBeUndefined();
  });
});
