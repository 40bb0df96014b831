// What the gateway and the operator export, as the tests that check PromQL against it (the chart's Grafana
// dashboards, its alert rules) read it: series name → label names, from a gateway started in-process and
// the operator's registry — not from a list, so renaming a metric fails those tests until the queries
// follow — plus the labels their scrapes add. And the check of one query against it.
import type { Registry } from 'prom-client';
import { createLogger } from '../gateway/src/log.js';
import { startGateway } from '../gateway/src/server/gateway.js';
import { createMetrics } from '../operator/src/observability/metrics.js';
import { startHttpServer } from '../operator/src/observability/server.js';
import { promqlNames } from './promql.js';

/** Series name → label names, of one component's /metrics, plus the labels its scrape adds. */
export type Catalogue = Map<string, Set<string>>;

// What the chart's monitors add to every series: the Prometheus Operator's target labels for a pod or
// service endpoint, and on the gateways' the PodMonitor's relabelling (the dashboards' chart test checks it).
export const SCRAPE_LABELS = ['namespace', 'pod', 'container', 'endpoint', 'job', 'instance', 'service'];
export const PODMONITOR_RELABELS = ['gateway'];

/**
 * The series a registry serves, as its /metrics text lists them (# TYPE lines), with the label names its
 * metrics declare: a histogram `h` is served as h_bucket (with le), h_sum and h_count; a summary's
 * quantiles carry `quantile`.
 */
export function catalogue(registry: Registry, scraped: string, targetLabels: string[]): Catalogue {
  const declared = new Map(
    registry
      .getMetricsAsArray()
      .map((m) => [m.name, (m as unknown as { labelNames?: string[] }).labelNames ?? []] as const),
  );
  const out: Catalogue = new Map();
  for (const [, name, type] of scraped.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const labels = [...(declared.get(name as string) ?? []), ...targetLabels];
    const add = (series: string, extra: string[] = []) => out.set(series, new Set([...labels, ...extra]));
    if (type === 'histogram') {
      add(`${name}_bucket`, ['le']);
      add(`${name}_sum`);
      add(`${name}_count`);
    } else if (type === 'summary') {
      add(name as string, ['quantile']);
      add(`${name}_sum`);
      add(`${name}_count`);
    } else add(name as string);
  }
  if (out.size === 0) throw new Error('the registry served no metrics');
  return out;
}

/** The gateway's and the operator's series, each with its scrape's labels. */
export async function exportedCatalogue(): Promise<Catalogue> {
  const gw = await startGateway({ source: { none: true }, logger: createLogger('error', true) });
  const op = createMetrics();
  const server = await startHttpServer(0, op.registry, { live: () => true, ready: () => true });
  try {
    const address = server.address();
    const opPort = typeof address === 'object' && address !== null ? address.port : 0;
    const [gwText, opText] = await Promise.all([
      fetch(`${gw.url}/metrics`).then((r) => r.text()),
      fetch(`http://127.0.0.1:${opPort}/metrics`).then((r) => r.text()),
    ]);
    const gateway = catalogue(gw.state.metrics.registry, gwText, [...SCRAPE_LABELS, ...PODMONITOR_RELABELS]);
    const operator = catalogue(op.registry, opText, SCRAPE_LABELS);
    return new Map([...gateway, ...operator]);
  } finally {
    await gw.close(0);
    await new Promise((r) => server.close(r));
  }
}

/** Problems of one query: unknown metrics, labels the metric does not carry, names outside the product's. */
export function problems(expr: string, known: Catalogue): string[] {
  const out: string[] = [];
  const { selectors, labelUses } = promqlNames(expr);
  if (selectors.length === 0) out.push(`no metric in: ${expr}`);
  for (const s of selectors) {
    const labels = known.get(s.metric);
    if (!s.metric.startsWith('beastmode_')) out.push(`${s.metric} is not a Beast Mode metric`);
    if (labels === undefined) out.push(`${s.metric} is not exported`);
    else for (const l of s.labels) if (!labels.has(l)) out.push(`${s.metric} has no label ${l}`);
  }
  for (const u of labelUses)
    for (const m of u.metrics)
      for (const l of u.labels)
        if (known.get(m)?.has(l) === false) out.push(`${u.clause} (${l}): ${m} has no label ${l}`);
  return out;
}
