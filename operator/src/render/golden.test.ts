// Golden files: every testdata/<case>.in.yaml (a gateway, its routes, canaries, the Services that exist,
// autoscaling policies, optionally the live Deployment and what the gateway's instances report about
// credentials and routers, as a `kind: GatewayCredentials` document) renders to testdata/<case>.out.yaml:
// owned objects, the compiled GatewayConfig and every status. The case's objects stand in for the informer
// caches, and the snapshots and translators are the controllers' own, so a golden file shows exactly what
// the operator applies and writes. UPDATE_GOLDEN=1 rewrites the outputs.
import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { GATEWAY_CONFIG_KEY, GatewayConfig, type AutoscalingPolicy } from '../../../api/v1alpha1/index.js';
import type { KubeObject } from '../../../kube/client.js';
import type { KnownKind } from '../../../kube/resources.js';
import { CredentialReports } from '../controllers/credentials.js';
import {
  autoscalingSnapshot,
  gatewaySnapshot,
  routeIndexes,
  routeSnapshot,
} from '../controllers/snapshot.js';
import type { CredentialsReport, RouterReport } from './translate.js';
import type { Cache } from '../runtime/framework.js';
import { translateAutoscalingPolicy } from './autoscaling.js';
import { translateGateway, translateRoutes } from './translate.js';

const dir = join(process.cwd(), 'operator', 'src', 'render', 'testdata');
const NOW = new Date('2025-01-01T00:00:00Z');

/** The informer caches as the controllers read them, holding a case's objects (namespace defaulted). */
function caseCache(docs: KubeObject[], namespace: string): Cache {
  const objs = docs.map((d) => ({
    ...d,
    metadata: { ...d.metadata, namespace: d.metadata.namespace ?? namespace },
  }));
  const ofKind = (kind: KnownKind, ns?: string): KubeObject[] =>
    objs.filter((o) => o.kind === kind && (ns === undefined || o.metadata.namespace === ns));
  return {
    get: <T>(kind: KnownKind, ns: string, name: string) =>
      ofKind(kind, ns).find((o) => o.metadata.name === name) as T | undefined,
    list: <T>(kind: KnownKind, ns?: string) => ofKind(kind, ns) as T[],
    byIndex: <T>(kind: KnownKind, index: string, value: string) => {
      const decl = routeIndexes.find((i) => i.kind === kind && i.name === index);
      if (!decl) throw new Error(`no index ${index} on ${kind}`);
      return ofKind(kind).filter((o) => decl.fn(o).includes(value)) as T[];
    },
  };
}

/** A case's report of the gateway's instances: `instances`, and per route the credentials they cannot read. */
interface GatewayCredentialsDoc {
  kind: 'GatewayCredentials';
  instances: number;
  routes: Record<string, CredentialsReport['unavailable']>;
  /** What the instances report of routes' routers (models, learned weak share). */
  router?: Record<string, RouterReport>;
}

interface Case {
  cache: Cache;
  namespace: string;
  gateway: string;
  credentials: CredentialReports;
}

function loadCase(name: string): Case {
  const all = parseAllDocuments(readFileSync(join(dir, `${name}.in.yaml`), 'utf8')).map(
    (d) => d.toJS() as KubeObject | GatewayCredentialsDoc,
  );
  const isReport = (d: KubeObject | GatewayCredentialsDoc): d is GatewayCredentialsDoc =>
    d.kind === 'GatewayCredentials';
  const docs = all.filter((d): d is KubeObject => !isReport(d));
  const gw = docs.find((d) => d.kind === 'ModelGateway');
  if (!gw) throw new Error('a case needs a ModelGateway');
  const namespace = gw.metadata.namespace ?? 'default';
  const credentials = new CredentialReports();
  for (const r of all.filter(isReport)) {
    const routes = new Map(
      Object.entries(r.routes).map(([route, unavailable]) => [
        route,
        { instances: r.instances, unavailable },
      ]),
    );
    credentials.record(`${namespace}/${gw.metadata.name}`, {
      instances: r.instances,
      routes,
      ...(r.router !== undefined ? { router: new Map(Object.entries(r.router)) } : {}),
    });
  }
  return { cache: caseCache(docs, namespace), namespace, gateway: gw.metadata.name, credentials };
}

function renderCase(name: string): unknown[] {
  const { cache, namespace, gateway, credentials } = loadCase(name);
  const snap = gatewaySnapshot(cache, namespace, gateway, credentials);
  if (!snap) throw new Error(`ModelGateway ${namespace}/${gateway} not in the case`);
  const out = translateGateway(snap, { now: NOW, defaultImage: 'ghcr.io/beastmode/beastmode:test' });
  GatewayConfig.parse(out.config);
  const o = out.objects;
  const configData = (o.configMap.data as Record<string, string>)[GATEWAY_CONFIG_KEY] ?? '';
  expect(JSON.parse(configData)).toEqual(out.config);
  const rendered: unknown[] = [
    o.serviceAccount,
    o.role,
    o.roleBinding,
    // The config as YAML rather than the JSON string the ConfigMap holds, so a diff reads line by line.
    { ...o.configMap, data: { [GATEWAY_CONFIG_KEY]: out.config } },
    o.deployment,
    o.service,
    o.podDisruptionBudget,
    ...(o.networkPolicy ? [o.networkPolicy] : []),
    { kind: 'ModelGatewayStatus', name: gateway, status: out.status },
  ];
  for (const [route, r] of out.routes)
    rendered.push({ kind: 'ModelRouteStatus', name: route, status: r.status });
  for (const p of cache.list<AutoscalingPolicy>('AutoscalingPolicy', namespace)) {
    const a = translateAutoscalingPolicy(autoscalingSnapshot(cache, p), NOW);
    if (a.hpa) rendered.push(a.hpa);
    rendered.push({ kind: 'AutoscalingPolicyStatus', name: p.metadata.name, status: a.status });
  }
  return rendered;
}

const cases = readdirSync(dir)
  .filter((f) => f.endsWith('.in.yaml'))
  .map((f) => f.replace(/\.in\.yaml$/, ''));

describe('golden renders', () => {
  test('there are cases', () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  test.each(cases)('%s renders to its golden file', (name) => {
    const rendered = renderCase(name)
      .map((d) => stringify(d, { lineWidth: 0 }))
      .join('---\n');
    const golden = join(dir, `${name}.out.yaml`);
    if (process.env.UPDATE_GOLDEN === '1' || !existsSync(golden)) writeFileSync(golden, rendered);
    expect(rendered).toBe(readFileSync(golden, 'utf8'));
  });

  test.each(cases)('%s: the route controller judges each route as the gateway controller does', (name) => {
    const { cache, namespace, gateway, credentials } = loadCase(name);
    const snap = gatewaySnapshot(cache, namespace, gateway, credentials);
    if (!snap) throw new Error('no gateway');
    const all = translateGateway(snap, { now: NOW, defaultImage: 'test' }).routes;
    expect(all.size).toBeGreaterThan(0);
    for (const [route, expected] of all) {
      const alone = translateRoutes(routeSnapshot(cache, namespace, gateway, route, credentials), {
        now: NOW,
      });
      expect([...alone.keys()]).toEqual([route]);
      expect(alone.get(route)?.status).toEqual(expected.status);
    }
  });
});
