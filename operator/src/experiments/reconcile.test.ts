import { describe, expect, it } from '@jest/globals';
import {
  ExperimentSpec,
  experimentOverlayFor,
  type Experiment,
  type ExperimentStatus,
} from '../../../api/v1alpha1/index.js';
import { reconcileExperiment, wantsScrape, type ExperimentTick, type ExperimentView } from './reconcile.js';
import { counterKey, type Counters, type ScrapeResult, type TallyMemory } from './tally.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const ROUTE: ExperimentView = { routeBackends: ['slow', 'fast'] };

function experiment(spec: Record<string, unknown> = {}): Experiment {
  return {
    apiVersion: 'beastmode.dev/v1alpha1',
    kind: 'Experiment',
    metadata: { name: 'speed', namespace: 'llm', generation: 1, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: ExperimentSpec.parse({
      routeRef: { name: 'chat' },
      variants: [
        { name: 'control', backend: 'slow' },
        { name: 'treatment', backend: 'fast' },
      ],
      primary: { metric: 'latency-ms', minimumDetectableEffect: 20 },
      minSamplesPerVariant: 30,
      interval: '10s',
      promotion: 'auto',
      ...spec,
    }),
  };
}

/** Counters of `n` latencies with mean `mean` and standard deviation `sd` (exact moments). */
function latency(n: number, mean: number, sd: number) {
  return { count: n, sum: n * mean, sumSquares: (n - 1) * sd * sd + n * mean * mean };
}

const pod = (byVariant: Record<string, ReturnType<typeof latency>>, metric = 'latency-ms'): Counters =>
  new Map(Object.entries(byVariant).map(([v, m]) => [counterKey(v, metric), m]));

const scrape = (pods: Record<string, Counters>): ScrapeResult => ({
  pods: new Map(Object.entries(pods)),
  failed: [],
});

/** Drives the reconcile like the controller: status and memory carried over, time moving on. */
class Driver {
  memory: TallyMemory | undefined;
  events: ExperimentTick['events'] = [];
  now = T0;

  constructor(
    public exp: Experiment,
    public view: ExperimentView = ROUTE,
  ) {}

  step(pods?: Record<string, Counters>, advanceMs = 10_000): ExperimentTick {
    const now = new Date(this.now);
    const due = wantsScrape(this.exp, this.view, now);
    const r = reconcileExperiment({
      experiment: this.exp,
      view: this.view,
      now,
      random: () => 0.5,
      ...(due && pods !== undefined ? { scrape: scrape(pods) } : {}),
      ...(this.memory !== undefined ? { memory: this.memory } : {}),
    });
    this.exp = { ...this.exp, status: r.status };
    this.memory = r.memory;
    this.events.push(...r.events);
    this.now += advanceMs;
    return r;
  }

  setSpec(patch: Record<string, unknown>): void {
    const generation = (this.exp.metadata.generation ?? 1) + 1;
    this.exp = {
      ...this.exp,
      metadata: { ...this.exp.metadata, generation },
      spec: ExperimentSpec.parse({ ...this.exp.spec, ...patch }),
    };
  }

  get status(): ExperimentStatus {
    return this.exp.status ?? {};
  }

  reasons(): string[] {
    return this.events.map((e) => e.reason);
  }
}

const condition = (st: ExperimentStatus, type: string) => st.conditions?.find((c) => c.type === type);

describe('reconcileExperiment: starting', () => {
  it('starts Running with the fixed split, a baseline scrape and Reconciling; due again after the interval', () => {
    const d = new Driver(
      experiment({
        variants: [
          { name: 'control', backend: 'slow', weight: 3 },
          { name: 'treatment', backend: 'fast', weight: 1 },
        ],
      }),
    );
    const r = d.step({ p1: pod({ control: latency(500, 60, 5) }) }, 0);
    expect(d.status).toMatchObject({
      phase: 'Running',
      startedAt: '2026-01-01T00:00:00.000Z',
      verdict: 'continue',
    });
    expect(d.status.variants?.map((v) => [v.name, v.weight, v.moments])).toEqual([
      ['control', 0.75, undefined],
      ['treatment', 0.25, undefined],
    ]);
    expect(condition(d.status, 'Ready')).toMatchObject({ status: 'False', reason: 'Progressing' });
    expect(condition(d.status, 'Reconciling')).toMatchObject({ status: 'True' });
    expect(d.reasons()).toEqual(['Started']);
    expect(r.requeueAfterMs).toBe(10_000);
    expect(wantsScrape(d.exp, ROUTE, new Date(T0 + 9_000))).toBe(false);
    expect(wantsScrape(d.exp, ROUTE, new Date(T0 + 10_000))).toBe(true);
    expect(experimentOverlayFor(d.exp)?.variants.map((v) => v.weight)).toEqual([0.75, 0.25]);
  });

  it('a missing route, backend or an older experiment on the route holds it Pending and Stalled, with one Event', () => {
    const cases: [ExperimentView, string][] = [
      [{ routeBackends: undefined }, 'RouteNotFound'],
      [{ routeBackends: ['slow'] }, 'BackendNotFound'],
      [{ ...ROUTE, conflictWith: 'older' }, 'ExperimentConflict'],
    ];
    for (const [view, reason] of cases) {
      const d = new Driver(experiment(), view);
      const first = d.step();
      const second = d.step();
      expect(d.status.phase).toBe('Pending');
      expect(condition(d.status, 'Stalled')).toMatchObject({ status: 'True', reason });
      expect(d.events).toEqual([expect.objectContaining({ type: 'Warning', reason })]);
      // Level-triggered: the same state renders the same status (no write) and no second Event.
      expect(second.status).toEqual(first.status);
      expect(experimentOverlayFor(d.exp)).toBeUndefined();
    }
  });
});

describe('reconcileExperiment: a canary on the route', () => {
  it('waits (Pending, Reconciling, not Stalled) while a canary rolls out a variant backend, then resumes', () => {
    const d = new Driver(experiment());
    d.step({ p1: pod({ control: latency(10, 60, 5) }) });
    expect(d.status.phase).toBe('Running');
    d.view = { ...ROUTE, canary: { name: 'fast-v2', backend: 'fast' } };
    expect(wantsScrape(d.exp, d.view, new Date(d.now + 3_600_000))).toBe(false);
    d.step();
    expect(d.status.phase).toBe('Pending');
    expect(condition(d.status, 'Stalled')?.status).not.toBe('True');
    expect(condition(d.status, 'Reconciling')).toMatchObject({ status: 'True', reason: 'CanaryInProgress' });
    expect(condition(d.status, 'Ready')).toMatchObject({ status: 'False', reason: 'CanaryInProgress' });
    expect(d.events.at(-1)).toMatchObject({
      reason: 'CanaryInProgress',
      message: expect.stringContaining('Canary fast-v2 is rolling out backend fast of route chat'),
    });
    // No split while it waits: the route serves as the canary makes it.
    expect(experimentOverlayFor(d.exp)).toBeUndefined();
    d.view = ROUTE;
    d.step({ p1: pod({ control: latency(10, 60, 5) }) });
    expect(d.status.phase).toBe('Running');
    expect(d.reasons()).toContain('Resumed');
  });

  it('ignores a canary of a backend no variant uses', () => {
    const d = new Driver(experiment(), { ...ROUTE, canary: { name: 'other', backend: 'elsewhere' } });
    d.step({ p1: pod({ control: latency(10, 60, 5) }) });
    expect(d.status.phase).toBe('Running');
  });
});

describe('reconcileExperiment: ticks', () => {
  it('adds per-pod deltas across a pod restart into cumulative moments', () => {
    const d = new Driver(experiment({ minSamplesPerVariant: 1000 }));
    d.step({ p1: pod({ control: latency(100, 60, 5) }) }); // baseline: counted before the start
    d.step({ p1: pod({ control: latency(110, 60, 5), treatment: latency(8, 5, 1) }) });
    // p1 restarted (its counters went down), p2 is new: both count in full.
    d.step({ p1: pod({ control: latency(4, 60, 5) }), p2: pod({ treatment: latency(6, 5, 1) }) });
    const m = Object.fromEntries(
      d.status.variants?.map((v) => [v.name, v.moments?.['latency-ms']?.count]) ?? [],
    );
    expect(m).toEqual({ control: 14, treatment: 14 });
    expect(d.status.variants?.[0]?.mean?.['latency-ms']).toBeCloseTo(60, 6);
    expect(d.status.lastTickAt).toBe(new Date(T0 + 20_000).toISOString());
    expect(d.status.comparisons).toEqual([{ variant: 'treatment', standing: 'collecting' }]);
  });

  it('reconciles between ticks write nothing new', () => {
    const d = new Driver(experiment());
    d.step({ p1: pod({}) }, 2_000);
    const before = d.status;
    const r = d.step({ p1: pod({ control: latency(50, 60, 5) }) }, 2_000);
    expect(r.status).toEqual(before);
    expect(r.requeueAfterMs).toBe(8_000);
  });
});

describe('reconcileExperiment: unreadable gateways', () => {
  it('keeps the moments, says why in the message, and a reconcile between ticks changes nothing', () => {
    const d = new Driver(experiment({ minSamplesPerVariant: 1000 }));
    d.step({ p1: pod({}) });
    d.step({ p1: pod({ control: latency(5, 60, 5) }) }, 2_000);
    const r = reconcileExperiment({
      experiment: d.exp,
      view: ROUTE,
      now: new Date(d.now + 10_000),
      random: () => 0.5,
      scrape: { pods: new Map(), failed: ['p1'], error: 'p1: connection refused' },
      ...(d.memory !== undefined ? { memory: d.memory } : {}),
    });
    expect(r.status.variants?.[0]?.moments?.['latency-ms']?.count).toBe(5);
    expect(r.status.message).toContain('metrics unavailable: p1: connection refused');
    const between = reconcileExperiment({
      experiment: { ...d.exp, status: r.status },
      view: ROUTE,
      now: new Date(d.now + 12_000),
      random: () => 0.5,
    });
    expect(between.status).toEqual(r.status);
    expect(between.events).toEqual([]);
  });
});

describe('reconcileExperiment: verdicts and promotion', () => {
  const fastWins = (d: Driver) => {
    d.step({ p1: pod({}) });
    d.step({ p1: pod({ control: latency(40, 60, 5), treatment: latency(40, 5, 2) }) });
  };

  it('a winner with promotion auto is Promoted at once, Ready, and the route serves it to everyone', () => {
    const d = new Driver(experiment());
    fastWins(d);
    expect(d.status).toMatchObject({
      phase: 'Promoted',
      verdict: 'winner',
      winner: 'treatment',
      promotedVariant: 'treatment',
    });
    expect(d.status.plannedSamplesPerVariant).toBeGreaterThan(0);
    expect(d.status.comparisons?.[0]).toMatchObject({ variant: 'treatment', standing: 'better' });
    expect(d.status.comparisons?.[0]?.improvement).toBeCloseTo(55, 6);
    expect(condition(d.status, 'Ready')).toMatchObject({ status: 'True', reason: 'Promoted' });
    expect(condition(d.status, 'Reconciling')).toBeUndefined();
    expect(d.reasons()).toEqual(['Started', 'Winner', 'Promoted']);
    expect(experimentOverlayFor(d.exp)).toMatchObject({ promoted: 'treatment' });
    // Settled: no more scrapes, no more Events.
    expect(wantsScrape(d.exp, ROUTE, new Date(d.now + 60_000))).toBe(false);
    d.step({ p1: pod({ control: latency(400, 60, 5) }) });
    expect(d.reasons()).toHaveLength(3);
  });

  it('manual promotion waits Concluded until spec.promote names the winner', () => {
    const d = new Driver(experiment({ promotion: 'manual' }));
    fastWins(d);
    expect(d.status).toMatchObject({ phase: 'Concluded', winner: 'treatment' });
    expect(d.status.promotedVariant).toBeUndefined();
    expect(condition(d.status, 'Ready')).toMatchObject({ status: 'False', reason: 'AwaitingPromotion' });
    expect(condition(d.status, 'Stalled')).toBeUndefined();
    expect(experimentOverlayFor(d.exp)).toBeUndefined();
    d.setSpec({ promote: 'control' });
    d.step();
    expect(d.status.phase).toBe('Concluded');
    expect(condition(d.status, 'Ready')?.message).toContain('not the winner');
    d.setSpec({ promote: 'treatment' });
    d.step();
    expect(d.status).toMatchObject({ phase: 'Promoted', promotedVariant: 'treatment' });
    expect(d.reasons()).toEqual(['Started', 'Winner', 'Promoted']);
  });

  it('promotion none reports the winner and leaves the route as written', () => {
    const d = new Driver(experiment({ promotion: 'none' }));
    fastWins(d);
    expect(d.status).toMatchObject({ phase: 'Concluded', winner: 'treatment' });
    expect(condition(d.status, 'Ready')).toMatchObject({ status: 'True', reason: 'Concluded' });
    expect(experimentOverlayFor(d.exp)).toBeUndefined();
  });

  it('no difference at the horizon concludes; the control keeps serving', () => {
    const d = new Driver(experiment({ maxDuration: '30s' }));
    d.step({ p1: pod({}) });
    d.step({ p1: pod({ control: latency(40, 60, 40), treatment: latency(40, 58, 40) }) });
    expect(d.status.phase).toBe('Running');
    d.step({ p1: pod({ control: latency(50, 60, 40), treatment: latency(50, 58, 40) }) });
    d.step({ p1: pod({ control: latency(60, 60, 40), treatment: latency(60, 58, 40) }) });
    expect(d.status).toMatchObject({ phase: 'Concluded', verdict: 'no-difference' });
    expect(d.status.reasons?.[0]).toContain('maximum duration');
    expect(d.status.winner).toBeUndefined();
    expect(d.reasons()).toEqual(['Started', 'NoDifference']);
    expect(experimentOverlayFor(d.exp)).toBeUndefined();
  });

  it('a guardrail breach concludes Stalled with a Warning, even while the primary is undecided', () => {
    const d = new Driver(
      experiment({
        primary: { metric: 'feedback-score', minimumDetectableEffect: 0.05 },
        guardrails: [{ metric: 'latency-ms', tolerance: 20 }],
      }),
    );
    d.step({ p1: pod({}) });
    const score = { control: latency(200, 0.7, 0.2), treatment: latency(200, 0.7, 0.2) };
    const slow = { control: latency(200, 50, 5), treatment: latency(200, 400, 5) };
    d.step({
      p1: new Map([...pod(score, 'feedback-score'), ...pod(slow, 'latency-ms')]),
    });
    expect(d.status).toMatchObject({ phase: 'Concluded', verdict: 'guardrail-breach' });
    expect(d.status.comparisons?.[0]?.breaches?.[0]).toContain('latency-ms worse than control');
    expect(condition(d.status, 'Stalled')).toMatchObject({ status: 'True', reason: 'GuardrailBreach' });
    expect(d.events.at(-1)).toMatchObject({ type: 'Warning', reason: 'GuardrailBreach' });
  });
});

describe('reconcileExperiment: changes and abort', () => {
  it('a changed design resets the moments and starts again, with an Event', () => {
    const d = new Driver(experiment({ minSamplesPerVariant: 1000 }));
    d.step({ p1: pod({}) });
    d.step({ p1: pod({ control: latency(20, 60, 5), treatment: latency(20, 5, 1) }) });
    expect(d.status.variants?.[0]?.moments).toBeDefined();
    const hash = d.status.specHash;
    d.setSpec({ primary: { metric: 'latency-ms', minimumDetectableEffect: 10 } });
    expect(wantsScrape(d.exp, ROUTE, new Date(d.now))).toBe(true);
    d.step({ p1: pod({ control: latency(25, 60, 5), treatment: latency(25, 5, 1) }) });
    expect(d.status.specHash).not.toBe(hash);
    expect(d.status.phase).toBe('Running');
    expect(d.status.startedAt).toBe(new Date(d.now - 10_000).toISOString());
    expect(d.status.variants?.every((v) => v.moments === undefined)).toBe(true);
    expect(d.reasons()).toEqual(['Started', 'Restarted', 'Started']);
    // The new baseline was the restart's scrape: only what follows counts.
    d.step({ p1: pod({ control: latency(27, 60, 5), treatment: latency(26, 5, 1) }) });
    expect(d.status.variants?.map((v) => v.moments?.['latency-ms']?.count)).toEqual([2, 1]);
  });

  it('abort stops at once and the route serves as written; clearing it starts again', () => {
    const d = new Driver(experiment());
    d.step({ p1: pod({}) });
    d.setSpec({ abort: true });
    expect(wantsScrape(d.exp, ROUTE, new Date(d.now))).toBe(false);
    const r = d.step();
    expect(d.status.phase).toBe('Aborted');
    expect(r.requeueAfterMs).toBeUndefined();
    expect(condition(d.status, 'Stalled')).toMatchObject({ status: 'True', reason: 'Aborted' });
    expect(experimentOverlayFor(d.exp)).toBeUndefined();
    d.step();
    d.setSpec({ abort: false });
    d.step({ p1: pod({}) });
    expect(d.status.phase).toBe('Running');
    expect(d.reasons()).toEqual(['Started', 'Aborted', 'Restarted', 'Started']);
  });

  it('aborts a promoted experiment too: the overlay goes away', () => {
    const d = new Driver(experiment());
    d.step({ p1: pod({}) });
    d.step({ p1: pod({ control: latency(40, 60, 5), treatment: latency(40, 5, 2) }) });
    expect(d.status.phase).toBe('Promoted');
    d.setSpec({ abort: true });
    d.step();
    expect(d.status.phase).toBe('Aborted');
    expect(experimentOverlayFor(d.exp)).toBeUndefined();
  });
});

describe('reconcileExperiment: thompson allocation', () => {
  it('keeps the declared split until the minimum samples, then leans to the better variant down to the floor', () => {
    const d = new Driver(
      experiment({
        allocation: { mode: 'thompson', floor: 0.2 },
        minSamplesPerVariant: 30,
        primary: { metric: 'latency-ms', minimumDetectableEffect: 1 },
      }),
    );
    d.step({ p1: pod({}) });
    d.step({ p1: pod({ control: latency(10, 60, 30), treatment: latency(10, 50, 30) }) });
    expect(d.status.variants?.map((v) => v.weight)).toEqual([0.5, 0.5]);
    d.step({ p1: pod({ control: latency(40, 60, 30), treatment: latency(40, 50, 30) }) });
    const [control, treatment] = d.status.variants?.map((v) => v.weight) ?? [];
    expect(d.status.verdict).toBe('continue');
    expect(treatment).toBeGreaterThan(0.6);
    expect(control).toBeGreaterThanOrEqual(0.2);
    expect((control ?? 0) + (treatment ?? 0)).toBeCloseTo(1, 3);
  });
});
