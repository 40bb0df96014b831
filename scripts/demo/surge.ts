// The demo's third chapter: a load surge on the in-cluster model. The llama pool (a Deployment the HPA
// scales; its simulator serves a fixed number of requests at once per ready replica, standing in for pods
// the local cluster cannot run) fills up, the gateway spills its excess over to the premium model, the
// operator's external metrics make the HPA grow the pool, and the traffic comes back to it. Shown live.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { servingCertificate } from '../../cluster/certs.js';
import { loopbackMetricsApi } from '../../cluster/metrics-api.js';
import type { Cluster } from './cluster.js';
import { DEMO_NS } from './manifests.js';
import type { Sample, Traffic } from './traffic.js';

/** Requests one ready llama replica serves at once; more are answered 429 (its queue is full). */
export const POOL_CAPACITY = 8;
export const METRICS_API_SERVICE = 'beastmode-metrics-api';

/** The operator's serving certificate for the external metrics API, made for the Service's name. */
export function metricsApiCertificate(dir: string): Promise<{ cert: string; key: string; caCert: string }> {
  const certDir = join(dir, 'metrics-api');
  mkdirSync(certDir, { recursive: true });
  return servingCertificate(certDir, [`${METRICS_API_SERVICE}.${DEMO_NS}.svc`]);
}

/** The Service and APIService through which the cluster's HPA controller reads the operator's metrics. */
export function metricsApiManifest(port: number, caBundle: string): string {
  const { service, apiService } = loopbackMetricsApi(DEMO_NS, METRICS_API_SERVICE, port, caBundle);
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [service, apiService] });
}

interface PoolState {
  spec: number;
  ready: number;
  spilling: string;
  forecast: string;
}

async function poolState(cluster: Cluster): Promise<PoolState> {
  const json = await cluster.kubectl([
    ...['get', '-n', DEMO_NS, 'deployment/vllm-llama', 'modelroute/chat', 'autoscalingpolicy/vllm-llama'],
    ...['-o', 'json'],
  ]);
  const [dep, route, policy] = (JSON.parse(json) as { items: Record<string, unknown>[] }).items as {
    spec?: { replicas?: number };
    status?: {
      readyReplicas?: number;
      conditions?: { type: string; status: string }[];
      forecast?: { requestsPerSecond?: string };
    };
  }[];
  return {
    spec: dep?.spec?.replicas ?? 0,
    ready: dep?.status?.readyReplicas ?? 0,
    spilling: route?.status?.conditions?.find((c) => c.type === 'SpillingOver')?.status ?? '–',
    forecast: policy?.status?.forecast?.requestsPerSecond ?? '–',
  };
}

export interface SurgeResult {
  /** Seconds from the surge to: the first spilled answer, the pool at its grown size, no more spill. */
  spilledAfter?: number;
  grownAfter?: number;
  backAfter?: number;
  grownTo: number;
  requests: number;
  premium: number;
  errors: number;
  problems: string[];
}

export interface SurgeOptions {
  cluster: Cluster;
  traffic: Traffic;
  /** The simulator serving the llama backend now (its base URL, without /v1) and its latency flags. */
  llamaAdmin: string;
  llamaFaults: Record<string, number>;
  line: (text: string) => void;
  baseRate: number;
  surgeRate: number;
  timeoutMs: number;
}

const share = (n: number, of: number) => (of === 0 ? '  –' : `${Math.round((100 * n) / of)}%`.padStart(4));
const premium = (xs: Sample[]) => xs.filter((x) => x.backend === 'premium').length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the surge has shown so far; times in ms since the epoch. */
interface Seen {
  t0: number;
  from: number;
  ready: number;
  grownTo: number;
  spilledAt?: number | undefined;
  grownAt?: number | undefined;
  backAt?: number | undefined;
}

