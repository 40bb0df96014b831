// Operator benchmark: 1,000 ModelRoutes across 10 ModelGateways on a real API server. Reports time to
// converge (every route Accepted and every GatewayConfig holding its routes), the operator's peak RSS and
// its API writes, next to the anchor figures of Envoy Gateway.
//   npm run bench:operator -- [--kubeconfig path] [--routes 1000] [--gateways 10] [--runtime dist|tsx|both]
//     [--max-old-space-mb N] [--max-semi-space-mb N] [--node-arg=--flag …]
// The operator runs as the image runs it: compiled JavaScript (dist/, built first) with the V8 flags the
// chart sets (values `operator.maxHeapMiB`, `operator.maxSemiSpaceMiB`; 0 = V8's default). `--runtime tsx`
// runs the TypeScript sources through the tsx loader instead (what `npm run operator` does), which costs
// RSS of its own; `both` runs the benchmark once each, in separate namespaces.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { GATEWAY_CONFIG_KEY, type GatewayConfig } from '../../api/v1alpha1/index.js';
import { KubeClient, type KubeObject } from '../../kube/client.js';
import { R } from '../../kube/resources.js';
import { buildOperator, startOperator, sumMetric, type OperatorRuntime } from './process.js';

const repoRoot = process.cwd();
const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    routes: { type: 'string', default: '1000' },
    gateways: { type: 'string', default: '10' },
    port: { type: 'string', default: '18090' },
    keep: { type: 'boolean', default: false },
    'max-old-space-mb': { type: 'string' },
    'max-semi-space-mb': { type: 'string' },
    runtime: { type: 'string', default: 'dist' },
    'node-arg': { type: 'string', multiple: true, default: [] },
  },
});
if (!['dist', 'tsx', 'both'].includes(values.runtime)) throw new Error('--runtime is dist, tsx or both');
const runtimes: OperatorRuntime[] =
  values.runtime === 'both' ? ['dist', 'tsx'] : [values.runtime as OperatorRuntime];

/** The V8 flags the chart gives the operator through NODE_OPTIONS, unless overridden here. */
function v8Flags(): string[] {
  const chart = parse(readFileSync(join(repoRoot, 'charts', 'beastmode', 'values.yaml'), 'utf8')) as {
    operator?: { maxHeapMiB?: number; maxSemiSpaceMiB?: number };
  };
  const heap = Number(values['max-old-space-mb'] ?? chart.operator?.maxHeapMiB ?? 0);
  const semi = Number(values['max-semi-space-mb'] ?? chart.operator?.maxSemiSpaceMiB ?? 0);
  return [
    ...(heap > 0 ? [`--max-old-space-size=${heap}`] : []),
    ...(semi > 0 ? [`--max-semi-space-size=${semi}`] : []),
  ];
}
const nodeArgs = [...v8Flags(), ...(values['node-arg'] ?? [])];

const kubeconfigFound =
  values.kubeconfig ??
  process.env.E2E_KUBECONFIG ??
  [
    join(repoRoot, '.beastmode', 'cluster', 'kubeconfig'),
    join(repoRoot, '.beastmode', 'e2e', 'kubeconfig'),
  ].find(existsSync);
if (!kubeconfigFound)
  throw new Error('no kubeconfig: start a cluster with `npm run cluster:up` or pass --kubeconfig');
const kubeconfig: string = kubeconfigFound;
const ROUTES = Number(values.routes);
const GATEWAYS = Number(values.gateways);
const client = KubeClient.fromFile(kubeconfig);
const kubectl = (args: string[]): string =>
  execFileSync('kubectl', ['--kubeconfig', kubeconfig, ...args]).toString();

/** 200 MB, the target, in bytes (= 190.7 MiB). */
const TARGET_RSS = 200e6;
const WRITE_KINDS = ['ModelRoute', 'ConfigMap', 'ModelGateway', 'Deployment'];

async function pool<T>(items: T[], n: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (i < items.length) await fn(items[i++] as T);
    }),
  );
}

