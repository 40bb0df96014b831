// The demo: a real local control plane, the operator, a gateway and simulated model servers as local
// processes, steady traffic through the official openai client, then two canary rollouts — a healthy new
// model version that is promoted, and a bad one that is rolled back — and a load surge that the llama pool's
// HPA absorbs while the gateway spills the excess over to the premium model, then a mixed prompt stream on
// a learned quality/cost route whose router learns from users' scores, shown live, then a summary.
//   npm run demo            keeps running until Ctrl-C, then stops everything it started
//   npm run demo -- --once  runs the same scenario non-interactively; exits non-zero if a step misbehaves
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readFlags, type CommandSpec } from '../../cli/flags.js';
import { startControlPlane, freePort, type ControlPlane } from '../../cluster/control-plane.js';
import { repoRoot } from '../../cluster/paths.js';
import { spawnManaged, stopManaged, type ManagedProcess } from '../../cluster/processes.js';
import { Cluster } from './cluster.js';
import { demoManifests, DEMO_NS, PRICES, type SimulatorUrls } from './manifests.js';
import {
  metricsApiCertificate,
  metricsApiManifest,
  POOL_CAPACITY,
  runSurge,
  type SurgeResult,
} from './surge.js';
import { learnedRouting } from './learning.js';
import { feedbackFor, runRollouts, type StoryPhase } from './rollouts.js';
import { dashboardLine, demoDashboard, type DemoDashboard } from './dashboard.js';
import { Traffic, type Sample } from './traffic.js';
import { View, summaryTable, type RolloutResult } from './view.js';

const DEMO_COMMAND: CommandSpec = {
  name: './scripts/demo.sh',
  usage: '[--once]',
  summary:
    'The demo: a local Kubernetes control plane, the operator, a gateway and simulated model servers,\n' +
    '100 req/s through the official openai client, and two canary rollouts shown live (a healthy version\n' +
    'promoted, a bad one rolled back), a load surge absorbed by spill-over and autoscaling, a learned\n' +
    'quality/cost router moving each prompt domain to the cheapest model users are happy with, then a summary.\n' +
    'Keeps running until Ctrl-C, then stops everything.',
  flags: {
    once: { boolean: true, help: 'Run the story non-interactively; exit non-zero if any step misbehaves' },
  },
};
const args = readFlags(DEMO_COMMAND, process.argv.slice(2), process.env);
if (args.kind !== 'ok') {
  (args.kind === 'help' ? process.stdout : process.stderr).write(
    args.kind === 'help' ? args.text : `${args.message}\n`,
  );
  process.exit(args.kind === 'help' ? 0 : 2);
}
const once = args.values.once === true;
const dir = join(repoRoot, '.beastmode', 'demo');
const logs = join(dir, 'logs');
const view = new View(process.stdout.isTTY && !once);
const children: ManagedProcess[] = [];
let controlPlane: ControlPlane | undefined;
let traffic: Traffic | undefined;
/** Which part of the story the traffic is in, for the simulated user feedback. */
let phaseNow: StoryPhase = 'baseline';

const BASE_RATE = 100;
const SURGE_RATE = 300;
/** The promoted llama version's timing, also sent again with a capacity during the surge. */
const LLAMA_V2_FAULTS = { latencyMs: 50, jitterMs: 15, ttftMs: 30 };
const FLAG: Record<string, string> = { latencyMs: 'latency-ms', jitterMs: 'jitter-ms', ttftMs: 'ttft-ms' };

const tsx = join(repoRoot, 'node_modules', '.bin', 'tsx');
const tether = join(repoRoot, 'scripts', 'lib', 'tether.ts');

function startNode(
  name: string,
  command: 'gateway' | 'operator' | 'simulator',
  args: string[],
  env: NodeJS.ProcessEnv = {},
): ManagedProcess {
  const p = spawnManaged({
    name,
    command: tsx,
    args: ['--import', tether, join(repoRoot, 'cli', 'main.ts'), command, ...args],
    logFile: join(logs, `${name}.log`),
    env: { ...env, NODE_ENV: 'production' },
    cwd: repoRoot,
  });
  children.push(p);
  return p;
}

