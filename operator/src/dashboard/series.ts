// The dashboard's time series: the last hour of each figure, in fixed-size rings (one time ring per object,
// one value ring per figure, NaN for a missing sample), so memory is bounded by the caps below whatever the
// traffic or the number of objects. Pure: the caller passes the time.

export interface SeriesDump {
  /** Sample times, ms since the epoch, oldest first. */
  at: number[];
  /** Each figure's values at those times; null where it had none. */
  values: Record<string, (number | null)[]>;
}

export interface SeriesLimits {
  /** Samples kept per figure (one hour at the scrape interval). */
  capacity: number;
  /** Objects with series (routes, autoscalers). */
  maxOwners: number;
  /** Figures across all objects: the bound on memory (capacity × 8 bytes each). */
  maxFigures: number;
}

class Owner {
  readonly at: Float64Array;
  readonly values = new Map<string, Float64Array>();
  /** Index of the next write; `size` samples are valid, ending before it. */
  next = 0;
  size = 0;

  constructor(readonly capacity: number) {
    this.at = new Float64Array(capacity);
  }
}

export class SeriesStore {
  private readonly owners = new Map<string, Owner>();
  private figures = 0;

  constructor(readonly limits: SeriesLimits) {
    if (limits.capacity < 2) throw new Error('series capacity must be at least 2 samples');
  }

  /** A sample of every figure of `owner` at `at`; figures beyond the caps are dropped, not grown. */
  record(owner: string, at: number, sample: Record<string, number | undefined>): void {
    let o = this.owners.get(owner);
    if (o === undefined) {
      if (this.owners.size >= this.limits.maxOwners) return;
      o = new Owner(this.limits.capacity);
      this.owners.set(owner, o);
    }
    const i = o.next;
    o.at[i] = at;
    for (const ring of o.values.values()) ring[i] = Number.NaN;
    for (const [name, value] of Object.entries(sample)) {
      let ring = o.values.get(name);
      if (ring === undefined) {
        if (this.figures >= this.limits.maxFigures) continue;
        ring = new Float64Array(o.capacity).fill(Number.NaN);
        o.values.set(name, ring);
        this.figures++;
      }
      ring[i] = value === undefined || !Number.isFinite(value) ? Number.NaN : value;
    }
    o.next = (i + 1) % o.capacity;
    o.size = Math.min(o.size + 1, o.capacity);
  }

  /** Everything kept for `owner`, oldest first; undefined when it has no series. */
  dump(owner: string, since = 0): SeriesDump | undefined {
    const o = this.owners.get(owner);
    if (o === undefined) return undefined;
    const order: number[] = [];
    for (let k = 0; k < o.size; k++) {
      const i = (o.next - o.size + k + o.capacity) % o.capacity;
      if ((o.at[i] ?? 0) >= since) order.push(i);
    }
    const values: Record<string, (number | null)[]> = {};
    for (const [name, ring] of o.values) {
      values[name] = order.map((i) => {
        const v = ring[i] ?? Number.NaN;
        return Number.isNaN(v) ? null : v;
      });
    }
    return { at: order.map((i) => o.at[i] ?? 0), values };
  }

  /** Drops the series of objects that are gone. */
  retain(keep: (owner: string) => boolean): void {
    for (const [k, o] of this.owners) {
      if (keep(k)) continue;
      this.figures -= o.values.size;
      this.owners.delete(k);
    }
  }

  get figureCount(): number {
    return this.figures;
  }
}
