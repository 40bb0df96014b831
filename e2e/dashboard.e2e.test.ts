// The operator's web dashboard in a real browser: the operator (child process, dashboard on, tokenreview
// auth) on the local control plane, a gateway process and simulators serving traffic, and headless Chromium
// driven by playwright-core. Viewers log in with ServiceAccount tokens: one may patch Canaries, one may only
// read them, one may do neither. Checked: nothing without a login; the overview shows the four kinds; a
// status write reaches the page in under 100 ms (measured with a MutationObserver, figures printed); a
// canary progressing during the test is seen step by step; promote and abort work for the allowed viewer,
// by keyboard, and are refused with a visible reason (spec unchanged) for the other; controls are named and
// text contrast is at least 4.5:1; an Experiment concluded with a winner shows its winner and interval, and
// its promote works for a viewer allowed to patch experiments and is refused for the other. Screenshots of
// the key states go under .beastmode/e2e/artifacts/dashboard.
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { eventually, kubectlOk as ok, kubeconfigPath, repoRoot } from './harness/env.js';
import {
  artifactsDir,
  launchBrowser,
  seenAt,
  textContrast,
  textsSeen,
  unnamedControls,
  watchTexts,
} from './harness/browser.js';
import { startOperator, type OperatorProcess } from '../bench/operator/process.js';
import { KubeClient, type KubeObject } from '../kube/client.js';
import { R } from '../kube/resources.js';
import type { Canary, Experiment } from '../api/v1alpha1/index.js';
import { startGateway, type Gateway } from '../gateway/src/server/gateway.js';
import { startSimulator, type Simulator } from '../simulator/simulator.js';
import { createLogger } from '../gateway/src/log.js';

const TIMEOUT_MS = 240_000;
const ns = `e2e-dash-${Date.now().toString(36)}`;
const OPERATOR_PORT = 18581;
const DASHBOARD_PORT = 18582;
const base = `http://127.0.0.1:${DASHBOARD_PORT}`;
const shots = artifactsDir('dashboard');
const log = (line: string) => process.stderr.write(`[dashboard e2e] ${line}\n`);

let client: KubeClient;
let operator: OperatorProcess | undefined;
let gateway: Gateway;
let browser: Browser;
let traffic: { stop(): Promise<void> } | undefined;
const sims: Simulator[] = [];
const tokens: Record<'admin' | 'viewer' | 'nobody', string> = { admin: '', viewer: '', nobody: '' };

const canary = async (): Promise<Canary> => (await client.get(R.Canary, ns, 'chat')) as unknown as Canary;

async function shot(page: Page, name: string): Promise<void> {
  const path = join(shots, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  log(`screenshot ${path}`);
}

/** A new browser context (its own cookies) logged in with `token`, on `hash`. */
async function loggedIn(token: string, hash = '#/'): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  await page.goto(`${base}/${hash}`);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#conn', { hasText: 'Live' }).waitFor();
  return page;
}

/** Continuous requests through the gateway (the canary analysis needs traffic in each window). */
function startTraffic(rps: number): { stop(): Promise<void> } {
  let running = true;
  const loop = async (): Promise<void> => {
    for (let i = 0; running; i++) {
      await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }], user: `u${i}` }),
      }).then(
        (r) => r.arrayBuffer(),
        () => undefined,
      );
      await new Promise((r) => setTimeout(r, 1000 / rps));
    }
  };
  const loops = [loop(), loop()];
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

async function setBackend(sim: Simulator, model: string): Promise<void> {
  await client.mergePatch(R.ModelRoute, ns, 'chat', {
    spec: { backends: [{ name: 'main', url: `${sim.url}/v1`, model }] },
  });
}

