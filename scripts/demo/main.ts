// The demo: a real local control plane, the operator, a gateway and simulated model servers as local
// processes, steady traffic through the official openai client, then two canary rollouts — a healthy new
// model version that is promoted, and a bad one that is rolled back — shown live, then a summary.
//   npm run demo            keeps running until Ctrl-C, then stops everything it started
//   npm run demo -- --once  runs the same scenario non-interactively; exits non-zero if a step misbehaves
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startControlPlane, freePort, type ControlPlane } from '../../cluster/control-plane.js';
import { repoRoot } from '../../cluster/paths.js';
import { spawnManaged, stopManaged, type ManagedProcess } from '../../cluster/processes.js';
import { Cluster } from './cluster.js';
import { demoManifests, DEMO_NS, PRICES, type SimulatorUrls } from './manifests.js';
import { Traffic } from './traffic.js';
import { View, summaryTable, type RolloutResult } from './view.js';

const once = process.argv.includes('--once');
const dir = join(repoRoot, '.beastmode', 'demo');
const logs = join(dir, 'logs');
const view = new View(process.stdout.isTTY && !once);
const children: ManagedProcess[] = [];
let controlPlane: ControlPlane | undefined;
let traffic: Traffic | undefined;

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
  const sims = {
    premium: ['--model', 'gpt-4o', '--latency-ms', '180', '--jitter-ms', '40', '--ttft-ms', '120'],
    llamaV1: ['--model', 'llama-3.1-8b', '--latency-ms', '60', '--jitter-ms', '20', '--ttft-ms', '40'],
    llamaV2: ['--model', 'llama-3.2-8b', '--latency-ms', '50', '--jitter-ms', '15', '--ttft-ms', '30'],
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

/** Whether a rollout has reached its expected end; throws when it went the wrong way. */
function rolloutDone(
  title: string,
  phase: string,
  expect: 'Succeeded' | 'RolledBack',
  canarySeen: boolean,
): boolean {
  if (expect === 'Succeeded') {
    if (phase === 'RolledBack') throw new Error(`${title}: rolled back unexpectedly`);
    return phase === 'Succeeded';
  }
  // The bad version has to take traffic before its rollback means anything.
  if (!canarySeen) return false;
  if (phase === 'Succeeded') throw new Error(`${title}: the bad version was promoted`);
  return phase === 'RolledBack';
}

async function rollout(
  cluster: Cluster,
  title: string,
  newUrl: string,
  expect: 'Succeeded' | 'RolledBack',
  timeoutMs: number,
): Promise<RolloutResult> {
  view.section(title);
  const startedAt = Date.now();
  const before = (await cluster.canaryStatus('chat-llama'))?.candidateRevision;
  await cluster.patchRouteBackendUrl('chat', 'llama', newUrl);
  let firstCanaryAt: number | undefined;
  let since: number | undefined;
  for (;;) {
    const status = await cluster.canaryStatus('chat-llama');
    // The rollout has begun once the canary has taken the new spec as its candidate.
    if (since === undefined && status?.candidateRevision && status.candidateRevision !== before) {
      since = traffic?.samples.length ?? 0;
    }
    const samples = since === undefined ? [] : (traffic?.samples.slice(since) ?? []);
    firstCanaryAt ??= samples.find((s) => s.variant === 'canary')?.at;
    view.progress(status, samples, 5_000);
    const phase = since === undefined ? '' : (status?.phase ?? '');
    if (rolloutDone(title, phase, expect, firstCanaryAt !== undefined)) break;
    if (Date.now() - startedAt > timeoutMs) {
      throw new Error(`${title}: still ${phase || 'not started'} after ${timeoutMs / 1000}s`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const endedAt = Date.now();
  const tookS = (endedAt - startedAt) / 1000;
  view.line(`${title}: ${expect} after ${tookS.toFixed(1)}s`);
  return {
    title,
    phase: expect,
    seconds: tookS,
    rollbackSeconds:
      expect === 'RolledBack' && firstCanaryAt !== undefined ? (endedAt - firstCanaryAt) / 1000 : undefined,
  };
}

async function main(): Promise<void> {
  const t0 = Date.now();
  rmSync(logs, { recursive: true, force: true });
  mkdirSync(logs, { recursive: true });

  view.step('Local Kubernetes control plane (built from Go modules on first run, then cached)');
  controlPlane = await startControlPlane({ dir: join(dir, 'cluster'), log: (l) => view.detail(l) });
  const cluster = new Cluster(controlPlane.kubeconfigPath);
  view.detail(`API server ${controlPlane.server} (Kubernetes ${controlPlane.kubernetesVersion})`);

  view.step('Installing the CRDs');
  await cluster.installCrds();
  await cluster.ensureNamespace(DEMO_NS);

  view.step(
    'Starting simulated model servers (a hosted premium model, and three versions of an in-cluster one)',
  );
  const sims = await startSimulators();

  view.step('Starting the gateway and the operator');
  const gatewayPort = await freePort();
  const operatorPort = await freePort();
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  startNode('gateway', 'gateway', [
    ...['--port', String(gatewayPort), '--configmap', `${DEMO_NS}/default-gateway-config`],
    ...['--kubeconfig', controlPlane.kubeconfigPath],
  ]);
  startNode(
    'operator',
    'operator',
    [
      '--kubeconfig',
      controlPlane.kubeconfigPath,
      '--metrics-port',
      String(operatorPort),
      '--no-leader-elect',
    ],
    { BEASTMODE_GATEWAY_METRICS_URLS: `${DEMO_NS}/default=${gatewayUrl}/metrics` },
  );
  await waitHttp(`http://127.0.0.1:${operatorPort}/healthz`, 'the operator');

  view.step('Applying the ModelGateway, the ModelRoute and the Canary');
  await cluster.apply(demoManifests(sims));
  await cluster.waitReady('modelgateway', 'default', 90_000);
  await cluster.waitReady('modelroute', 'chat', 30_000);
  await waitHttp(`${gatewayUrl}/readyz`, 'the gateway', 30_000);
  view.detail(`gateway ready at ${gatewayUrl} in ${((Date.now() - t0) / 1000).toFixed(1)}s from start`);

  view.step('Sending steady traffic with the official openai client (100 req/s from 100,000 users)');
  traffic = new Traffic({
    baseURL: `${gatewayUrl}/v1`,
    apiKey: 'demo',
    model: 'chat',
    ratePerSecond: 100,
    users: 100_000,
    repeatShare: 0.3,
    maxInFlight: 400,
    feedback: (s) => feedbackFor(s.variant, phaseNow),
  });
  traffic.start();
  await cluster.waitCanaryPhase('chat-llama', ['Idle', 'Succeeded'], 60_000);
  await new Promise((r) => setTimeout(r, 3000));

  phaseNow = 'good';
  const firstStepAt = Date.now();
  const good = await rollout(
    cluster,
    'Rollout 1: llama 3.1 → 3.2 (healthy)',
    sims.llamaV2,
    'Succeeded',
    240_000,
  );
  view.detail(`time from demo start to the first canary step: ${((firstStepAt - t0) / 1000).toFixed(1)}s`);
  phaseNow = 'bad';
  const bad = await rollout(
    cluster,
    'Rollout 2: llama 3.2 → 3.3-rc (20% errors, 10× latency)',
    sims.llamaBad,
    'RolledBack',
    180_000,
  );
  await new Promise((r) => setTimeout(r, 2000));
  await traffic.stop();

  const table = summaryTable(traffic.samples, [good, bad], PRICES);
  view.section('Summary');
  view.line(table.text);
  view.line('');
  view.line('Look around:');
  view.line(
    `  kubectl --kubeconfig ${controlPlane.kubeconfigPath} -n ${DEMO_NS} get modelgateways,modelroutes,canaries`,
  );
  view.line(`  curl -s ${gatewayUrl}/v1/chat/completions -H 'content-type: application/json' \\`);
  view.line(`       -d '{"model":"chat","messages":[{"role":"user","content":"Hello"}]}'`);
  view.line(`  operator: http://127.0.0.1:${operatorPort}/metrics   gateway: ${gatewayUrl}/metrics`);
  view.line(`  logs: ${logs}`);

  const problems = table.problems;
  view.line(problems.length > 0 ? `Problems seen:\n  ${problems.join('\n  ')}` : 'demo: every step behaved');
  if (once) {
    if (problems.length > 0) throw new Error('the demo misbehaved (see above)');
    return;
  }
  view.line('');
  view.line('Running until Ctrl-C …');
  // A pending promise alone does not keep Node running: a timer does, until Ctrl-C stops everything.
  await new Promise<void>(() => setInterval(() => undefined, 60_000));
}

let phaseNow: 'baseline' | 'good' | 'bad' = 'baseline';

/** Simulated user satisfaction: users like the new healthy version a bit more, the bad one much less. */
function feedbackFor(variant: string, phase: typeof phaseNow): number | undefined {
  if (Math.random() > 0.3) return undefined;
  const base = variant === 'canary' ? (phase === 'bad' ? 0.45 : 0.9) : 0.82;
  return Math.max(0, Math.min(1, base + (Math.random() - 0.5) * 0.2));
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
