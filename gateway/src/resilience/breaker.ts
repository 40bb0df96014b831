// Circuit breakers, one per backend variant of a route. Closed → open after `failureThreshold`
// consecutive failures; open → half-open after `openMs`, when one probe request is let through; the
// probe's success closes the breaker, its failure opens it again. Time is passed in: no clock here.

export type BreakerState = 'closed' | 'half-open' | 'open';

export interface BreakerOptions {
  failureThreshold: number;
  openMs: number;
}

export const DEFAULT_BREAKER: BreakerOptions = { failureThreshold: 5, openMs: 5_000 };

interface Entry {
  state: BreakerState;
  failures: number;
  openedAt: number;
  probing: boolean;
}

/** A set of breakers keyed by an arbitrary string (route + backend + variant). */
export class CircuitBreakers {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly opts: BreakerOptions = DEFAULT_BREAKER,
    private readonly onChange: (key: string, state: BreakerState) => void = () => {},
  ) {}

  private entry(key: string): Entry {
    let e = this.entries.get(key);
    if (e === undefined) {
      e = { state: 'closed', failures: 0, openedAt: 0, probing: false };
      this.entries.set(key, e);
    }
    return e;
  }

  private set(key: string, e: Entry, state: BreakerState): void {
    if (e.state === state) return;
    e.state = state;
    this.onChange(key, state);
  }

  /** The state at `now`, moving open → half-open once the open period is over. */
  state(key: string, now: number): BreakerState {
    const e = this.entries.get(key);
    if (e === undefined) return 'closed';
    if (e.state === 'open' && now - e.openedAt >= this.opts.openMs) this.set(key, e, 'half-open');
    return e.state;
  }

  /** Whether a request may go to the backend now; in half-open, only one probe at a time. */
  available(key: string, now: number): boolean {
    const s = this.state(key, now);
    if (s === 'closed') return true;
    if (s === 'open') return false;
    return !this.entry(key).probing;
  }

  /** Records that an attempt starts (claims the probe slot in half-open). */
  begin(key: string, now: number): void {
    if (this.state(key, now) === 'half-open') this.entry(key).probing = true;
  }

  success(key: string): void {
    const e = this.entries.get(key);
    if (e === undefined) return;
    e.failures = 0;
    e.probing = false;
    this.set(key, e, 'closed');
  }

  failure(key: string, now: number): void {
    const e = this.entry(key);
    e.failures++;
    const wasProbe = e.state === 'half-open';
    e.probing = false;
    if (wasProbe || e.failures >= this.opts.failureThreshold) {
      e.openedAt = now;
      this.set(key, e, 'open');
    }
  }

  /** An attempt that ended without a verdict on the backend's health (client abort, 4xx). */
  neutral(key: string): void {
    const e = this.entries.get(key);
    if (e !== undefined) e.probing = false;
  }
}
