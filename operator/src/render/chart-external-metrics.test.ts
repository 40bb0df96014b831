// The chart with externalMetrics enabled, rendered by helm: the serving certificate is valid for the
// Service's DNS name and signed by the APIService's caBundle, the operator mounts it and serves on the
// named port, the front proxy's CA is readable through one RoleBinding in kube-system, and a certificate of
// the user's own replaces the generated one. Skipped when no helm binary is around.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { findHelm } from '../../../testkit/helm.js';

const root = process.cwd();
const helm = findHelm(root);

interface Doc {
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  roleRef?: { name: string };
}

function render(...set: string[]): Doc[] {
  const args = ['template', 'bm', join(root, 'charts', 'beastmode'), '--namespace', 'llm-system'];
  for (const s of set) args.push('--set', s);
  return parseAllDocuments(execFileSync(helm as string, args).toString())
    .map((d) => d.toJS() as Doc | null)
    .filter((d): d is Doc => d !== null);
}

const find = (docs: Doc[], kind: string, name?: string): Doc | undefined =>
  docs.find((d) => d.kind === kind && (name === undefined || d.metadata.name === name));

interface Container {
  args: string[];
  ports: { name: string; containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string }[];
}
const podOf = (d: Doc | undefined) =>
  (d?.spec as { template: { spec: { containers: Container[]; volumes?: unknown[] } } }).template.spec;

(helm ? describe : describe.skip)('the chart with external metrics', () => {
  test('is off by default: no APIService, no extra port, no kube-system binding', () => {
    const docs = render();
    expect(find(docs, 'APIService')).toBeUndefined();
    expect(docs.some((d) => d.metadata.namespace === 'kube-system')).toBe(false);
    const c = podOf(find(docs, 'Deployment')).containers[0];
    expect(c?.args.some((a) => a.startsWith('--metrics-api-port'))).toBe(false);
  });

  test('generates a serving certificate for the Service that the APIService trusts', () => {
    const docs = render('externalMetrics.enabled=true');
    const api = find(docs, 'APIService', 'v1beta1.external.metrics.k8s.io');
    const svc = find(docs, 'Service', 'bm-beastmode-metrics-api');
    const secret = find(docs, 'Secret', 'bm-beastmode-metrics-api-tls');
    expect(api?.spec).toMatchObject({
      group: 'external.metrics.k8s.io',
      version: 'v1beta1',
      service: { name: 'bm-beastmode-metrics-api', namespace: 'llm-system', port: 443 },
    });
    expect(svc?.spec).toMatchObject({ ports: [{ port: 443, targetPort: 'metrics-api' }] });
    const ca = new X509Certificate(Buffer.from(api?.spec?.caBundle as string, 'base64'));
    const cert = new X509Certificate(Buffer.from(secret?.data?.['tls.crt'] ?? '', 'base64'));
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.checkHost('bm-beastmode-metrics-api.llm-system.svc')).toBeDefined();
    expect(cert.checkHost('bm-beastmode-metrics-api.other.svc')).toBeUndefined();
    expect(secret?.data?.['ca.crt']).toBe(api?.spec?.caBundle);

    const pod = podOf(find(docs, 'Deployment'));
    const c = pod.containers[0] as Container;
    expect(c.args).toEqual(
      expect.arrayContaining([
        '--metrics-api-port=6443',
        '--metrics-api-cert-dir=/etc/beastmode/metrics-api',
      ]),
    );
    expect(c.ports).toContainEqual(expect.objectContaining({ name: 'metrics-api', containerPort: 6443 }));
    expect(c.volumeMounts).toContainEqual(
      expect.objectContaining({ name: 'metrics-api-tls', mountPath: '/etc/beastmode/metrics-api' }),
    );
    expect(pod.volumes).toContainEqual({
      name: 'metrics-api-tls',
      secret: { secretName: 'bm-beastmode-metrics-api-tls' },
    });

    const binding = docs.find((d) => d.kind === 'RoleBinding' && d.metadata.namespace === 'kube-system');
    expect(binding?.roleRef?.name).toBe('extension-apiserver-authentication-reader');
    // Nothing else outside the release namespace, and no auth-delegator rights.
    expect(docs.filter((d) => d.metadata.namespace === 'kube-system')).toHaveLength(1);
    expect(docs.some((d) => JSON.stringify(d).includes('system:auth-delegator'))).toBe(false);
  });

  test('takes a certificate of the user’s own (cert-manager) instead of generating one', () => {
    const docs = render(
      'externalMetrics.enabled=true',
      'externalMetrics.tls.secretName=metrics-api-cert',
      'externalMetrics.apiServiceAnnotations.cert-manager\\.io/inject-ca-from=llm-system/metrics-api-cert',
    );
    expect(find(docs, 'Secret')).toBeUndefined();
    const api = find(docs, 'APIService');
    expect(api?.spec?.caBundle).toBeUndefined();
    expect(api?.metadata.annotations).toEqual({
      'cert-manager.io/inject-ca-from': 'llm-system/metrics-api-cert',
    });
    expect(podOf(find(docs, 'Deployment')).volumes).toContainEqual({
      name: 'metrics-api-tls',
      secret: { secretName: 'metrics-api-cert' },
    });
  });
});
