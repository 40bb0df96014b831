import { describe, expect, it } from '@jest/globals';
import type { AnalysisResult } from './types.js';
import { backendRevision } from './revision.js';
import {
  CANDIDATE_BACKEND,
  HEALTHY,
  STABLE_BACKEND,
  healthyFigures,
  newCanaryFixture,
  newRouteFixture,
  type CanaryFixture,
} from '../../../testkit/canary.js';

const BAD: AnalysisResult = {
  stable: healthyFigures(5000),
  canary: { ...healthyFigures(200), errorRate: 0.2 },
};
const LOW_TRAFFIC: AnalysisResult = { stable: healthyFigures(300), canary: healthyFigures(3) };

/** Ready always present; Reconciling and Stalled never both; Ready=False whenever either is True. */
function expectConventions(f: CanaryFixture): void {
  const ready = f.condition('Ready');
  const rec = f.condition('Reconciling');
  const stalled = f.condition('Stalled');
  expect(ready).toBeDefined();
  expect(rec !== undefined && stalled !== undefined).toBe(false);
  if (rec ?? stalled) expect(ready?.status).toBe('False');
  expect(f.status.observedGeneration).toBe(f.canary.metadata.generation);
}

/** A fixture past initialization with the route changed in Git: the candidate is pending. */
function gitopsRollout(spec: Parameters<typeof newCanaryFixture>[0] = {}): CanaryFixture {
  const f = newCanaryFixture(spec);
  f.tick();
  f.advance();
  expect(f.status.phase).toBe('Idle');
  f.setRouteBackend(CANDIDATE_BACKEND);
  return f;
}

function weightsUntilDone(f: CanaryFixture, limit = 40): number[] {
  const weights: number[] = [];
  for (let i = 0; i < limit && !['Succeeded', 'RolledBack'].includes(f.status.phase ?? ''); i++) {
    f.advance();
    expectConventions(f);
    const w = f.status.canaryWeight ?? 0;
    if (weights.at(-1) !== w) weights.push(w);
  }
  return weights;
}

