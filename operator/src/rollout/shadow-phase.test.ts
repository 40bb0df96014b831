import { describe, expect, it } from '@jest/globals';
import { canaryOverlayFor, compileRoute, type VariantFigures } from '../../../api/v1alpha1/index.js';
import {
  CANDIDATE_BACKEND,
  HEALTHY,
  healthyFigures,
  newCanaryFixture,
  type CanaryFixture,
  type CanarySpecInput,
} from '../../../testkit/canary.js';
import type { AnalysisResult } from './types.js';

const SHADOW = {
  duration: '20s',
  minRequests: 50,
  maxErrorRate: 0.05,
  maxLatencyP95: 800,
  minAgreement: 0.9,
  compare: 'normalised' as const,
  percent: 50,
};

const mirrored = (f: Partial<VariantFigures> = {}): AnalysisResult => ({
  ...HEALTHY,
  // Nothing live reaches the candidate in the shadow phase.
  canary: { requests: 0 },
  shadow: { ...healthyFigures(120), agreement: 0.96, ...f },
});

/** Past initialization, the route changed in Git: the next tick starts the rollout. */
function shadowRollout(spec: CanarySpecInput = {}): CanaryFixture {
  const f = newCanaryFixture({ shadow: SHADOW, ...spec });
  f.tick();
  f.advance();
  expect(f.status.phase).toBe('Idle');
  f.setRouteBackend(CANDIDATE_BACKEND);
  f.metrics = (w) => (w.weight === 0 ? mirrored() : HEALTHY);
  return f;
}

function weightsUntilDone(f: CanaryFixture, limit = 40): number[] {
  const weights: number[] = [];
  for (let i = 0; i < limit && !['Succeeded', 'RolledBack'].includes(f.status.phase ?? ''); i++) {
    f.advance();
    const w = f.status.canaryWeight ?? 0;
    if (weights.at(-1) !== w) weights.push(w);
  }
  return weights;
}

