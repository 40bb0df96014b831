// The learning router: a contextual bandit over the weak and strong backends of a quality/cost route that
// improves on the static router from the outcomes the gateway observes (feedback scores attributed to the
// backend that answered, and failures). Requests fall in cells — a prompt cluster (its domain) × a band of
// the static router's p(weak) — and each cell keeps, per backend, how many served requests got an outcome
// and how many were good. From these the learner estimates the quality a cell loses when it goes to the weak
// backend (strong accuracy − weak accuracy, shrunk toward the static router's own estimate 1 − p while a
// cell has little evidence) and plans which cells go weak: cheapest loss first, with an upper confidence
// bound, until the loss budget the target quality allows — (1 − target) × the strong backend's expected
// correct answers — is spent, less what exploration may cost; the bound is that of the plan's total loss.
// Exploration is bounded by a declared share of traffic and samples the backend a cell knows least, the
// weak one at a rate whose expected loss takes at most half the budget. A band whose cells have too little evidence keeps the
// static decision: before any outcome the learner routes exactly like the static router. The static
// router's threshold is one of the band edges, so it sends a whole band one way and the outcomes it
// gathers are not skewed toward a band's easier or harder prompts.
//
// Pure: no clock, no I/O; randomness is passed in. The counts are plain data, so replicas can share them
// (sums of counts merge) and a restart can restore them.
export type Arm = 'weak' | 'strong';

export interface LearnerOptions {
  /** Share of the strong backend's quality the route must keep, e.g. 0.95. */
  targetQuality: number;
  /** Most share of traffic sent against the plan to learn, e.g. 0.05. */
  exploration: number;
  /**
   * Where the bands of p(weak) within a cluster meet, ascending: quantiles of the static router's scores
   * (bandEdgesOf), so that each band holds a similar share of traffic.
   */
  bandEdges: readonly number[];
  /** Outcomes of each backend a cell needs before its plan replaces the static decision. */
  minOutcomes: number;
  /** Weight, in outcomes, of its band's estimate in a cell's accuracies. */
  priorStrength: number;
  /** Weight, in outcomes, of the static router's estimate in a band's accuracies. */
  staticPriorStrength: number;
  /** Width of the confidence bound, in standard deviations. */
  z: number;
  /** Outcomes between two plans. */
  replanEvery: number;
}

export const DEFAULT_LEARNER: Omit<LearnerOptions, 'targetQuality'> = {
  exploration: 0.05,
  bandEdges: [0.25, 0.5, 0.75],
  minOutcomes: 4,
  priorStrength: 8,
  staticPriorStrength: 8,
  z: 1.5,
  replanEvery: 16,
};

export interface ArmCounts {
  /** Served requests of this cell on this backend whose outcome is known. */
  n: number;
  /** Of those, the good ones. */
  good: number;
}

export interface CellCounts {
  /** Requests decided in this cell (its traffic share). */
  requests: number;
  /** Sum of the static router's p(weak) over those requests. */
  pSum: number;
  /** Sum of 1 − p(weak) over the requests the static router sent weak: the loss it expects of them. */
  staticLoss: number;
  weak: ArmCounts;
  strong: ArmCounts;
}

/** The learner's state as data: what replicas share and what a restart restores. */
export type LearnerCounts = Record<string, CellCounts>;

export interface Decision {
  weak: boolean;
  /** Who decided: the static router (too little evidence yet), the learned plan, or exploration (sent
   * against the plan, to learn). */
  via: 'static' | 'learned' | 'explore';
  /** The cell, for attributing the outcome later. */
  cell: string;
  why: string;
}

export interface CellView {
  cell: string;
  requests: number;
  outcomes: { weak: ArmCounts; strong: ArmCounts };
  /** Estimated quality lost per request sent weak, and its upper bound. */
  loss: number;
  lossUpper: number;
  /** The planned share of the cell's requests sent weak; undefined while the static router decides. */
  weakShare: number | undefined;
}

const emptyCell = (): CellCounts => ({
  requests: 0,
  pSum: 0,
  staticLoss: 0,
  weak: { n: 0, good: 0 },
  strong: { n: 0, good: 0 },
});

/** Adds `b` into `a`: how replicas' counts combine. */
export function addCounts(a: LearnerCounts, b: LearnerCounts): LearnerCounts {
  for (const [k, c] of Object.entries(b)) {
    const t = (a[k] ??= emptyCell());
    t.requests += c.requests;
    t.pSum += c.pSum;
    t.staticLoss += c.staticLoss;
    t.weak.n += c.weak.n;
    t.weak.good += c.weak.good;
    t.strong.n += c.strong.n;
    t.strong.good += c.strong.good;
  }
  return a;
}

export class LearningRouter {
  private counts: LearnerCounts = {};
  /** What this process counted since the last drain: the delta a replica adds to the shared counts. */
  private pending: LearnerCounts = {};
  private plan = new Map<string, number>();
  private views: CellView[] = [];
  private sincePlan = 0;
  private readonly o: LearnerOptions;