async function converged(ns: string): Promise<{ accepted: number; configured: number }> {
  const routes = await client.list(R.ModelRoute, ns);
  const accepted = routes.items.filter((r) =>
    (r.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions?.some(
      (c) => c.type === 'Accepted' && c.status === 'True',
    ),
  ).length;
  const cms = await client.list(R.ConfigMap, ns, { labelSelector: 'beastmode.dev/config=gateway' });
  let configured = 0;
  for (const cm of cms.items) {
    const data = (cm.data as Record<string, string> | undefined)?.[GATEWAY_CONFIG_KEY];
    if (data) configured += (JSON.parse(data) as GatewayConfig).routes.length;
  }
  return { accepted, configured };
}

interface RunResult {
  runtime: OperatorRuntime;
  appliedMs: number;
  convergedMs: number;
  /** VmHWM over the operator's whole life: start, gateways, routes, trailing writes. */
  peakRss: number;
  /** VmRSS once the gateways had settled, before the first route. */
  settledRss: number;
  writes: number;
  writesByKind: Record<string, number>;
}

const writesOf = (metrics: string, kind: string): number =>
  sumMetric(metrics, 'beastmode_operator_api_writes_total', (l) => l.includes(`kind="${kind}"`));

/** Creates the namespace and its gateways. */
async function setUpNamespace(runtime: OperatorRuntime): Promise<string> {
  const ns = `bench-op-${runtime}-${Date.now().toString(36)}`;
  kubectl(['create', 'namespace', ns]);
  for (let g = 0; g < GATEWAYS; g++) {
    await client.apply(
      R.ModelGateway,
      { metadata: { name: `gw-${g}`, namespace: ns }, spec: { replicas: 1 } },
      'bench',
    );
  }
  return ns;
}

/** Waits until every gateway has its ConfigMap, then a little more: the figure is about routes. */
async function gatewaysSettled(ns: string): Promise<void> {
  const settleDeadline = Date.now() + 60_000;
  while (
    (await client.list(R.ConfigMap, ns, { labelSelector: 'beastmode.dev/config=gateway' })).items.length <
    GATEWAYS
  ) {
    if (Date.now() > settleDeadline) throw new Error('gateways did not get their ConfigMaps in 60s');
    await new Promise((r) => setTimeout(r, 200));
  }
  await new Promise((r) => setTimeout(r, 2000));
}

async function run(runtime: OperatorRuntime): Promise<RunResult> {
  const ns = await setUpNamespace(runtime);
  const op = await startOperator({
    repoRoot,
    kubeconfig,
    port: Number(values.port),
    identity: 'bench',
    runtime,
    nodeArgs,
    args: ['--no-leader-elect', '--namespaces', ns, '--log-level', 'warn'],
  });
  try {
    await gatewaysSettled(ns);
    const settledRss = op.rss();
    const metricsBefore = await op.metrics();
    const writesBefore = await op.writes();
    const routes = Array.from({ length: ROUTES }, (_, i) => ({
      metadata: { name: `route-${i}`, namespace: ns },
      spec: {
        gatewayRef: { name: `gw-${i % GATEWAYS}` },
        model: `model-${i}`,
        backends: [
          { name: 'primary', url: `https://p${i}.example.com/v1`, weight: 3 },
          { name: 'secondary', url: `https://s${i}.example.com/v1`, weight: 1 },
        ],
      },
    }));
    const t0 = performance.now();
    await pool(routes, 32, (r) => client.apply(R.ModelRoute, r as unknown as KubeObject, 'bench'));
    const appliedMs = performance.now() - t0;
    let state = { accepted: 0, configured: 0 };
    const deadline = Date.now() + 300_000;
    while (state.accepted < ROUTES || state.configured < ROUTES) {
      if (Date.now() > deadline) throw new Error(`not converged in 300s: ${JSON.stringify(state)}`);
      await new Promise((r) => setTimeout(r, 100));
      state = await converged(ns);
    }
    const convergedMs = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 1500)); // trailing writes (gateway statuses after the last debounce)
    const metrics = await op.metrics();
    const writes = (await op.writes()) - writesBefore;
    const writesByKind = Object.fromEntries(
      WRITE_KINDS.map((k) => [k, writesOf(metrics, k) - writesOf(metricsBefore, k)]),
    );
    return { runtime, appliedMs, convergedMs, peakRss: op.peakRss(), settledRss, writes, writesByKind };
  } finally {
    await op.stop('SIGTERM');
    if (!values.keep) kubectl(['delete', 'namespace', ns, '--wait=false']);
  }
}

const RUNTIME_LABEL: Record<OperatorRuntime, string> = {
  dist: 'node dist/cli/main.js operator (compiled, as the image runs it)',
  tsx: 'node --import tsx cli/main.ts operator (TypeScript through the tsx loader, as `npm run operator`)',
};

function report(r: RunResult): string[] {
  const mib = (b: number): string => `${(b / 1024 / 1024).toFixed(0)} MiB (${(b / 1e6).toFixed(0)} MB)`;
  const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
  return [
    `operator benchmark: ${ROUTES} ModelRoutes across ${GATEWAYS} ModelGateways`,
    `  operator ran as                ${RUNTIME_LABEL[r.runtime]}`,
    `  node flags                     ${nodeArgs.join(' ') || 'none (V8 defaults)'}`,
    `  client applied all routes in   ${s(r.appliedMs)}`,
    `  converged (all Accepted, all GatewayConfigs complete) in ${s(r.convergedMs)}  (target < 20 s: ${r.convergedMs < 20_000 ? 'met' : 'MISSED'})`,
    `  operator peak RSS              ${mib(r.peakRss)}  (target < 200 MB: ${r.peakRss < TARGET_RSS ? 'met' : 'MISSED'}; VmHWM over the whole run)`,
    `  operator RSS before the routes ${mib(r.settledRss)}  (caches synced, ${GATEWAYS} gateways reconciled)`,
    `  API writes during the run      ${r.writes}  (${WRITE_KINDS.map((k) => `${k} ${r.writesByKind[k]}`).join(', ')}; Leases and Events excluded)`,
    `  anchor, Envoy Gateway: 200 routes accepted in ~2.6 s (${((2.6 / 200) * 1000).toFixed(1)} ms/route), 1.6 GiB at 500 routes`,
    `  ours: ${(r.convergedMs / ROUTES).toFixed(1)} ms/route (${(2.6 / 200 / (r.convergedMs / 1000 / ROUTES)).toFixed(2)}x the anchor's rate), ${(r.peakRss / (1.6 * 1024 ** 3)).toFixed(3)}x its memory at ${ROUTES} vs 500 routes`,
  ];
}

async function main(): Promise<void> {
  kubectl(['apply', '--server-side', '-f', join(repoRoot, 'crds')]);
  kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', join(repoRoot, 'crds')]);
  if (runtimes.includes('dist')) buildOperator(repoRoot);
  const lines: string[] = [];
  for (const runtime of runtimes) lines.push(...report(await run(runtime)));
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