describe('the shadow phase of a canary', () => {
  it('mirrors to the candidate at weight 0 for the duration, then starts the first live step', () => {
    const f = shadowRollout();
    f.advance();
    expect(f.status.phase).toBe('Shadowing');
    expect(f.status.canaryWeight).toBe(0);
    expect(f.last?.requeueAfterMs).toBe(20_000);
    expect(f.events.at(-1)?.message).toMatch(/^Shadowing revision \S+: 50% of requests mirrored/);

    // The gateway mirrors the candidate and serves stable alone.
    const compiled = compileRoute(f.route, canaryOverlayFor(f.canary));
    expect(compiled.backends.map((b) => `${b.name}/${b.variant}/${b.model}`)).toEqual([
      'main/stable/llama-3-8b',
    ]);
    expect(compiled.canary).toBeUndefined();
    expect(compiled.shadow).toMatchObject({
      backend: { name: 'main', model: 'llama-3.1-8b' },
      percent: 50,
      compare: 'normalised',
    });

    const started = f.now.getTime();
    f.advance();
    // One window over the whole phase, judged on the shadow's figures.
    expect(f.windows).toHaveLength(1);
    expect(f.windows[0]?.since.getTime()).toBe(started);
    expect(f.windows[0]?.weight).toBe(0);
    expect(f.status.lastAnalysis?.shadow?.agreement).toBe(0.96);
    expect(f.status.phase).toBe('Progressing');
    expect(f.status.canaryWeight).toBe(1);
    expect(f.events.some((e) => /Shadow phase of revision \S+ passed .*agreement 96%/.test(e.message))).toBe(
      true,
    );
    // The phase is over: the route no longer mirrors, the candidate takes its 1%.
    const live = compileRoute(f.route, canaryOverlayFor(f.canary));
    expect(live.shadow).toBeUndefined();
    expect(live.canary?.weight).toBe(1);
    expect(weightsUntilDone(f)).toEqual([5, 25, 50, 100, 0]);
    expect(f.status.phase).toBe('Succeeded');
  });

  it.each([
    ['error rate', { errorRate: 0.2 }, 'shadow error-rate 0.2 > max 0.05'],
    ['latency', { latencyP95Ms: 2100 }, 'shadow latency-p95 2100ms > max 800ms'],
    ['agreement', { agreement: 0.4 }, 'shadow agreement 0.4 < min 0.9'],
  ])('rolls back from the shadow phase on its %s, before any live traffic', (_what, bad, why) => {
    const f = shadowRollout();
    f.metrics = () => mirrored(bad);
    f.advance(2);
    expect(f.status.phase).toBe('RolledBack');
    expect(f.status.canaryWeight).toBe(0);
    expect(f.status.lastAnalysis?.verdict).toBe('failed');
    const rolledBack = f.events.find((e) => e.reason === 'RolledBack');
    expect(rolledBack?.type).toBe('Warning');
    expect(rolledBack?.message).toContain(`shadow phase failed: ${why}`);
    expect(f.condition('Stalled')?.status).toBe('True');
    expect(compileRoute(f.route, canaryOverlayFor(f.canary)).shadow).toBeUndefined();
  });

  it('goes on shadowing while mirrored calls are too few, judging every interval from the phase start', () => {
    const f = shadowRollout();
    let calls = 10;
    f.metrics = () => mirrored({ requests: (calls += 20) });
    f.advance(2);
    expect(f.status.phase).toBe('Shadowing');
    expect(f.status.lastAnalysis?.verdict).toBe('inconclusive');
    expect(f.status.lastAnalysis?.failures?.[0]).toMatch(/mirrored calls, fewer than shadow.minRequests 50/);
    expect(f.last?.requeueAfterMs).toBe(5000);
    f.advance();
    expect(f.status.phase).toBe('Progressing');
    // Both windows start where the phase did: the figures are the whole phase's.
    expect(f.windows).toHaveLength(2);
    expect(new Set(f.windows.map((w) => w.since.getTime())).size).toBe(1);
  });

  it('rolls back an inconclusive shadow phase at the progress deadline with onProgressDeadline rollback', () => {
    const f = shadowRollout({
      analysis: {
        progressDeadline: '30s',
        onProgressDeadline: 'rollback',
        metrics: [{ name: 'error-rate', max: 0.01 }],
      },
    });
    f.metrics = () => mirrored({ requests: 3 });
    for (let i = 0; i < 20 && f.status.phase !== 'RolledBack'; i++) f.advance();
    expect(f.status.phase).toBe('RolledBack');
    expect(f.condition('Stalled')?.reason).toBe('ProgressDeadlineExceeded');
    expect(f.now.getTime() - new Date('2026-01-01T00:00:00Z').getTime()).toBeGreaterThanOrEqual(50_000);
  });

  it('treats a failed provider as inconclusive, not as a failure', () => {
    const f = shadowRollout();
    f.metrics = () => undefined;
    f.advance(2);
    expect(f.status.phase).toBe('Shadowing');
    expect(f.status.lastAnalysis?.failures).toEqual(['metrics unavailable']);
  });

  it('an operator restart at every tick gives the same rollout as no restart', () => {
    const straight = weightsUntilDone(shadowRollout());
    let f = shadowRollout();
    const weights: number[] = [];
    for (let i = 0; i < 40 && f.status.phase !== 'Succeeded'; i++) {
      f = f.restarted();
      for (const step of [() => f.tick(), () => f.advance()]) {
        step();
        const w = f.status.canaryWeight ?? 0;
        if (weights.at(-1) !== w) weights.push(w);
      }
    }
    expect(weights).toEqual(straight);
  });

  it('a canary without spec.shadow starts live at once', () => {
    const f = shadowRollout({ shadow: undefined });
    f.advance();
    expect(f.status.phase).toBe('Progressing');
    expect(f.status.canaryWeight).toBe(1);
  });
});
