// Operator benchmark: 1,000 ModelRoutes across 10 ModelGateways on a real API server. Reports time to
// converge (every route Accepted and every GatewayConfig holding its routes), the operator's peak RSS and
// its API writes, next to the anchor figures of Envoy Gateway.
//   npm run bench:operator -- [--kubeconfig path] [--routes 1000] [--gateways 10]
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GATEWAY_CONFIG_KEY, type GatewayConfig } from '../../api/v1alpha1/index.js';
import { KubeClient, type KubeObject } from '../../operator/src/kube/client.js';
import { R } from '../../operator/src/kube/resources.js';
import { startOperator, sumMetric } from './process.js';

const repoRoot = process.cwd();
const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    routes: { type: 'string', default: '1000' },
    gateways: { type: 'string', default: '10' },
    port: { type: 'string', default: '18090' },
    keep: { type: 'boolean', default: false },
    'max-old-space-mb': { type: 'string', default: '128' },
  },
});
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
const ns = `bench-op-${Date.now().toString(36)}`;
const client = KubeClient.fromFile(kubeconfig);
const kubectl = (args: string[]): string =>
  execFileSync('kubectl', ['--kubeconfig', kubeconfig, ...args]).toString();

async function pool<T>(items: T[], n: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (i < items.length) await fn(items[i++] as T);
    }),
  );
}

async function converged(): Promise<{ accepted: number; configured: number }> {
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

async function main(): Promise<void> {
  kubectl(['apply', '--server-side', '-f', join(repoRoot, 'crds')]);
  kubectl(['wait', '--for=condition=Established', '--timeout=60s', '-f', join(repoRoot, 'crds')]);
  kubectl(['create', 'namespace', ns]);
  for (let g = 0; g < GATEWAYS; g++) {
    await client.apply(
      R.ModelGateway,
      { metadata: { name: `gw-${g}`, namespace: ns }, spec: { replicas: 1 } },
      'bench',
    );
  }
  const op = await startOperator({
    repoRoot,
    kubeconfig,
    port: Number(values.port),
    identity: 'bench',
    nodeArgs:
      Number(values['max-old-space-mb']) > 0 ? [`--max-old-space-size=${values['max-old-space-mb']}`] : [],
    args: ['--no-leader-elect', '--namespaces', ns, '--log-level', 'warn'],
  });
  // Let the gateways settle first: the figure is about routes.
  const settleDeadline = Date.now() + 60_000;
  while (
    (await client.list(R.ConfigMap, ns, { labelSelector: 'beastmode.dev/config=gateway' })).items.length <
    GATEWAYS
  ) {
    if (Date.now() > settleDeadline) throw new Error('gateways did not get their ConfigMaps in 60s');
    await new Promise((r) => setTimeout(r, 200));
  }
  await new Promise((r) => setTimeout(r, 2000));
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
  const applied = performance.now() - t0;
  let state = { accepted: 0, configured: 0 };
  const deadline = Date.now() + 300_000;
  while (state.accepted < ROUTES || state.configured < ROUTES) {
    if (Date.now() > deadline) throw new Error(`not converged in 300s: ${JSON.stringify(state)}`);
    await new Promise((r) => setTimeout(r, 100));
    state = await converged();
  }
  const convergedMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 1500)); // trailing writes (gateway statuses after the last debounce)
  const metrics = await op.metrics();
  const writes = (await op.writes()) - writesBefore;
  const byKind = ['ModelRoute', 'ConfigMap', 'ModelGateway', 'Deployment'].map(
    (k) =>
      `${k} ${sumMetric(metrics, 'beastmode_operator_api_writes_total', (l) => l.includes(`kind="${k}"`))}`,
  );
  const rss = op.peakRss();
  await op.stop('SIGTERM');
  if (!values.keep) kubectl(['delete', 'namespace', ns, '--wait=false']);

  const mib = (b: number): string => `${(b / 1024 / 1024).toFixed(0)} MiB`;
  const lines = [
    `operator benchmark: ${ROUTES} ModelRoutes across ${GATEWAYS} ModelGateways (operator heap bound ${values['max-old-space-mb']} MiB, 0 = none; run under tsx)`,
    `  client applied all routes in   ${(applied / 1000).toFixed(2)} s`,
    `  converged (all Accepted, all GatewayConfigs complete) in ${(convergedMs / 1000).toFixed(2)} s  (target < 20 s)`,
    `  operator peak RSS              ${mib(rss)}  (target < 200 MB)`,
    `  API writes during the run      ${writes}  (${byKind.join(', ')}; cumulative since start for the per-kind split)`,
    `  anchor, Envoy Gateway: 200 routes accepted in ~2.6 s (${((2.6 / 200) * 1000).toFixed(1)} ms/route), 1.6 GiB at 500 routes`,
    `  ours: ${((convergedMs / ROUTES) * 1).toFixed(1)} ms/route (${(2.6 / 200 / (convergedMs / 1000 / ROUTES)).toFixed(2)}x the anchor's rate), ${(rss / (1.6 * 1024 ** 3)).toFixed(3)}x its memory at ${ROUTES} vs 500 routes`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
