// The chart's Grafana dashboards (charts/beastmode/dashboards) against what the gateway and operator
// export: every panel query names only metrics their /metrics endpoints serve, with labels those metrics
// carry (or the scrape adds), and every query goes through the dashboard's data source variable. The set
// of metrics is read from a gateway started in-process and from the operator's registry, not from a list,
// so renaming a metric fails here until the dashboards follow. The chart's ConfigMaps, ServiceMonitor and
// PodMonitor are rendered with helm and checked against the objects they select (skipped without helm).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { findHelm } from '../../../testkit/helm.js';
import {
  exportedCatalogue,
  PODMONITOR_RELABELS,
  problems,
  type Catalogue,
} from '../../../testkit/metric-catalogue.js';
import { promqlNames, tokenize } from '../../../testkit/promql.js';
import type { ModelGateway } from '../../../api/v1alpha1/index.js';
import { GATEWAY_PORT } from '../render/gateway.js';
import { translateGateway } from '../render/translate.js';

const root = process.cwd();
const dir = join(root, 'charts', 'beastmode', 'dashboards');
const DATASOURCE = '${datasource}';

interface Target {
  expr?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  gridPos: { x: number; w: number };
  targets?: Target[];
}
interface Variable {
  name: string;
  type: string;
  query?: string | { query: string };
  datasource?: { uid?: string };
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
}

const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
const dashboards = files.map((f) => ({
  file: f,
  d: JSON.parse(readFileSync(join(dir, f), 'utf8')) as Dashboard,
}));

/** `label_values(selector, label)` of a query variable, checked as a selector carrying `label`. */
function variableProblems(v: Variable, known: Catalogue): string[] {
  const q = typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
  const m = /^label_values\((.+),\s*([A-Za-z_]\w*)\s*\)$/.exec(q.trim());
  if (m === null) return [`variable ${v.name}: not a label_values(selector, label) query: ${q}`];
  const [, selector = '', label = ''] = m;
  const metric = promqlNames(selector).selectors[0]?.metric ?? '';
  const missing = known.get(metric)?.has(label) === false ? [`${metric} has no label ${label}`] : [];
  return [...problems(selector, known), ...missing].map((p) => `variable ${v.name}: ${p}`);
}

let known: Catalogue;

beforeAll(async () => {
  known = await exportedCatalogue();
});

describe('the PromQL reader', () => {
  test('finds selectors, their matcher labels and grouping labels, not functions or variables', () => {
    const r = promqlNames(
      'histogram_quantile(0.95, sum by (le, route) (rate(beastmode_upstream_latency_seconds_bucket{namespace=~"$namespace", route!="a"}[$__rate_interval])))',
    );
    expect(r.selectors).toEqual([
      { metric: 'beastmode_upstream_latency_seconds_bucket', labels: ['namespace', 'route'] },
    ]);
    expect(r.labelUses).toEqual([
      { clause: 'by', labels: ['le', 'route'], metrics: ['beastmode_upstream_latency_seconds_bucket'] },
    ]);
  });

  test('scopes a trailing by clause and a join to their expressions', () => {
    const r = promqlNames('sum(rate(a_total[5m])) by (x) / on (y) group_left sum by (z) (b) * 1e6');
    expect(r.selectors.map((s) => s.metric)).toEqual(['a_total', 'b']);
    expect(r.labelUses).toEqual([
      { clause: 'by', labels: ['x'], metrics: ['a_total'] },
      { clause: 'on', labels: ['y'], metrics: ['a_total', 'b'] },
      { clause: 'by', labels: ['z'], metrics: ['b'] },
    ]);
  });

  test('reads a metric named by __name__ and ignores strings, numbers and keywords', () => {
    const r = promqlNames('{__name__="m", code="5xx"} offset 5m > bool 0 and n or nan');
    expect(r.selectors).toEqual([
      { metric: 'm', labels: ['code'] },
      { metric: 'n', labels: [] },
    ]);
  });

  test('refuses what it cannot check', () => {
    expect(() => promqlNames('{__name__=~"beastmode_.*"}')).toThrow(/pattern/);
    expect(() => promqlNames('$metric{route="a"}')).toThrow(/template variable/);
    expect(() => promqlNames('sum(rate(x[5m])')).toThrow(/unbalanced/);
    expect(() => tokenize('x ? y')).toThrow(/cannot read/);
  });

  test('reports a misspelt metric, a label it lacks in a matcher, a grouping or a variable', () => {
    expect(problems('sum(rate(beastmode_request_total[5m]))', known)).toEqual([
      'beastmode_request_total is not exported',
    ]);
    expect(problems('rate(beastmode_requests_total{model="x"}[5m])', known)).toEqual([
      'beastmode_requests_total has no label model',
    ]);
    expect(problems('sum by (key) (beastmode_inflight_requests)', known)).toEqual([
      'by (key): beastmode_inflight_requests has no label key',
    ]);
    expect(
      problems('histogram_quantile(0.9, rate(beastmode_time_to_first_token_seconds[5m]))', known),
    ).toEqual(['beastmode_time_to_first_token_seconds is not exported']);
    const variable = { name: 'route', type: 'query', query: 'label_values(beastmode_requests_total, model)' };
    expect(variableProblems(variable, known)).toEqual([
      'variable route: beastmode_requests_total has no label model',
    ]);
    expect(problems('rate(process_cpu_seconds_total[5m])', known)).toEqual([
      'process_cpu_seconds_total is not a Beast Mode metric',
    ]);
  });
});