describe('advanceCanary', () => {
  it('records the route backend as stable on the first tick, then idles with nothing to roll out', () => {
    const f = newCanaryFixture();
    const r = f.tick();
    expect(f.status.phase).toBe('Initializing');
    expect(f.status.stableBackend?.model).toBe('llama-3-8b');
    expect(f.status.stableRevision).toBe(backendRevision(STABLE_BACKEND));
    expect(r.requeueAfterMs).toBe(0);
    expect(f.condition('Reconciling')?.status).toBe('True');
    expectConventions(f);
    f.advance();
    expect(f.status.phase).toBe('Idle');
    expect(f.condition('Ready')).toMatchObject({ status: 'True', reason: 'Reconciled' });
    expect(f.condition('Reconciling')).toBeUndefined();
    expectConventions(f);
  });

  it('writes nothing on a tick that changes nothing', () => {
    const f = newCanaryFixture();
    f.tick();
    f.advance();
    const writes = f.writes;
    f.advance(3);
    expect(f.writes).toBe(writes);
    f.setRouteBackend(CANDIDATE_BACKEND).advance();
    expect(f.status.phase).toBe('Progressing');
    const w = f.writes;
    f.sleep(1000).tick();
    f.sleep(1000).tick();
    expect(f.writes).toBe(w);
  });

  it('treats the same spec with defaults spelled out as the same revision', () => {
    const { provider: _p, weight: _w, ...bare } = STABLE_BACKEND;
    expect(backendRevision(bare)).toBe(backendRevision(STABLE_BACKEND));
    expect(backendRevision(CANDIDATE_BACKEND)).not.toBe(backendRevision(STABLE_BACKEND));
  });

  it('rolls a changed route backend (GitOps flow) through every step and promotes it once', () => {
    const f = gitopsRollout();
    f.advance();
    expect(f.status.phase).toBe('Progressing');
    expect(f.status.canaryWeight).toBe(1);
    expect(f.status.candidateRevision).toBe(backendRevision(CANDIDATE_BACKEND));
    expect(f.status.stableBackend?.model).toBe('llama-3-8b');
    expect(f.condition('Reconciling')).toMatchObject({ status: 'True', reason: 'Progressing' });
    const weights = [1, ...weightsUntilDone(f)];
    expect(weights).toEqual([1, 5, 25, 50, 100, 0]);
    expect(f.status.phase).toBe('Succeeded');
    expect(f.status.stableBackend?.model).toBe('llama-3.1-8b');
    expect(f.status.stableRevision).toBe(backendRevision(CANDIDATE_BACKEND));
    expect(f.status.candidateRevision).toBeUndefined();
    expect(f.condition('Ready')).toMatchObject({ status: 'True', reason: 'Succeeded' });
    f.advance(5);
    expect(f.status.phase).toBe('Succeeded');
    expect(f.events.filter((e) => e.reason === 'Promoted')).toHaveLength(1);
  });

  it('each step lasts one interval and each window starts where the last one ended', () => {
    const f = gitopsRollout();
    f.advance();
    weightsUntilDone(f);
    const spans = f.windows.map((w) => w.until.getTime() - w.since.getTime());
    expect(spans).toEqual([5000, 5000, 5000, 5000]);
    for (let i = 1; i < f.windows.length; i++) {
      expect(f.windows[i]?.since.getTime()).toBe(f.windows[i - 1]?.until.getTime());
    }
    expect(f.windows.map((w) => w.weight)).toEqual([1, 5, 25, 50]);
  });

  it('rolls out spec.candidate against the route backend (explicit flow)', () => {
    const f = newCanaryFixture({ candidate: CANDIDATE_BACKEND });
    f.tick();
    expect(f.status.stableBackend?.model).toBe('llama-3-8b');
    f.advance();
    expect(f.status.phase).toBe('Progressing');
    expect(f.status.candidateBackend?.model).toBe('llama-3.1-8b');
    weightsUntilDone(f);
    expect(f.status.phase).toBe('Succeeded');
    expect(f.status.stableBackend?.model).toBe('llama-3.1-8b');
  });

  it('rolls back within one interval when error rate exceeds the bound (failureThreshold 1, 5s interval)', () => {
    const f = gitopsRollout({
      analysis: { failureThreshold: 1, metrics: [{ name: 'error-rate', max: 0.05 }] },
    });
    f.advance();
    expect(f.status.canaryWeight).toBe(1);
    const started = f.now.getTime();
    f.metrics = () => BAD;
    f.advance();
    expect(f.now.getTime() - started).toBe(5000);
    expect(f.status.canaryWeight).toBe(0);
    expect(f.status.phase).toBe('RolledBack');
    expect(f.status.rolledBackRevision).toBe(backendRevision(CANDIDATE_BACKEND));
    expect(f.condition('Stalled')).toMatchObject({ status: 'True', reason: 'RolledBack' });
    expect(f.condition('Ready')).toMatchObject({ status: 'False', reason: 'RolledBack' });
    expectConventions(f);
    const ev = f.events.find((e) => e.reason === 'RolledBack');
    expect(ev?.type).toBe('Warning');
    expect(ev?.message).toContain('error-rate 0.2 > max 0.05');
    expect(ev?.message).toContain('200 req');
    expect(f.status.lastAnalysis?.verdict).toBe('failed');
  });

  it('holds the step on a failed window below the threshold and rolls back at it', () => {
    const f = gitopsRollout();
    f.advance(2);
    expect(f.status.canaryWeight).toBe(5);
    f.metrics = () => BAD;
    f.advance();
    expect(f.status.canaryWeight).toBe(5);
    expect(f.status.failedWindows).toBe(1);
    expect(f.events.at(-1)).toMatchObject({ type: 'Warning', reason: 'AnalysisFailed' });
    f.advance();
    expect(f.status.canaryWeight).toBe(0);
    expect(f.status.phase).toBe('RolledBack');
  });

  it('judges latency, TTFT, cost and feedback bounds', () => {
    const f = gitopsRollout({
      analysis: {
        failureThreshold: 1,
        metrics: [
          { name: 'latency-p95', max: 200 },
          { name: 'ttft-p95', max: 100 },
          { name: 'cost-per-request', max: 0.01 },
          { name: 'feedback-score', min: 0.8 },
        ],
      },
    });
    f.advance();
    f.metrics = () => ({
      stable: healthyFigures(),
      canary: {
        ...healthyFigures(),
        latencyP95Ms: 600,
        ttftP95Ms: 300,
        costPerRequest: 0.02,
        feedbackScore: 0.5,
      },
    });
    f.advance();
    expect(f.status.phase).toBe('RolledBack');
    expect(f.status.lastAnalysis?.failures).toEqual([
      'latency-p95 600ms > max 200ms',
      'ttft-p95 300ms > max 100ms',
      'cost-per-request 0.02 USD > max 0.01 USD',
      'feedback-score 0.5 < min 0.8',
    ]);
  });

  it('does not judge a metric without data in the window', () => {
    const f = gitopsRollout({ analysis: { metrics: [{ name: 'feedback-score', min: 0.8 }] } });
    f.advance(2);
    expect(f.status.canaryWeight).toBe(5);
    expect(f.status.lastAnalysis?.verdict).toBe('passed');
  });

  it('holds the step while traffic is too low, without counting a failure', () => {
    const f = gitopsRollout();
    f.advance();
    f.metrics = () => LOW_TRAFFIC;
    f.advance(6);
    expect(f.status.phase).toBe('Progressing');
    expect(f.status.canaryWeight).toBe(1);
    expect(f.status.inconclusiveWindows).toBe(6);
    expect(f.status.failedWindows).toBe(0);
    expect(f.status.lastAnalysis?.verdict).toBe('inconclusive');
    expect(f.status.message).toContain('3 canary requests, fewer than minRequests 50');
    f.metrics = () => HEALTHY;
    f.advance();
    expect(f.status.canaryWeight).toBe(5);
    expect(f.status.inconclusiveWindows).toBe(0);
  });

  it('names the verdict on the tick that judged a window, and on no other', () => {
    const f = gitopsRollout();
    expect(f.last?.verdict).toBeUndefined();
    f.sleep(2000).tick();
    expect(f.last?.verdict).toBeUndefined();
    const verdicts: (string | undefined)[] = [];
    for (const m of [LOW_TRAFFIC, BAD, HEALTHY]) {
      f.metrics = () => m;
      f.advance();
      verdicts.push(f.last?.verdict);
    }
    expect(verdicts).toEqual(['inconclusive', 'failed', 'passed']);
  });

  it('treats a provider failure as an inconclusive window', () => {
    const f = gitopsRollout();
    f.advance();
    f.metrics = () => undefined;
    f.advance();
    expect(f.status.canaryWeight).toBe(1);
    expect(f.status.lastAnalysis).toMatchObject({
      verdict: 'inconclusive',
      failures: ['metrics unavailable'],
    });
  });

  it('pauses at the progress deadline, and resumes when traffic returns', () => {
    const f = gitopsRollout({
      analysis: { progressDeadline: '20s', metrics: [{ name: 'error-rate', max: 0.01 }] },
    });
    f.advance();
    f.metrics = () => LOW_TRAFFIC;
    f.advance(3);
    expect(f.status.phase).toBe('Progressing');
    f.advance();
    expect(f.status.phase).toBe('Paused');
    expect(f.status.canaryWeight).toBe(1);
    expect(f.condition('Ready')).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
    expect(f.condition('Reconciling')).toBeUndefined();
    expect(f.condition('Stalled')).toBeUndefined();
    expect(f.events.at(-1)).toMatchObject({ type: 'Warning', reason: 'ProgressDeadlineExceeded' });
    const n = f.events.length;
    f.advance(3);
    expect(f.status.phase).toBe('Paused');
    expect(f.events.length).toBe(n);
    f.metrics = () => HEALTHY;
    f.advance();
    expect(f.status.phase).toBe('Progressing');
    expect(f.status.canaryWeight).toBe(5);
  });

  it('rolls back at the progress deadline with onProgressDeadline rollback', () => {
    const f = gitopsRollout({
      analysis: {
        progressDeadline: '10s',
        onProgressDeadline: 'rollback',
        metrics: [{ name: 'error-rate', max: 0.01 }],
      },
    });
    f.advance();
    f.metrics = () => LOW_TRAFFIC;
    f.advance(2);
    expect(f.status.phase).toBe('RolledBack');
    expect(f.status.canaryWeight).toBe(0);
    expect(f.condition('Stalled')).toMatchObject({ status: 'True', reason: 'ProgressDeadlineExceeded' });
  });

  it('stays rolled back until the spec changes, then rolls out the new revision', () => {
    const f = gitopsRollout({
      analysis: { failureThreshold: 1, metrics: [{ name: 'error-rate', max: 0.05 }] },
    });
    f.advance();
    f.metrics = () => BAD;
    f.advance();
    expect(f.status.phase).toBe('RolledBack');
    f.metrics = () => HEALTHY;
    const writes = f.writes;
    f.advance(5);
    expect(f.status.phase).toBe('RolledBack');
    expect(f.status.canaryWeight).toBe(0);
    expect(f.writes).toBe(writes);
    f.setRouteBackend({ ...CANDIDATE_BACKEND, model: 'llama-3.2-8b' }).advance();
    expect(f.status.phase).toBe('Progressing');
    expect(f.status.canaryWeight).toBe(1);
    expect(f.condition('Stalled')).toBeUndefined();
    expectConventions(f);
  });

  it('goes idle when the route is reverted to the stable spec after a rollback', () => {
    const f = gitopsRollout({
      analysis: { failureThreshold: 1, metrics: [{ name: 'error-rate', max: 0.05 }] },
    });
    f.advance();
    f.metrics = () => BAD;
    f.advance();
    f.setRouteBackend(STABLE_BACKEND).advance();
    expect(f.status.phase).toBe('Idle');
    expect(f.condition('Ready')?.status).toBe('True');
    expect(f.condition('Stalled')).toBeUndefined();
  });

  it('restarts at the first step when the candidate changes mid-rollout', () => {
    const f = gitopsRollout();
    f.advance(3);
    expect(f.status.canaryWeight).toBe(25);
    f.setRouteBackend({ ...CANDIDATE_BACKEND, model: 'llama-3.2-8b' });
    f.advance();
    expect(f.status.canaryWeight).toBe(1);
    expect(f.status.candidateBackend?.model).toBe('llama-3.2-8b');
    expect(f.events.at(-2)?.message).toContain('Candidate changed');
  });

  it('pauses before 100 for manual promotion, keeps analysing, and promotes the approved revision', () => {
    const f = gitopsRollout({ promotion: { mode: 'manual' } });
    f.advance();
    f.advanceUntil('Paused');
    expect(f.status.canaryWeight).toBe(50);
    expect(f.condition('Ready')).toMatchObject({ status: 'False', reason: 'AwaitingPromotion' });
    f.advance(3);
    expect(f.status.phase).toBe('Paused');
    expect(f.status.canaryWeight).toBe(50);
    f.setSpec({ promotion: { mode: 'manual', approvedRevision: 'not-this-one' } }).advance();
    expect(f.status.phase).toBe('Paused');
    f.setSpec({ promotion: { mode: 'manual', approvedRevision: f.status.candidateRevision } });
    f.sleep(100).tick();
    expect(f.status.phase).toBe('Promoting');
    expect(f.status.canaryWeight).toBe(100);
    f.advance();
    expect(f.status.phase).toBe('Succeeded');
    expect(f.condition('Ready')).toMatchObject({ status: 'True', reason: 'Succeeded' });
  });

  it('rolls back a paused canary whose analysis fails', () => {
    const f = gitopsRollout({ promotion: { mode: 'manual' } });
    f.advance();
    f.advanceUntil('Paused');
    f.metrics = () => BAD;
    f.advance(2);
    expect(f.status.phase).toBe('RolledBack');
  });

  it('reports a missing route or backend without touching the rollout', () => {
    const f = gitopsRollout();
    f.advance(2);
    f.route = { ...f.route, spec: { ...f.route.spec, backends: [{ ...STABLE_BACKEND, name: 'other' }] } };
    f.advance();
    expect(f.condition('Ready')).toMatchObject({ status: 'False', reason: 'BackendNotFound' });
    expect(f.status.canaryWeight).toBe(5);
    expectConventions(f);
    const g = newCanaryFixture();
    g.route = undefined as never;
    g.tick();
    expect(g.condition('Ready')).toMatchObject({ status: 'False', reason: 'RouteNotFound' });
    expect(g.status.stableBackend).toBeUndefined();
  });

  describe('abort', () => {
    const abort = (f: CanaryFixture) => {
      f.setSpec({ abort: true });
      f.sleep(10).tick();
      expectConventions(f);
    };

    it('during Initializing: records stable and starts nothing', () => {
      const f = newCanaryFixture({ abort: true });
      f.setRouteBackend(CANDIDATE_BACKEND);
      f.tick();
      expect(f.status.phase).toBe('Initializing');
      f.advance();
      expect(f.status.phase).toBe('Idle');
      expect(f.status.canaryWeight).toBe(0);
    });

    it('when idle with a pending candidate: does not start it', () => {
      const f = gitopsRollout();
      abort(f);
      expect(f.status.phase).toBe('RolledBack');
      expect(f.status.canaryWeight).toBe(0);
      expect(f.condition('Stalled')).toMatchObject({ status: 'True', reason: 'Aborted' });
    });

    it.each([1, 2, 3])('while progressing (after %i ticks): weight 0 at once', (n) => {
      const f = gitopsRollout();
      f.advance(n);
      expect(f.status.phase).toBe('Progressing');
      abort(f);
      expect(f.status.phase).toBe('RolledBack');
      expect(f.status.canaryWeight).toBe(0);
      expect(f.events.at(-1)).toMatchObject({ type: 'Warning', reason: 'Aborted' });
      f.setSpec({ abort: false }).advance(3);
      expect(f.status.phase).toBe('RolledBack');
    });

    it('while paused for promotion', () => {
      const f = gitopsRollout({ promotion: { mode: 'manual' } });
      f.advance();
      f.advanceUntil('Paused');
      abort(f);
      expect(f.status.phase).toBe('RolledBack');
      expect(f.status.canaryWeight).toBe(0);
    });

    it('while promoting: nothing is promoted', () => {
      const f = gitopsRollout();
      f.advance();
      f.advanceUntil('Promoting');
      abort(f);
      expect(f.status.phase).toBe('RolledBack');
      expect(f.status.stableBackend?.model).toBe('llama-3-8b');
      expect(f.events.some((e) => e.reason === 'Promoted')).toBe(false);
    });

    it('after success and after rollback: changes nothing', () => {
      const f = gitopsRollout();
      f.advance();
      f.advanceUntil('Succeeded');
      abort(f);
      expect(f.status.phase).toBe('Succeeded');
      expect(f.condition('Ready')?.status).toBe('True');
      const g = gitopsRollout({
        analysis: { failureThreshold: 1, metrics: [{ name: 'error-rate', max: 0.05 }] },
      });
      g.advance();
      g.metrics = () => BAD;
      g.advance();
      const reason = g.condition('Stalled')?.reason;
      abort(g);
      expect(g.status.phase).toBe('RolledBack');
      expect(g.condition('Stalled')?.reason).toBe(reason);
    });
  });

  describe('resume from status', () => {
    it('an operator restart at every tick gives the same rollout as no restart', () => {
      const straight = gitopsRollout();
      const straightWeights = weightsUntilDone(straight);
      let f = gitopsRollout();
      const weights: number[] = [];
      for (let i = 0; i < 40 && f.status.phase !== 'Succeeded'; i++) {
        f = f.restarted();
        for (const step of [() => f.tick(), () => f.advance()]) {
          step();
          expectConventions(f);
          const w = f.status.canaryWeight ?? 0;
          if (weights.at(-1) !== w) weights.push(w);
        }
      }
      expect(weights).toEqual(straightWeights);
      expect(f.status.stableBackend?.model).toBe('llama-3.1-8b');
    });

    it('a restart mid-window waits for the rest of the window, and promotes once after a restart while promoting', () => {
      const f = gitopsRollout();
      f.advance(2);
      f.sleep(2000);
      const g = f.restarted();
      const r = g.tick();
      expect(r.requeueAfterMs).toBe(3000);
      expect(g.status.canaryWeight).toBe(5);
      g.advanceUntil('Promoting');
      const h = g.restarted();
      h.tick();
      expect(h.status.phase).toBe('Succeeded');
      const k = h.restarted();
      k.tick();
      expect(k.status.phase).toBe('Succeeded');
      expect(k.events.filter((e) => e.reason === 'Promoted')).toHaveLength(0);
    });

    it('a restart while rolled back stays rolled back', () => {
      const f = gitopsRollout({
        analysis: { failureThreshold: 1, metrics: [{ name: 'error-rate', max: 0.05 }] },
      });
      f.advance();
      f.metrics = () => BAD;
      f.advance();
      const g = f.restarted();
      g.metrics = () => HEALTHY;
      g.advance(3);
      expect(g.status.phase).toBe('RolledBack');
      expect(g.status.canaryWeight).toBe(0);
    });
  });

  it('never moves the weight backwards except to 0 on rollback', () => {
    const f = gitopsRollout();
    let prev = 0;
    const pattern = [HEALTHY, LOW_TRAFFIC, HEALTHY, BAD, HEALTHY, LOW_TRAFFIC, HEALTHY, HEALTHY, HEALTHY];
    let i = 0;
    f.metrics = () => pattern[i++ % pattern.length] ?? HEALTHY;
    for (let k = 0; k < 30; k++) {
      f.advance();
      const w = f.status.canaryWeight ?? 0;
      if (f.status.phase !== 'Succeeded' && f.status.phase !== 'RolledBack')
        expect(w).toBeGreaterThanOrEqual(prev);
      prev = w;
    }
    expect(f.status.phase).toBe('Succeeded');
  });

  it('uses a route with a single default backend as fixture', () => {
    expect(newRouteFixture().spec.backends).toHaveLength(1);
  });
});