async function viewerAccounts(): Promise<void> {
  const rbac = [
    ['create', 'serviceaccount', 'dash-admin', '-n', ns],
    ['create', 'serviceaccount', 'dash-viewer', '-n', ns],
    ['create', 'serviceaccount', 'dash-nobody', '-n', ns],
    ['create', 'role', 'canary-read', '-n', ns, '--verb=get,list,watch', '--resource=canaries.beastmode.dev'],
    ['create', 'role', 'canary-act', '-n', ns, '--verb=get,patch', '--resource=canaries.beastmode.dev'],
    [
      'create',
      'rolebinding',
      'admin-read',
      '-n',
      ns,
      '--role=canary-read',
      `--serviceaccount=${ns}:dash-admin`,
    ],
    [
      'create',
      'rolebinding',
      'admin-act',
      '-n',
      ns,
      '--role=canary-act',
      `--serviceaccount=${ns}:dash-admin`,
    ],
    [
      'create',
      'rolebinding',
      'viewer-read',
      '-n',
      ns,
      '--role=canary-read',
      `--serviceaccount=${ns}:dash-viewer`,
    ],
  ];
  for (const args of rbac) await ok(args);
  for (const who of ['admin', 'viewer', 'nobody'] as const)
    tokens[who] = (await ok(['create', 'token', `dash-${who}`, '-n', ns, '--duration=1h'])).trim();
}

beforeAll(async () => {
  client = KubeClient.fromFile(kubeconfigPath());
  await ok(['apply', '--server-side', '-f', join(repoRoot, 'crds')]);
  await ok(['wait', '--for=condition=Established', '--timeout=60s', '-f', join(repoRoot, 'crds')]);
  await ok(['create', 'namespace', ns]);
  // An empty namespace answers Secret lists with `items: null`; one Secret keeps the operator's list valid.
  await ok(['create', 'secret', 'generic', 'placeholder', '-n', ns, '--from-literal=k=v']);
  for (let i = 0; i < 2; i++) sims.push(await startSimulator({ faults: { latencyMs: 5 } }));
  const objects: [KubeObject, (typeof R)[keyof typeof R]][] = [
    [
      {
        apiVersion: 'beastmode.dev/v1alpha1',
        kind: 'ModelGateway',
        metadata: { name: 'main', namespace: ns },
        spec: { replicas: 1, egress: { allow: ['127.0.0.0/8'] } },
      },
      R.ModelGateway,
    ],
    [
      {
        apiVersion: 'beastmode.dev/v1alpha1',
        kind: 'ModelRoute',
        metadata: { name: 'chat', namespace: ns },
        spec: {
          gatewayRef: { name: 'main' },
          model: 'chat',
          backends: [{ name: 'main', url: `${sims[0]?.url}/v1`, model: 'm1' }],
          budgets: [{ per: 'team', usd: 50, window: 'day' }],
        },
      },
      R.ModelRoute,
    ],
    [
      {
        apiVersion: 'beastmode.dev/v1alpha1',
        kind: 'Canary',
        metadata: { name: 'chat', namespace: ns },
        spec: {
          routeRef: { name: 'chat' },
          backend: 'main',
          steps: [10, 50, 100],
          interval: '2s',
          analysis: {
            minRequests: 3,
            failureThreshold: 1,
            progressDeadline: '2m',
            metrics: [{ name: 'error-rate', max: 0.05 }],
          },
        },
      },
      R.Canary,
    ],
    [
      {
        apiVersion: 'beastmode.dev/v1alpha1',
        kind: 'AutoscalingPolicy',
        metadata: { name: 'main', namespace: ns },
        spec: {
          targetRef: { kind: 'ModelGateway', name: 'main' },
          minReplicas: 1,
          maxReplicas: 4,
          metrics: [{ type: 'inflight-requests', targetAverage: 8 }],
        },
      },
      R.AutoscalingPolicy,
    ],
  ];
  for (const [o, r] of objects) await client.apply(r, o, 'e2e');
  gateway = await startGateway({
    port: 0,
    host: '127.0.0.1',
    source: { configMap: { namespace: ns, name: 'main-gateway-config' }, client },
    logger: createLogger('warn'),
  });
  await viewerAccounts();
  operator = await startOperator({
    repoRoot,
    kubeconfig: kubeconfigPath(),
    port: OPERATOR_PORT,
    identity: `op-${Date.now().toString(36)}`,
    args: [
      ...['--no-leader-elect', '--namespaces', ns, '--scrape-interval-seconds', '1'],
      ...['--dashboard-port', String(DASHBOARD_PORT), '--dashboard-address', '127.0.0.1'],
      ...['--dashboard-auth', 'tokenreview'],
    ],
    env: { BEASTMODE_GATEWAY_METRICS_URLS: `main=${gateway.url}/metrics` },
  });
  await eventually('the canary to idle on the stable spec', async () =>
    (await canary()).status?.phase === 'Idle' ? true : undefined,
  );
  browser = await launchBrowser();
  traffic = startTraffic(20);
}, TIMEOUT_MS);

