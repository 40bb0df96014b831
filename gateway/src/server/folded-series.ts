// Counter and gauge series the request path updates without prom-client's per-call work. prom-client finds
// a series by hashing its label object on every inc, a child from `labels()` included (its inc is the
// metric's inc bound to the labels): a string built and a lookup per call, several calls a request. A
// folded series keeps its own number instead and hands it to the prom-client metric when that metric is
// collected — a scrape, the workers' aggregation, `registry.metrics()`, `metric.get()` all collect first —
// so every read is exact. Give the metric `collect: folded.collect` when it is made.
import type { Counter, Gauge, LabelValues } from 'prom-client';

export interface FoldedCounter {
  inc(value?: number): void;
}

export interface FoldedGauge {
  inc(): void;
  dec(): void;
}

/** The series made here, and the ones updated since the last collection. */
export class FoldedSeries {
  private readonly dirty = new Set<Cell<string>>();

  /** For the `collect` option of every metric whose series are made here: folds them all. */
  readonly collect = (): void => {
    for (const cell of this.dirty) cell.fold();
    this.dirty.clear();
  };

  /** The series of `metric` with `labels`; the caller keeps it (one per label set) and increments it. */
  counter<L extends string>(metric: Counter<L>, labels: LabelValues<L>): FoldedCounter {
    return new CounterCell(this.dirty, metric, { ...labels });
  }

  /** A gauge series moved up and down (requests in flight); folded as the net change. */
  gauge<L extends string>(metric: Gauge<L>, labels: LabelValues<L>): FoldedGauge {
    return new GaugeCell(this.dirty, metric, { ...labels });
  }
}

/** What a counter and a gauge both take: an increment of a labelled series (a gauge's may be negative). */
interface Incremented<L extends string> {
  inc(labels: LabelValues<L>, value: number): void;
}

class Cell<L extends string> {
  private pending = 0;
  private listed = false;

  constructor(
    private readonly dirty: Set<Cell<string>>,
    private readonly metric: Incremented<L>,
    private readonly labels: LabelValues<L>,
  ) {}

  protected add(value: number): void {
    this.pending += value;
    if (!this.listed) {
      this.listed = true;
      this.dirty.add(this);
    }
  }

  fold(): void {
    // Even a zero: the series exists from its first update, as with prom-client's own inc.
    this.metric.inc(this.labels, this.pending);
    this.pending = 0;
    this.listed = false;
  }
}

class CounterCell<L extends string> extends Cell<L> implements FoldedCounter {
  inc(value = 1): void {
    if (!(value >= 0) || !Number.isFinite(value))
      throw new TypeError(`a counter only goes up by a finite amount (got ${value})`);
    this.add(value);
  }
}

class GaugeCell<L extends string> extends Cell<L> implements FoldedGauge {
  inc(): void {
    this.add(1);
  }

  dec(): void {
    this.add(-1);
  }
}