/** The pool's simulator serves POOL_CAPACITY requests at once per ready replica of its Deployment. */
const setCapacity = (o: SurgeOptions, replicas: number) =>
  fetch(`${o.llamaAdmin}/admin/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...o.llamaFaults, capacity: POOL_CAPACITY * Math.max(1, replicas) }),
  });

/**
 * The rollouts may have grown the pool (the bad version's slow answers stay in flight long): start from one
 * replica, and once the forecaster has a minute of rates to forecast from.
 */
async function calm(o: SurgeOptions): Promise<PoolState> {
  o.line(
    'waiting for the llama pool to be back at one replica and for its first forecast (a minute of rates)',
  );
  const until = Date.now() + 90_000;
  let st = await poolState(o.cluster);
  while ((st.spec !== 1 || st.ready !== 1 || st.forecast === '–') && Date.now() < until) {
    await sleep(1000);
    st = await poolState(o.cluster);
  }
  return st;
}

/** One second of the surge: follows the pool, prints a line; true once the surge is absorbed. */
async function tick(o: SurgeOptions, seen: Seen): Promise<boolean> {
  await sleep(1000);
  const st = await poolState(o.cluster);
  if (st.ready !== seen.ready) {
    seen.ready = st.ready;
    await setCapacity(o, st.ready);
  }
  const now = Date.now();
  const surge = o.traffic.samples.slice(seen.from).filter((x) => x.cache !== 'hit');
  const recent = surge.filter((x) => x.at >= now - 3000);
  seen.spilledAt ??= surge.find((x) => x.backend === 'premium')?.at;
  if (st.ready > seen.grownTo) {
    seen.grownTo = st.ready;
    seen.grownAt = now;
  }
  o.line(
    `+${String(Math.round((now - seen.t0) / 1000)).padStart(3)}s  ${o.surgeRate} req/s │ llama pool ` +
      `${st.spec} replicas (${st.ready} ready, ${POOL_CAPACITY * Math.max(1, st.ready)} at once) │ last 3 s: ` +
      `llama ${share(recent.length - premium(recent), recent.length)}, spilled to premium ` +
      `${share(premium(recent), recent.length)} │ SpillingOver=${st.spilling} │ forecast (1 min ahead) ` +
      `${st.forecast} req/s │ client errors ${surge.filter((x) => !x.ok).length}`,
  );
  // Absorbed: the pool grew and for three seconds at most 2% spilled (bursts above the pool's capacity still
  // spill, as they should).
  const absorbed = recent.length > 0 && premium(recent) <= 0.02 * recent.length;
  if (seen.grownAt === undefined || seen.spilledAt === undefined || now - seen.grownAt <= 3000 || !absorbed)
    return false;
  seen.backAt = recent[0]?.at ?? now;
  return true;
}

function result(o: SurgeOptions, seen: Seen): SurgeResult {
  const s = (at: number | undefined) => (at === undefined ? undefined : (at - seen.t0) / 1000);
  const surge = o.traffic.samples.slice(seen.from);
  const problems: string[] = [];
  if (seen.spilledAt === undefined) problems.push('surge: nothing spilled over to the premium model');
  if (seen.grownAt === undefined) problems.push('surge: the HPA did not grow the llama pool');
  if (seen.backAt === undefined)
    problems.push(`surge: traffic not back on the pool after ${o.timeoutMs / 1000}s`);
  return {
    ...(seen.spilledAt !== undefined ? { spilledAfter: s(seen.spilledAt) } : {}),
    ...(seen.grownAt !== undefined ? { grownAfter: s(seen.grownAt) } : {}),
    ...(seen.backAt !== undefined ? { backAfter: s(seen.backAt) } : {}),
    grownTo: seen.grownTo,
    requests: surge.length,
    premium: premium(surge),
    errors: surge.filter((x) => !x.ok).length,
    problems,
  };
}

/** Raises the traffic, follows the pool until the surge is absorbed, lowers the traffic again. */
export async function runSurge(o: SurgeOptions): Promise<SurgeResult> {
  const start = await calm(o);
  await setCapacity(o, start.ready);
  const seen: Seen = {
    t0: Date.now(),
    from: o.traffic.samples.length,
    ready: start.ready,
    grownTo: start.ready,
  };
  o.traffic.setRate(o.surgeRate);
  try {
    let absorbed = false;
    while (!absorbed && Date.now() - seen.t0 < o.timeoutMs) absorbed = await tick(o, seen);
  } finally {
    o.traffic.setRate(o.baseRate);
    await fetch(`${o.llamaAdmin}/admin/faults`, { method: 'POST', body: JSON.stringify(o.llamaFaults) });
  }
  return result(o, seen);
}