async function waitHttp(url: string, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not answer at ${url} within ${timeoutMs / 1000}s (logs in ${logs})`);
}

async function startSimulators(): Promise<SimulatorUrls> {
  view.step(
    'Starting simulated model servers (a hosted premium model, and three versions of an in-cluster one)',
  );
  const sims = {
    premium: ['--model', 'gpt-4o', '--latency-ms', '180', '--jitter-ms', '40', '--ttft-ms', '120'],
    llamaV1: ['--model', 'llama-3.1-8b', '--latency-ms', '60', '--jitter-ms', '20', '--ttft-ms', '40'],
    llamaV2: [
      '--model',
      'llama-3.2-8b',
      ...Object.entries(LLAMA_V2_FAULTS).flatMap(([k, v]) => [`--${FLAG[k] ?? k}`, String(v)]),
    ],
    llamaBad: [
      ...['--model', 'llama-3.3-8b-rc', '--latency-ms', '600', '--jitter-ms', '100', '--ttft-ms', '400'],
      ...['--error-rate', '0.2', '--error-status', '500'],
    ],
  };
  const urls: Record<string, string> = {};
  for (const [name, args] of Object.entries(sims)) {
    const port = await freePort();
    startNode(`sim-${name}`, 'simulator', ['--port', String(port), ...args]);
    urls[name] = `http://127.0.0.1:${port}/v1`;
  }
  await Promise.all(Object.entries(urls).map(([n, u]) => waitHttp(`${u}/models`, `simulator ${n}`)));
  return urls as unknown as SimulatorUrls;
}

async function startCluster(): Promise<{ cluster: Cluster; kubeconfigPath: string }> {
  view.step('Local Kubernetes control plane (built from Go modules on first run, then cached)');
  const started = await startControlPlane({ dir: join(dir, 'cluster'), log: (l) => view.detail(l) });
  controlPlane = started;
  const cluster = new Cluster(started.kubeconfigPath);
  view.detail(`API server ${started.server} (Kubernetes ${started.kubernetesVersion})`);

  view.step('Installing the CRDs');
  await cluster.installCrds();
  await cluster.ensureNamespace(DEMO_NS);
  return { cluster, kubeconfigPath: started.kubeconfigPath };
}

interface Endpoints {
  gatewayUrl: string;
  operatorPort: number;
  metricsApiPort: number;
  caBundle: string;
  dashboard: DemoDashboard;
}

/** Waits for the operator only: the gateway is ready once its ModelGateway is applied (applyManifests). */
async function startGatewayAndOperator(kubeconfigPath: string): Promise<Endpoints> {
  view.step('Starting the gateway and the operator');
  const gatewayPort = await freePort();
  const operatorPort = await freePort();
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  startNode('gateway', 'gateway', [
    ...['--port', String(gatewayPort), '--configmap', `${DEMO_NS}/default-gateway-config`],
    ...['--kubeconfig', kubeconfigPath],
  ]);
  // The operator also serves the HPA's external metrics (the gateways' signals) behind an APIService.
  const metricsApiPort = await freePort();
  const cert = await metricsApiCertificate(dir);
  const dashboard = await demoDashboard(dir);
  startNode(
    'operator',
    'operator',
    [
      ...['--kubeconfig', kubeconfigPath, '--metrics-port', String(operatorPort), '--no-leader-elect'],
      ...['--metrics-api-port', String(metricsApiPort), '--metrics-api-cert-dir', dirname(cert.cert)],
      ...['--scrape-interval-seconds', '2'],
      ...dashboard.args,
    ],
    { BEASTMODE_GATEWAY_METRICS_URLS: `${DEMO_NS}/default=${gatewayUrl}/metrics` },
  );
  await waitHttp(`http://127.0.0.1:${operatorPort}/healthz`, 'the operator');
  view.detail(dashboardLine(dashboard));
  const caBundle = readFileSync(cert.caCert).toString('base64');
  return { gatewayUrl, operatorPort, metricsApiPort, caBundle, dashboard };
}

async function applyManifests(cluster: Cluster, sims: SimulatorUrls, endpoints: Endpoints, t0: number) {
  const { gatewayUrl } = endpoints;
  view.step('Applying the ModelGateway, the ModelRoute, the Canary and the llama pool’s AutoscalingPolicy');
  await cluster.apply(metricsApiManifest(endpoints.metricsApiPort, endpoints.caBundle));
  await cluster.apply(demoManifests(sims));
  await cluster.waitReady('modelgateway', 'default', 90_000);
  await cluster.waitReady('modelroute', 'chat', 30_000);
  await waitHttp(`${gatewayUrl}/readyz`, 'the gateway', 30_000);
  view.detail(`gateway ready at ${gatewayUrl} in ${((Date.now() - t0) / 1000).toFixed(1)}s from start`);
}

/** Starts the traffic and waits until the canary has settled on the baseline, plus a few seconds of it. */
async function startTraffic(cluster: Cluster, gatewayUrl: string): Promise<Traffic> {
  view.step('Sending steady traffic with the official openai client (100 req/s from 100,000 users)');
  const started = new Traffic({
    baseURL: `${gatewayUrl}/v1`,
    apiKey: 'demo',
    model: 'chat',
    ratePerSecond: BASE_RATE,
    users: 100_000,
    repeatShare: 0.3,
    maxInFlight: 400,
    feedback: (s) => feedbackFor(s.variant, phaseNow),
  });
  traffic = started;
  started.start();
  await cluster.waitCanaryPhase('chat-llama', ['Idle', 'Succeeded'], 60_000);
  await new Promise((r) => setTimeout(r, 3000));
  return started;
}