afterAll(async () => {
  await traffic?.stop();
  await browser?.close();
  await operator?.stop('SIGTERM');
  await gateway?.close(1000);
  for (const s of sims) await s.close();
  await ok(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
}, TIMEOUT_MS);

describe('the operator dashboard in a real browser', () => {
  test('answers 401 with no data to a request without a login, and refuses tokens without the right', async () => {
    for (const path of ['/api/snapshot', '/api/events', '/api/series/route/x/chat', '/api/whoami']) {
      const res = await fetch(`${base}${path}`);
      const body = await res.text();
      expect([path, res.status]).toEqual([path, 401]);
      expect(body).not.toContain(ns);
    }
    const action = await fetch(`${base}/api/canaries/${ns}/chat/abort`, { method: 'POST' });
    expect(action.status).toBe(401);
    const login = (token: string) =>
      fetch(`${base}/api/login`, { method: 'POST', body: JSON.stringify({ token }) });
    expect((await login('not-a-token')).status).toBe(401);
    const nobody = await login(tokens.nobody);
    expect(nobody.status).toBe(403);
    expect(await nobody.text()).toContain('may not list canaries');
    // The page itself (no data) is public: it is the login form.
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
  });

  test('the overview shows gateways, routes, canaries and autoscalers with their health', async () => {
    const page = await loggedIn(tokens.viewer);
    for (const id of ['gateways', 'routes', 'canaries', 'autoscalers']) {
      await page
        .locator(`[data-part="${id}"] a`, {
          hasText: id === 'autoscalers' || id === 'gateways' ? 'main' : 'chat',
        })
        .waitFor();
    }
    await expect(page.locator('[data-part="canaries"] .badge').first().textContent()).resolves.toMatch(
      /healthy|progressing|degraded|unknown/,
    );
    await shot(page, 'overview');
    expect(await unnamedControls(page)).toEqual([]);
    const low = (await textContrast(page, 'h1, h2, th, td, td a, .badge, .muted, button, .conn')).filter(
      (f) => f.ratio < 4.5,
    );
    expect(low).toEqual([]);
    await page.context().close();
  });

  test(
    'a status change reaches the page in under 100 ms',
    async () => {
      const page = await loggedIn(tokens.viewer);
      const cell = `[data-part="gateways"] .routes`;
      await page.locator(cell).first().waitFor();
      await watchTexts(page, cell);
      const latencies: number[] = [];
      for (let i = 0; i < 15; i++) {
        const value = String(500 + i);
        const t0 = Date.now();
        await client.mergePatch(
          R.ModelGateway,
          ns,
          'main',
          { status: { attachedRoutes: 500 + i } },
          { subresource: 'status' },
        );
        const at = await eventually(`the page to show ${value}`, () => seenAt(page, cell, value), 5000, 5);
        latencies.push(at - t0);
        await new Promise((r) => setTimeout(r, 100));
      }
      const sorted = [...latencies].sort((a, b) => a - b);
      const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
      log(`status write → DOM (ms): ${latencies.join(' ')}; median ${q(0.5)}, p90 ${q(0.9)}, max ${q(1)}`);
      expect(q(0.5)).toBeLessThan(100);
      expect(q(0.9)).toBeLessThan(100);
      await page.context().close();
    },
    TIMEOUT_MS,
  );

  test('a page holds one event stream and polls nothing; each stream costs the operator little memory', async () => {
    const page = await loggedIn(tokens.viewer);
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await new Promise((r) => setTimeout(r, 5000)); // five scrape rounds and their points events
    expect(requests).toEqual([]);
    await page.context().close();

    const login = await fetch(`${base}/api/login`, {
      method: 'POST',
      body: JSON.stringify({ token: tokens.viewer }),
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const N = 40;
    const before = operator!.rss();
    const streams = await Promise.all(
      Array.from({ length: N }, async () => {
        const ctl = new AbortController();
        const res = await fetch(`${base}/api/events`, { headers: { cookie }, signal: ctl.signal });
        const reader = res.body!.getReader();
        const first = await reader.read(); // the snapshot
        return { ctl, reader, first: new TextDecoder().decode(first.value) };
      }),
    );
    expect(streams.every((st) => st.first.includes('event: snapshot'))).toBe(true);
    // Keep reading for a few rounds of points, as a live page would.
    const reading = streams.map(async (st) => {
      for (;;) if ((await st.reader.read().catch(() => ({ done: true }))).done) return;
    });
    await new Promise((r) => setTimeout(r, 3000));
    const after = operator!.rss();
    const perClient = (after - before) / N;
    log(
      `${N} event streams: operator RSS ${(before / 2 ** 20).toFixed(1)} → ${(after / 2 ** 20).toFixed(1)} MiB, ` +
        `${(perClient / 1024).toFixed(1)} KiB per client`,
    );
    expect(perClient).toBeLessThan(512 * 1024);
    for (const st of streams) st.ctl.abort();
    await Promise.all(reading);
  });

  test(
    'a canary progressing during the test is seen step by step, live',
    async () => {
      const page = await loggedIn(tokens.viewer, `#/canary/${ns}/chat`);
      const weight = '[data-testid="canary-weight"]';
      const phase = '[data-testid="canary-phase"]';
      await page.locator(weight).waitFor();
      await watchTexts(page, weight);
      await watchTexts(page, phase);
      await setBackend(sims[1]!, 'm2');
      await eventually('the page to show weight 50%', () => seenAt(page, weight, '50%'), 90_000, 100);
      await shot(page, 'canary-progressing');
      await eventually('the page to show Succeeded', () => seenAt(page, phase, 'Succeeded'), 90_000, 100);
      const weights = await textsSeen(page, weight);
      const phases = await textsSeen(page, phase);
      log(`weights seen in the page: ${weights.join(' → ')}; phases: ${phases.join(' → ')}`);
      expect(weights.indexOf('10%')).toBeGreaterThanOrEqual(0);
      expect(weights.indexOf('50%')).toBeGreaterThan(weights.indexOf('10%'));
      expect(phases).toContain('Progressing');
      // Each step's analysis window is in the timeline with its verdict and figures.
      const rows = await page.locator('[data-part="timeline"] tbody tr').allTextContents();
      expect(rows.filter((r) => r.includes('passed') && /\d+ req/.test(r)).length).toBeGreaterThanOrEqual(2);
      await shot(page, 'canary-succeeded');
      // The route page charts the traffic from the operator's own scrapes.
      await page.goto(`${base}/#/route/${ns}/chat`);
      await page.locator('figure.chart svg[role="img"]').first().waitFor();
      await shot(page, 'route');
      await page.goto(`${base}/#/autoscaler/${ns}/main`);
      await page.locator('[data-testid="replicas"]').waitFor();
      // The figures the HPA and the forecast report reach the page as the status carries them (written here:
      // the local control plane serves no external metrics API for the HPA to read).
      await client.mergePatch(
        R.AutoscalingPolicy,
        ns,
        'main',
        {
          status: {
            currentMetrics: [{ type: 'inflight-requests', value: '3500m' }],
            forecast: { requestsPerSecond: '12.5', accuracy: '91%' },
          },
        },
        { subresource: 'status' },
      );
      await page.locator('[data-part="status"]', { hasText: 'inflight-requests 3500m' }).waitFor();
      await page
        .locator('[data-part="status"]', { hasText: '12.5 req/s at the horizon, accuracy 91%' })
        .waitFor();
      await shot(page, 'autoscaler');
      await page.context().close();
    },
    TIMEOUT_MS,
  );

  /** Presses Tab until the button is focused, then Enter: the keyboard path to an action. */
  async function pressByKeyboard(page: Page, name: RegExp): Promise<void> {
    for (let i = 0; i < 60; i++) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() => document.activeElement?.textContent ?? '');
      if (name.test(focused)) {
        await page.keyboard.press('Enter');
        return;
      }
    }
    throw new Error(`Tab never reached a button named ${name}`);
  }

  test(
    'promote works for a viewer allowed to patch canaries and is refused for one who is not',
    async () => {
      await client.mergePatch(R.Canary, ns, 'chat', { spec: { promotion: { mode: 'manual' } } });
      await setBackend(sims[0]!, 'm3');
      await eventually('the canary to pause for approval', async () =>
        (await canary()).status?.phase === 'Paused' ? true : undefined,
      );
      const before = (await canary()).spec;
      const viewer = await loggedIn(tokens.viewer, `#/canary/${ns}/chat`);
      await viewer.getByRole('button', { name: /^Promote/ }).click();
      const refused = viewer.locator('#action-result');
      await refused.filter({ hasText: 'Refused (403)' }).waitFor();
      log(`refused promote shows: ${await refused.textContent()}`);
      await shot(viewer, 'promote-refused');
      expect((await canary()).spec).toEqual(before);

      const admin = await loggedIn(tokens.admin, `#/canary/${ns}/chat`);
      await admin.locator('[data-testid="canary-phase"]', { hasText: 'Paused' }).waitFor();
      await pressByKeyboard(admin, /^Promote/);
      await admin.locator('#action-result', { hasText: 'Done: approved revision' }).waitFor();
      const candidate = (await canary()).status?.candidateRevision;
      expect((await canary()).spec.promotion?.approvedRevision).toBe(candidate);
      await admin
        .locator('[data-testid="canary-phase"]', { hasText: 'Succeeded' })
        .waitFor({ timeout: 60_000 });
      await shot(admin, 'promoted');
      expect(await unnamedControls(admin)).toEqual([]);
      const low = (
        await textContrast(admin, 'h1, h2, th, td, dt, dd, .badge, button, .result, .steps li')
      ).filter((f) => f.ratio < 4.5);
      expect(low).toEqual([]);
      await viewer.context().close();
      await admin.context().close();
    },
    TIMEOUT_MS,
  );

  test(
    'abort works for the allowed viewer and is refused for the other',
    async () => {
      await client.mergePatch(R.Canary, ns, 'chat', { spec: { promotion: { mode: 'auto' } } });
      await client.mergePatch(R.Canary, ns, 'chat', {
        spec: { steps: [10, 20, 30, 40, 100], interval: '5s' },
      });
      await setBackend(sims[1]!, 'm4');
      await eventually('the new candidate to progress', async () =>
        (await canary()).status?.phase === 'Progressing' ? true : undefined,
      );
      const viewer = await loggedIn(tokens.viewer, `#/canary/${ns}/chat`);
      await viewer.getByRole('button', { name: /^Abort/ }).click();
      await viewer.locator('#action-result', { hasText: 'Refused (403)' }).waitFor();
      expect((await canary()).spec.abort).toBe(false);

      const admin = await loggedIn(tokens.admin, `#/canary/${ns}/chat`);
      await pressByKeyboard(admin, /^Abort/);
      await admin.locator('#action-result', { hasText: 'Done: abort set' }).waitFor();
      expect((await canary()).spec.abort).toBe(true);
      await admin
        .locator('[data-testid="canary-phase"]', { hasText: 'RolledBack' })
        .waitFor({ timeout: 60_000 });
      await shot(admin, 'aborted');
      await viewer.context().close();
      await admin.context().close();
    },
    TIMEOUT_MS,
  );

  test(
    'an experiment shows its winner and interval; promote sets spec.promote for the allowed viewer only',
    async () => {
      const t0 = Date.now();
      const experiment = async (): Promise<Experiment> =>
        (await client.get(R.Experiment, ns, 'ab')) as unknown as Experiment;
      await ok([
        'create',
        'role',
        'experiment-act',
        '-n',
        ns,
        '--verb=get,patch',
        '--resource=experiments.beastmode.dev',
      ]);
      await ok([
        'create',
        'rolebinding',
        'admin-experiment',
        '-n',
        ns,
        '--role=experiment-act',
        `--serviceaccount=${ns}:dash-admin`,
      ]);
      // Its route does not exist, so no traffic moves: the controller keeps a Concluded status as it is.
      await client.apply(
        R.Experiment,
        {
          apiVersion: 'beastmode.dev/v1alpha1',
          kind: 'Experiment',
          metadata: { name: 'ab', namespace: ns },
          spec: {
            routeRef: { name: 'no-such-route' },
            variants: [
              { name: 'control', backend: 'main' },
              { name: 'fast', backend: 'quick' },
            ],
            primary: { metric: 'latency-ms', minimumDetectableEffect: 20 },
            guardrails: [{ metric: 'error-rate', tolerance: 0.01 }],
            promotion: 'manual',
          },
        },
        'e2e',
      );
      const specHash = await eventually(
        'the controller to see the experiment',
        async () => (await experiment()).status?.specHash,
      );
      const moments = (count: number, mean: number) => ({
        'latency-ms': { count, sum: count * mean, sumSquares: count * mean * mean },
      });
      await client.mergePatch(
        R.Experiment,
        ns,
        'ab',
        {
          status: {
            specHash,
            phase: 'Concluded',
            plannedSamplesPerVariant: 400,
            variants: [
              { name: 'control', weight: 0.5, moments: moments(420, 60.1), mean: { 'latency-ms': 60.1 } },
              { name: 'fast', weight: 0.5, moments: moments(380, 5.2), mean: { 'latency-ms': 5.2 } },
            ],
            comparisons: [
              {
                variant: 'fast',
                standing: 'better',
                improvement: 54.9,
                lower: 50.1,
                upper: 59.7,
                pValue: 0.0001,
              },
            ],
            verdict: 'winner',
            winner: 'fast',
            reasons: ['fast: latency-ms better by 54.9'],
          },
        },
        { subresource: 'status' },
      );
      const viewer = await loggedIn(tokens.viewer, `#/experiment/${ns}/ab`);
      await viewer.locator('[data-testid="experiment-winner"]', { hasText: 'fast' }).waitFor();
      const interval = viewer.locator('svg.interval.better');
      await interval.waitFor();
      expect([await interval.getAttribute('data-lower'), await interval.getAttribute('data-upper')]).toEqual([
        '50.1',
        '59.7',
      ]);
      expect(await interval.getAttribute('aria-label')).toContain(
        'always-valid interval +50.1 ms to +59.7 ms',
      );
      expect(await viewer.locator('[data-testid="improvement-fast"]').textContent()).toBe('+54.9 ms');
      expect(await viewer.locator('[data-testid="experiment-progress"]').textContent()).toBe(
        '380 of 400 (95%)',
      );
      await viewer.getByRole('button', { name: /^Promote winner fast/ }).click();
      await viewer.locator('#action-result', { hasText: 'Refused (403)' }).waitFor();
      expect((await experiment()).spec.promote).toBeUndefined();

      const admin = await loggedIn(tokens.admin, `#/experiment/${ns}/ab`);
      await admin.getByRole('button', { name: /^Promote winner fast/ }).click();
      await admin.locator('#action-result', { hasText: 'Done: promote fast set' }).waitFor();
      expect((await experiment()).spec.promote).toBe('fast');
      // The controller promotes it, and the page hears of it over the event stream.
      await admin
        .locator('[data-testid="experiment-phase"]', { hasText: 'Promoted' })
        .waitFor({ timeout: 30_000 });
      await shot(admin, 'experiment-promoted');
      expect(await unnamedControls(admin)).toEqual([]);
      const low = (await textContrast(admin, 'h1, h2, th, td, dt, dd, .badge, .result')).filter(
        (f) => f.ratio < 4.5,
      );
      expect(low).toEqual([]);
      log(`experiment test took ${Date.now() - t0} ms`);
      await viewer.context().close();
      await admin.context().close();
    },
    TIMEOUT_MS,
  );
});