describe('the dashboards', () => {
  test('are the six the chart ships, with distinct uids and titles', () => {
    expect(files.sort()).toEqual(
      ['autoscaling', 'canary', 'cost', 'limits', 'operator', 'traffic'].map((n) => `${n}.json`),
    );
    const uids = dashboards.map(({ d }) => d.uid);
    expect(new Set(uids).size).toBe(uids.length);
    expect(new Set(dashboards.map(({ d }) => d.title)).size).toBe(dashboards.length);
    for (const uid of uids) expect(uid).toMatch(/^beastmode-[a-z-]{1,30}$/);
  });

  test.each(dashboards)('$file: every panel queries exported metrics with labels they carry', ({ d }) => {
    const found: string[] = [];
    for (const p of d.panels.filter((p) => p.type !== 'row')) {
      if ((p.targets ?? []).length === 0) found.push(`${p.title}: no query`);
      for (const t of p.targets ?? []) {
        if (t.expr === undefined || t.expr === '') found.push(`${p.title}: a target without expr`);
        else found.push(...problems(t.expr, known).map((e) => `${p.title}: ${e}`));
      }
    }
    for (const v of d.templating.list.filter((v) => v.type === 'query'))
      found.push(...variableProblems(v, known));
    expect(found).toEqual([]);
  });

  test.each(dashboards)('$file: every query goes through the datasource variable', ({ d }) => {
    expect(d.schemaVersion).toBeGreaterThanOrEqual(39);
    expect(d.templating.list[0]).toMatchObject({
      name: 'datasource',
      type: 'datasource',
      query: 'prometheus',
    });
    const panels = d.panels.filter((p) => p.type !== 'row');
    const uids = [
      ...panels.map((p) => p.datasource?.uid),
      ...panels.flatMap((p) => (p.targets ?? []).map((t) => t.datasource?.uid)),
      ...d.templating.list.filter((v) => v.type === 'query').map((v) => v.datasource?.uid),
    ];
    expect(uids.filter((u) => u !== DATASOURCE)).toEqual([]);
    // Distinct panel ids (Grafana links and edits a panel by its id) on a 24-column grid.
    expect(new Set(d.panels.map((p) => p.id)).size).toBe(d.panels.length);
    for (const p of d.panels) expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
  });
});

const helm = findHelm(root);

/** The labels and container ports of the pods the operator renders for a ModelGateway. */
function gatewayPod(): { labels: Record<string, string>; ports: unknown[] } {
  const gateway = {
    apiVersion: 'beastmode.dev/v1alpha1',
    kind: 'ModelGateway',
    metadata: { name: 'main', namespace: 'llm', uid: 'u1' },
    spec: {},
  } as ModelGateway;
  const { objects } = translateGateway(
    {
      ...{ namespace: 'llm', gatewayName: 'main', gateway, routes: [], canaries: [] },
      ...{ serviceExists: () => true, deployment: undefined, autoscaled: false },
    },
    { now: new Date(0), defaultImage: 'ghcr.io/beastmode/beastmode:test' },
  );
  const template = (objects.deployment.spec as { template: PodTemplate }).template;
  return { labels: template.metadata.labels, ports: template.spec.containers[0]?.ports ?? [] };
}
interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: { containers: { ports: unknown[] }[] };
}

