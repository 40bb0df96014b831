// How many requests one gateway process keeps in flight to each backend, and the bound on it. A backend
// with maxConcurrentRequests has a fixed bound; one with spillOver.onThrottle also has a learned bound,
// additive-increase / multiplicative-decrease: a 429 or 503 (the backend's queue is full) lowers it to a
// little under what was in flight, and each answer that arrives while the backend is at its bound raises it
// by 1/bound (about one more request per round of answers), faster once no throttle came for a second. So
// when a model-server pool scales up, the bound follows it up without anyone telling the gateway how many
// replicas the pool has, and the spill-over to the hosted backend fades out. Pure apart from its clock.
import type { CompiledBackend } from '../../../api/v1alpha1/index.js';
import type { MetricLabels } from '../config/load.js';

/** After a throttle the bound drops to this share of what was in flight. */
export const DECREASE_FACTOR = 0.9;
/** Throttles closer together than this count once: a burst of 429s is one signal, not many. */
export const DECREASE_SPACING_MS = 100;
/**
 * Without a throttle for this long, each answer at the bound raises it by CALM_GROWTH: about 20% more per
 * round of answers, so a pool that grew fourfold gets its traffic back within some seven rounds.
 */
export const CALM_AFTER_MS = 1_000;
export const CALM_GROWTH = 0.2;
/** How long after its last spilled request a backend still reads as spilling. */
export const SPILL_ACTIVE_MS = 5_000;

type Limited = Pick<CompiledBackend, 'maxConcurrentRequests' | 'spillOver'>;

interface BackendState {
  inflight: number;
  /** The learned bound; Infinity until the first throttle. */
  learned: number;
  lastDecrease: number;
  /** When a request last went elsewhere because this backend was saturated or throttled; -Infinity never. */
  lastSpill: number;
  /** Its metric labels and bounds as of its last attempt. */
  labels: MetricLabels;
  spec: Limited;
  spillTo: string;
}

export interface BoundState {
  labels: MetricLabels;
  /** Infinity while unbounded (no fixed bound, no throttle yet). */
  limit: number;
  /** The backend it last spilled to; '' never. */
  spillTo: string;
  spilling: boolean;
}

/** The outcome of an attempt, as the bound reads it. */
export type AttemptVerdict = 'ok' | 'throttled' | 'other';

export class ConcurrencyLimits {
  private readonly backends = new Map<string, BackendState>();

  constructor(private readonly now: () => number) {}

  private state(key: string): BackendState {
    let s = this.backends.get(key);
    if (s === undefined) {
      s = {
        inflight: 0,
        learned: Infinity,
        lastDecrease: -Infinity,
        lastSpill: -Infinity,
        labels: { namespace: '', route: '', backend: '', variant: '' },
        spec: {},
        spillTo: '',
      };
      this.backends.set(key, s);
    }
    return s;
  }

  /** Whether a backend has a bound at all (nothing is tracked for the others). */
  static limited(b: Limited): boolean {
    return b.maxConcurrentRequests !== undefined || b.spillOver?.onThrottle === true;
  }

  /** The bound now: the fixed one, or the learned one when that is lower. */
  limit(key: string, b: Limited): number {
    const learned =
      b.spillOver?.onThrottle === true ? (this.backends.get(key)?.learned ?? Infinity) : Infinity;
    return Math.min(b.maxConcurrentRequests ?? Infinity, Math.floor(learned));
  }

  inflight(key: string): number {
    return this.backends.get(key)?.inflight ?? 0;
  }

  /** Whether one more request would go over the bound. */
  saturated(key: string, b: Limited): boolean {
    return ConcurrencyLimits.limited(b) && this.inflight(key) >= this.limit(key, b);
  }

  begin(key: string, b: Limited, labels: MetricLabels): void {
    if (!ConcurrencyLimits.limited(b)) return;
    const s = this.state(key);
    s.inflight++;
    s.labels = labels;
    s.spec = b;
  }

  /** An attempt begun with `begin` ended. */
  end(key: string, b: Limited, verdict: AttemptVerdict): void {
    if (!ConcurrencyLimits.limited(b)) return;
    const s = this.state(key);
    const inflight = s.inflight; // this attempt included
    s.inflight = Math.max(0, s.inflight - 1);
    if (b.spillOver?.onThrottle !== true) return;
    const now = this.now();
    if (verdict === 'throttled') {
      if (now - s.lastDecrease < DECREASE_SPACING_MS) return;
      s.lastDecrease = now;
      const base = Math.min(inflight, s.learned);
      s.learned = Math.max(1, Math.floor(base * DECREASE_FACTOR));
    } else if (verdict === 'ok' && Number.isFinite(s.learned) && inflight >= Math.floor(s.learned)) {
      // Near a recent throttle, probe gently; long after one the backend has likely grown: find out fast.
      const step = now - s.lastDecrease < CALM_AFTER_MS ? 1 / s.learned : CALM_GROWTH;
      s.learned = Math.min(b.maxConcurrentRequests ?? 100_000, s.learned + step);
    }
  }

  /** A request went to `to` instead of this backend. */
  spilled(key: string, b: Limited, labels: MetricLabels, to: string): void {
    const s = this.state(key);
    s.lastSpill = this.now();
    s.labels = labels;
    s.spec = b;
    s.spillTo = to;
  }

  /**
   * Forgets the backends a new config no longer has (their series leave the metrics), unless requests to
   * them are still in flight: those go at the next change.
   */
  retain(keys: ReadonlySet<string>): void {
    for (const [key, s] of this.backends) if (!keys.has(key) && s.inflight === 0) this.backends.delete(key);
  }

  /** Every bounded backend seen: its bound now, and whether it spilled a request within SPILL_ACTIVE_MS. */
  states(): BoundState[] {
    const now = this.now();
    const out: BoundState[] = [];
    for (const [key, s] of this.backends) {
      out.push({
        labels: s.labels,
        limit: this.limit(key, s.spec),
        spillTo: s.spillTo,
        spilling: now - s.lastSpill < SPILL_ACTIVE_MS,
      });
    }
    return out;
  }
}