/** Chapter 3: three times the traffic on the llama pool, absorbed by spill-over and the pool's HPA. */
async function loadSurge(cluster: Cluster, load: Traffic, sims: SimulatorUrls): Promise<SurgeResult> {
  view.section(
    `Load surge: ${BASE_RATE} → ${SURGE_RATE} req/s on the llama pool (${POOL_CAPACITY} requests at once per replica)`,
  );
  const result = await runSurge({
    cluster,
    traffic: load,
    llamaAdmin: sims.llamaV2.replace(/\/v1$/, ''),
    llamaFaults: LLAMA_V2_FAULTS,
    line: (text) => view.detail(text),
    baseRate: BASE_RATE,
    surgeRate: SURGE_RATE,
    timeoutMs: 120_000,
  });
  const s = (v: number | undefined) => (v === undefined ? 'never' : `${v.toFixed(1)}s`);
  view.line(
    `Load surge: first request spilled to premium after ${s(result.spilledAfter)}, pool grown to ` +
      `${result.grownTo} replicas after ${s(result.grownAfter)}, traffic back on the pool after ` +
      `${s(result.backAfter)} (at most 2% spilled); ${result.requests} requests, ${result.premium} served by premium, ` +
      `${result.errors} client errors`,
  );
  return result;
}

/** Prints the summary table and where to look next; returns the problems the table found. */
function showSummary(
  samples: Sample[],
  rollouts: RolloutResult[],
  kubeconfigPath: string,
  { gatewayUrl, operatorPort, dashboard }: Endpoints,
  otherProblems: string[],
): string[] {
  const table = summaryTable(samples, rollouts, PRICES);
  view.section('Summary');
  view.line(table.text);
  view.line('');
  view.line('Look around:');
  view.line(`  kubectl --kubeconfig ${kubeconfigPath} -n ${DEMO_NS} get modelgateways,modelroutes,canaries`);
  view.line(`  curl -s ${gatewayUrl}/v1/chat/completions -H 'content-type: application/json' \\`);
  view.line(`       -d '{"model":"chat","messages":[{"role":"user","content":"Hello"}]}'`);
  view.line(`  operator: http://127.0.0.1:${operatorPort}/metrics   gateway: ${gatewayUrl}/metrics`);
  view.line(`  ${dashboardLine(dashboard)}`);
  view.line(`  logs: ${logs}`);

  const problems = [...table.problems, ...otherProblems];
  view.line(problems.length > 0 ? `Problems seen:\n  ${problems.join('\n  ')}` : 'demo: every step behaved');
  return problems;
}

async function main(): Promise<void> {
  const t0 = Date.now();
  rmSync(logs, { recursive: true, force: true });
  mkdirSync(logs, { recursive: true });

  const { cluster, kubeconfigPath } = await startCluster();
  const sims = await startSimulators();
  const endpoints = await startGatewayAndOperator(kubeconfigPath);
  await applyManifests(cluster, sims, endpoints, t0);
  const load = await startTraffic(cluster, endpoints.gatewayUrl);
  const rollouts = await runRollouts({
    view,
    cluster,
    traffic: load,
    sims,
    t0,
    phase: (p) => {
      phaseNow = p;
    },
  });
  const surge = await loadSurge(cluster, load, sims);
  await new Promise((r) => setTimeout(r, 2000));
  await load.stop();
  const learning = await learnedRouting(view, { cluster, sims, gatewayUrl: endpoints.gatewayUrl });

  const problems = showSummary(load.samples, rollouts, kubeconfigPath, endpoints, [
    ...surge.problems,
    ...learning.problems,
  ]);
  if (once) {
    if (problems.length > 0) throw new Error('the demo misbehaved (see above)');
    return;
  }
  view.line('');
  view.line('Running until Ctrl-C …');
  // A pending promise alone does not keep Node running: a timer does, until Ctrl-C stops everything.
  await new Promise<void>(() => setInterval(() => undefined, 60_000));
}

let stopped: Promise<never> | undefined;

/** Stops everything once; a second call (Ctrl-C again, or main failing because we are stopping) waits for it. */
function shutdown(code: number): Promise<never> {
  stopped ??= (async () => {
    view.mute();
    view.line('Stopping everything the demo started …');
    await traffic?.stop().catch(() => undefined);
    await Promise.allSettled(children.map((c) => stopManaged(c, 3000)));
    await controlPlane?.stop().catch(() => undefined);
    view.line('Stopped.');
    process.exit(code);
  })();
  return stopped;
}

process.on('SIGINT', () => void shutdown(130));
process.on('SIGTERM', () => void shutdown(143));

main().then(
  () => shutdown(0),
  (err: unknown) => {
    // While stopping on Ctrl-C, the steps in flight fail as their processes go: that is no error to report.
    if (stopped === undefined) view.line(`\nerror: ${err instanceof Error ? err.message : String(err)}`);
    return shutdown(1);
  },
);
