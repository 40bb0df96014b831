// The demo's second chapter: two canary rollouts of the chat route's llama backend, watched tick by tick — a
// healthy new version that is promoted, then a bad one that is rolled back — and the simulated user scores
// the steady traffic sends while they run.
import type { Cluster } from './cluster.js';
import type { SimulatorUrls } from './manifests.js';
import type { Traffic } from './traffic.js';
import type { RolloutResult, View } from './view.js';

/** Which part of the story the traffic is in, for the simulated user feedback. */
export type StoryPhase = 'baseline' | 'good' | 'bad';

export interface RolloutsOptions {
  view: View;
  cluster: Cluster;
  traffic: Traffic;
  sims: SimulatorUrls;
  /** When the demo started, for the time to the first canary step. */
  t0: number;
  /** Told as each rollout begins, so that the simulated feedback follows the version under test. */
  phase: (phase: StoryPhase) => void;
}

/** Simulated user satisfaction: users like the new healthy version a bit more, the bad one much less. */
export function feedbackFor(variant: string, phase: StoryPhase): number | undefined {
  if (Math.random() > 0.3) return undefined;
  const base = variant === 'canary' ? (phase === 'bad' ? 0.45 : 0.9) : 0.82;
  return Math.max(0, Math.min(1, base + (Math.random() - 0.5) * 0.2));
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
  o: RolloutsOptions,
  title: string,
  newUrl: string,
  expect: 'Succeeded' | 'RolledBack',
  timeoutMs: number,
): Promise<RolloutResult> {
  const { view, cluster, traffic } = o;
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
      since = traffic.samples.length;
    }
    const samples = since === undefined ? [] : traffic.samples.slice(since);
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

/** A healthy new version that is promoted, then a bad one that is rolled back. */
export async function runRollouts(o: RolloutsOptions): Promise<RolloutResult[]> {
  o.phase('good');
  const firstStepAt = Date.now();
  const good = await rollout(o, 'Rollout 1: llama 3.1 → 3.2 (healthy)', o.sims.llamaV2, 'Succeeded', 240_000);
  o.view.detail(
    `time from demo start to the first canary step: ${((firstStepAt - o.t0) / 1000).toFixed(1)}s`,
  );
  o.phase('bad');
  const bad = await rollout(
    o,
    'Rollout 2: llama 3.2 → 3.3-rc (20% errors, 10× latency)',
    o.sims.llamaBad,
    'RolledBack',
    180_000,
  );
  return [good, bad];
}
