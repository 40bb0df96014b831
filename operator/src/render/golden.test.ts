// Golden files: every testdata/<case>.in.yaml (a gateway, its routes, canaries, the Secrets and Services
// that exist, autoscaling policies, optionally the live Deployment) renders to testdata/<case>.out.yaml:
// owned objects, the compiled GatewayConfig and every status. UPDATE_GOLDEN=1 rewrites the outputs.
import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import {
  GATEWAY_CONFIG_KEY,
  GatewayConfig,
  type AutoscalingPolicy,
  type Canary,
  type ModelGateway,
  type ModelRoute,
} from '../../../api/v1alpha1/index.js';
import type { KubeObject } from '../../../kube/client.js';
import { renderAutoscalingStatus, renderHpa } from './autoscaling.js';
import { renderGatewayObjects } from './gateway.js';
import { renderGatewayStatus } from './gateway-status.js';
import { renderRouteStatus } from './route-status.js';
import { compileGatewayConfig, evaluateRoutes, referencedSecrets } from './translate.js';

const dir = join(process.cwd(), 'operator', 'src', 'render', 'testdata');
const NOW = '2025-01-01T00:00:00Z';

function renderCase(docs: KubeObject[]): unknown[] {
  const of = <T>(kind: string): T[] => docs.filter((d) => d.kind === kind) as unknown as T[];
  const gw = of<ModelGateway>('ModelGateway')[0];
  if (!gw) throw new Error('a case needs a ModelGateway');
  const ns = gw.metadata.namespace ?? 'default';
  const secrets = new Set(of<KubeObject>('Secret').map((s) => s.metadata.name));
  const services = new Set(
    of<KubeObject>('Service').map((s) => `${s.metadata.namespace ?? ns}/${s.metadata.name}`),
  );
  const policies = of<AutoscalingPolicy>('AutoscalingPolicy');
  const verdicts = evaluateRoutes({
    namespace: ns,
    gatewayName: gw.metadata.name,
    gateway: gw,
    routes: of<ModelRoute>('ModelRoute').filter((r) => r.spec.gatewayRef.name === gw.metadata.name),
    canaries: of<Canary>('Canary'),
    secretExists: (n) => secrets.has(n),
    serviceExists: (n, name) => services.has(`${n}/${name}`),
  });
  const config = compileGatewayConfig(gw, verdicts);
  GatewayConfig.parse(config);
  const autoscaled = policies.some(
    (p) => p.spec.targetRef.kind === 'ModelGateway' && p.spec.targetRef.name === gw.metadata.name,
  );
  const objs = renderGatewayObjects({
    gateway: gw,
    config,
    secrets: referencedSecrets(gw, verdicts),
    defaultImage: 'ghcr.io/beastmode/beastmode:test',
    autoscaled,
  });
  const liveDeployment = docs.find((d) => d.kind === 'Deployment');
  const out: unknown[] = [
    objs.serviceAccount,
    objs.role,
    objs.roleBinding,
    { ...objs.configMap, data: { [GATEWAY_CONFIG_KEY]: config } },
    objs.deployment,
    objs.service,
    objs.podDisruptionBudget,
    {
      kind: 'ModelGatewayStatus',
      name: gw.metadata.name,
      status: renderGatewayStatus({
        gateway: gw,
        deployment: liveDeployment,
        configRevision: config.revision,
        configApplied: true,
        attachedRoutes: config.routes.length,
        now: NOW,
      }),
    },
  ];
  for (const [name, v] of verdicts)
    out.push({ kind: 'ModelRouteStatus', name, status: renderRouteStatus(v.route, v, NOW) });
  for (const p of policies) {
    const t = p.spec.targetRef;
    const exists =
      t.kind === 'ModelGateway'
        ? t.name === gw.metadata.name
        : docs.some((d) => d.kind === 'Deployment' && d.metadata.name === t.name);
    out.push(renderHpa(p));
    out.push({
      kind: 'AutoscalingPolicyStatus',
      name: p.metadata.name,
      status: renderAutoscalingStatus(p, exists, undefined, NOW),
    });
  }
  return out;
}

const cases = readdirSync(dir)
  .filter((f) => f.endsWith('.in.yaml'))
  .map((f) => f.replace(/\.in\.yaml$/, ''));

describe('golden renders', () => {
  test('there are cases', () => {
    expect(cases.length).toBeGreaterThan(0);
  });
  test.each(cases)('%s renders to its golden file', (name) => {
    const docs = parseAllDocuments(readFileSync(join(dir, `${name}.in.yaml`), 'utf8')).map(
      (d) => d.toJS() as KubeObject,
    );
    const rendered = renderCase(docs)
      .map((d) => stringify(d, { lineWidth: 0 }))
      .join('---\n');
    const golden = join(dir, `${name}.out.yaml`);
    if (process.env.UPDATE_GOLDEN === '1' || !existsSync(golden)) writeFileSync(golden, rendered);
    expect(rendered).toBe(readFileSync(golden, 'utf8'));
  });
});