  constructor(options: Partial<LearnerOptions> & { targetQuality: number }) {
    this.o = { ...DEFAULT_LEARNER, ...options };
  }

  /** The cell of a request: its cluster and the band of the static router's p(weak). */
  cellOf(cluster: string, p: number): string {
    let band = 0;
    for (const e of this.o.bandEdges) if (p >= e) band++;
    return `${cluster}#${band}`;
  }

  /**
   * Weak or strong for one request. `staticWeak` is the static router's decision, kept while the cell has
   * too little evidence; `random` is uniform in [0, 1).
   */
  decide(cluster: string, p: number, staticWeak: boolean, random: () => number): Decision {
    const cell = this.cellOf(cluster, p);
    const planned = this.plan.get(cell);
    const loss = planned === undefined && staticWeak ? 1 - p : 0;
    // A cell's first request replans: exploration's room in the budget counts every cell from the start.
    const fresh = this.counts[cell] === undefined;
    for (const counts of [this.counts, this.pending]) {
      const c = (counts[cell] ??= emptyCell());
      c.requests++;
      c.pSum += p;
      c.staticLoss += loss;
    }
    const c = this.counts[cell] as CellCounts;
    if (fresh) this.replan();
    const r = random();
    if (r < this.o.exploration) {
      // The backend this cell knows least; the weak one at most at the rate the loss budget allows.
      const weak = c.weak.n <= c.strong.n && r < this.weakExploration && this.promising.has(cell);
      return {
        weak,
        via: 'explore',
        cell,
        why: `explore ${weak ? 'weak' : 'strong'} in ${cell}`,
      };
    }
    if (planned === undefined) return { weak: staticWeak, via: 'static', cell, why: `static in ${cell}` };
    const weak = planned >= 1 || (planned > 0 && random() < planned);
    return {
      weak,
      via: 'learned',
      cell,
      why: `learned ${cell} weak share ${planned.toFixed(2)}`,
    };
  }

  /** An outcome of a request decided in `cell` and served by `arm`: good or not. */
  observe(cell: string, arm: Arm, good: boolean): void {
    for (const counts of [this.counts, this.pending]) {
      const c = (counts[cell] ??= emptyCell());
      c[arm].n++;
      c[arm].good += good ? 1 : 0;
    }
    if (++this.sincePlan >= this.o.replanEvery) this.replan();
  }

  /** The counts, to share or persist (a copy). */
  snapshot(): LearnerCounts {
    return addCounts({}, this.counts);
  }

  /** What was counted here since the last call: to add to the shared counts. */
  drain(): LearnerCounts {
    const delta = this.pending;
    this.pending = {};
    return delta;
  }

  /** Puts back a drained delta that could not be shared (the store was unreachable): it goes next time. */
  requeue(delta: LearnerCounts): void {
    addCounts(this.pending, delta);
  }

  /** The learned cells' traffic, the share of it planned weak, and the outcomes counted. */
  summary(): { cells: number; learnedCells: number; plannedWeakShare: number | undefined; outcomes: number } {
    let learned = 0;
    let weak = 0;
    let outcomes = 0;
    for (const v of this.views) {
      outcomes += v.outcomes.weak.n + v.outcomes.strong.n;
      if (v.weakShare === undefined) continue;
      learned += v.requests;
      weak += v.requests * v.weakShare;
    }
    return {
      cells: this.views.length,
      learnedCells: this.views.filter((v) => v.weakShare !== undefined).length,
      plannedWeakShare: learned === 0 ? undefined : weak / learned,
      outcomes,
    };
  }

  /**
   * Replaces the counts with `shared` (the replicas' sum, or what a restart reads back) plus what this
   * process counted and has not drained yet, and replans.
   */
  restore(shared: LearnerCounts): void {
    this.counts = addCounts(addCounts({}, shared), this.pending);
    this.replan();
  }

  /** Forgets everything learnt: the static router decides again. */
  reset(): void {
    this.pending = {};
    this.restore({});
  }

  /** The cells as last planned, cheapest loss first. */
  cells(): readonly CellView[] {
    return this.views;
  }

  /**
   * The share of requests exploration may send weak: the declared exploration share, or less, so that its
   * expected loss takes at most half the loss budget.
   */
  private weakExploration = 0;
  /**
   * Cells worth exploring on the weak backend: those whose loss, at its lower bound, is below the loss of
   * the plan's marginal cell — they could still join the plan. A cell known to be bad is not explored weak,
   * which keeps the exploration budget for the cells that can change the plan. Undefined: all of them.
   */
  private promising: { has(cell: string): boolean } = { has: () => true };

  /** Whether a cell has any counts (a new cell is promising until its first plan). */
  private known(cell: string): boolean {
    return this.counts[cell] !== undefined;
  }