interface Doc {
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

function render(...set: string[]): Doc[] {
  const args = ['template', 'bm', join(root, 'charts', 'beastmode'), '--namespace', 'llm-system'];
  for (const s of set) args.push('--set', s);
  return parseAllDocuments(execFileSync(helm as string, args).toString())
    .map((d) => d.toJS() as Doc | null)
    .filter((d): d is Doc => d !== null);
}

(helm ? describe : describe.skip)('the chart', () => {
  test('renders no dashboards or monitors by default', () => {
    const docs = render();
    expect(docs.filter((d) => d.kind === 'ConfigMap' || d.kind.endsWith('Monitor'))).toEqual([]);
  });

  test('renders one ConfigMap per dashboard with the sidecar label and the JSON as shipped', () => {
    const maps = render('grafana.dashboards.enabled=true').filter((d) => d.kind === 'ConfigMap');
    expect(maps).toHaveLength(dashboards.length);
    for (const { file, d } of dashboards) {
      const cm = maps.find((m) => m.data?.[file] !== undefined);
      expect(cm?.metadata).toMatchObject({ namespace: 'llm-system', labels: { grafana_dashboard: '1' } });
      expect(JSON.parse(cm?.data?.[file] ?? '')).toEqual(d);
    }
  });

  test('takes the label, the namespace and the folder from values', () => {
    const maps = render(
      'grafana.dashboards.enabled=true',
      'grafana.dashboards.label=dash',
      'grafana.dashboards.labelValue=beastmode',
      'grafana.dashboards.namespace=monitoring',
      'grafana.dashboards.folder=LLM',
    ).filter((d) => d.kind === 'ConfigMap');
    for (const cm of maps) {
      expect(cm.metadata.namespace).toBe('monitoring');
      expect(cm.metadata.labels?.dash).toBe('beastmode');
      expect(cm.metadata.labels?.grafana_dashboard).toBeUndefined();
      expect(cm.metadata.annotations?.grafana_folder).toBe('LLM');
    }
  });

  test('scrapes the operator Service and the gateway pods where they serve /metrics', () => {
    const docs = render(
      'serviceMonitor.enabled=true',
      'podMonitor.enabled=true',
      'serviceMonitor.labels.release=kps',
    );
    const svc = docs.find((d) => d.kind === 'Service' && d.metadata.name === 'bm-beastmode-metrics');
    const sm = docs.find((d) => d.kind === 'ServiceMonitor');
    const pm = docs.find((d) => d.kind === 'PodMonitor');
    expect(sm?.metadata.labels?.release).toBe('kps');
    const smSpec = sm?.spec as {
      selector: { matchLabels: Record<string, string> };
      endpoints: { port: string; honorLabels?: boolean }[];
    };
    expect(svc?.metadata.labels).toMatchObject(smSpec.selector.matchLabels);
    // The operator's Canary and policy series carry their object's namespace, not the operator pod's.
    expect(smSpec.endpoints[0]?.honorLabels).toBe(true);
    const ports = (svc?.spec as { ports: { name: string }[] }).ports.map((p) => p.name);
    expect(ports).toContain(smSpec.endpoints[0]?.port);

    // The pods the operator renders for a ModelGateway, /metrics on the port the container names.
    const pmSpec = pm?.spec as {
      selector: { matchLabels: Record<string, string> };
      namespaceSelector: { any?: boolean };
      podMetricsEndpoints: {
        port: string;
        path: string;
        honorLabels: boolean;
        relabelings: { targetLabel: string }[];
      }[];
    };
    const pod = gatewayPod();
    expect(pod.labels).toMatchObject(pmSpec.selector.matchLabels);
    expect(pmSpec.namespaceSelector.any).toBe(true);
    const ep = pmSpec.podMetricsEndpoints[0];
    expect(ep).toMatchObject({ path: '/metrics', honorLabels: true });
    expect(pod.ports).toContainEqual({ name: ep?.port, containerPort: GATEWAY_PORT, protocol: 'TCP' });
    // The labels the dashboards rely on the PodMonitor adding.
    expect(ep?.relabelings.map((r) => r.targetLabel)).toEqual(expect.arrayContaining(PODMONITOR_RELABELS));
  });
});