  /**
   * Recomputes each cell's weak share from the counts: cells in order of estimated loss, each taken while
   * the plan's total loss stays within the budget with its confidence bound — the bound of the sum, whose
   * spread grows like the square root of the cells', not like their sum.
   */
  replan(): void {
    this.sincePlan = 0;
    const o = this.o;
    const views = this.estimate();
    const total = views.reduce((s, v) => s + v.requests, 0);
    let budget = (1 - o.targetQuality) * views.reduce((s, v) => s + v.requests * v.strongAcc, 0);
    // Exploration's worst case: its weak share of the promising cells' traffic at their estimated loss.
    const lossIfAllWeak = views.reduce(
      (s, v) => s + (this.promising.has(v.cell) ? v.requests * Math.max(0, v.loss) : 0),
      0,
    );
    this.weakExploration =
      total === 0 ? 0 : Math.min(o.exploration, lossIfAllWeak <= 0 ? 1 : (0.5 * budget) / lossIfAllWeak);
    budget -= this.weakExploration * lossIfAllWeak;
    // Cells the static router still decides spend the budget first, at the loss it expects of them.
    for (const v of views) if (!v.learned) budget -= v.staticLoss;
    let mean = 0;
    let variance = 0;
    const bound = (f: number, v: (typeof views)[number]) =>
      mean + f * v.requests * v.loss + o.z * Math.sqrt(variance + (f * v.requests * v.sd) ** 2);
    const plan = new Map<string, number>();
    // Ordered by the upper bound: a cell that merely looks cheap for want of evidence waits (winner's curse).
    for (const v of views.filter((x) => x.learned).sort((a, b) => a.lossUpper - b.lossUpper)) {
      let share = 1;
      if (bound(1, v) > budget) {
        // The largest share that still fits, by bisection (the bound grows with the share).
        let lo = 0;
        let hi = 1;
        for (let i = 0; i < 20; i++) {
          const mid = (lo + hi) / 2;
          if (bound(mid, v) > budget) hi = mid;
          else lo = mid;
        }
        share = v.loss <= 0 ? Math.max(lo, 0) : lo;
      }
      mean += share * v.requests * v.loss;
      variance += (share * v.requests * v.sd) ** 2;
      v.weakShare = share;
      plan.set(v.cell, share);
    }
    this.plan = plan;
    // The marginal cell: the first not wholly weak, in plan order; every cell is promising while none is.
    const marginal = views
      .filter((v) => v.learned && (v.weakShare ?? 0) < 1)
      .reduce((m, v) => Math.min(m, v.lossUpper), Infinity);
    const worth = new Set(views.filter((v) => v.loss - o.z * v.sd < marginal).map((v) => v.cell));
    this.promising =
      marginal === Infinity ? { has: () => true } : { has: (cell) => !this.known(cell) || worth.has(cell) };
    this.views = views
      .sort((a, b) => a.loss - b.loss)
      .map(({ learned: _l, staticLoss: _s, strongAcc: _a, sd: _d, ...v }) => v);
  }

  /**
   * Each cell's accuracies, shrunk toward its band's across clusters (which learns fast, from all traffic),
   * the band's toward the static router's estimate. A cell is learned once its band has outcomes of both
   * backends.
   */
  private estimate(): (CellView & { learned: boolean; staticLoss: number; strongAcc: number; sd: number })[] {
    const o = this.o;
    const k = o.priorStrength;
    const cells = Object.entries(this.counts).filter(([, c]) => c.requests > 0);
    const route = emptyCell();
    for (const [, c] of cells) addCounts({ route }, { route: c });
    // The strong backend's accuracy on the route, shrunk toward 0.8 before it is measured.
    const strongRoute = (route.strong.good + 0.8 * k) / (route.strong.n + k);
    const bands: LearnerCounts = {};
    for (const [cell, c] of cells) addCounts(bands, { [bandOf(cell)]: c });
    const bandAcc = new Map(
      Object.entries(bands).map(([b, c]) => {
        const priorLoss = 1 - c.pSum / c.requests;
        const k0 = o.staticPriorStrength;
        const s = (c.strong.good + strongRoute * k0) / (c.strong.n + k0);
        const w = (c.weak.good + Math.max(0, strongRoute - priorLoss) * k0) / (c.weak.n + k0);
        return [b, { s, w, learned: c.weak.n >= o.minOutcomes && c.strong.n >= o.minOutcomes }];
      }),
    );
    return cells.map(([cell, c]) => {
      const band = bandAcc.get(bandOf(cell)) ?? { s: strongRoute, w: strongRoute, learned: false };
      const sAcc = (c.strong.good + band.s * k) / (c.strong.n + k);
      const wAcc = (c.weak.good + band.w * k) / (c.weak.n + k);
      const sd = Math.sqrt((sAcc * (1 - sAcc)) / (c.strong.n + k) + (wAcc * (1 - wAcc)) / (c.weak.n + k));
      const loss = sAcc - wAcc;
      return {
        cell,
        requests: c.requests,
        outcomes: { weak: { ...c.weak }, strong: { ...c.strong } },
        loss,
        lossUpper: loss + o.z * sd,
        weakShare: undefined,
        learned: band.learned,
        staticLoss: c.staticLoss,
        strongAcc: sAcc,
        sd,
      };
    });
  }
}

const bandOf = (cell: string): string => cell.slice(cell.lastIndexOf('#'));
