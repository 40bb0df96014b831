// Per-key anomaly scores: how far a key's request count and spend in the last complete minute lie above
// that key's own history. Pure: the caller passes the time; no clock, no metrics, no logging here.
//
// Each (key, signal) keeps an exponentially weighted mean and variance of its per-minute totals (minutes
// without traffic count as 0), a few numbers per key, so memory is bounded by the number of configured
// keys and a scrape costs O(keys). When a minute closes, its score is
//
//   score = (total − mean) / max(stddev, floor(mean))          clamped to [0, MAX_SCORE]
//
// computed against the history *before* that minute. The floor keeps a steady key (variance near 0) from
// scoring huge on a small wobble: for request counts it is max(1, √mean) — the spread of a Poisson count —
// and for spend a share of the mean plus a tiny absolute amount. Only excess counts (a drop in traffic is
// not a security signal), and no score is given until the key has WARMUP minutes of history.
//
// Why an attack does not teach the baseline that it is normal: a minute's total is clipped to
// mean + CLIP × spread before it updates the mean and variance (a Huber-style update), so a sustained
// burst grows mean and spread by under 2% a minute and keeps scoring high for the better part of an hour,
// while a key whose traffic legitimately grows is absorbed within a few half-lives. (Clipping at the
// threshold instead lets the variance grow ~40% a minute: the burst would hide itself in minutes.)

/** Which per-minute total a score is about. */
export const ANOMALY_SIGNALS = ['requests', 'spend'] as const;
export type AnomalySignal = (typeof ANOMALY_SIGNALS)[number];

export interface AnomalyOptions {
  /** Length of one bucket, ms. Default 60 000 (per-minute totals). */
  windowMs?: number;
  /** Minutes of history before a key is scored. Default 30. */
  warmupWindows?: number;
  /** Half-life of the history, in windows. Default 60 (an hour). */
  halfLifeWindows?: number;
  /** Score at or above which a minute is anomalous (an onset when the minute before was not). Default 6. */
  threshold?: number;
}

export const MAX_SCORE = 100;
/** How many spreads above the mean a minute may teach the history (see the header). */
const CLIP = 2;
/** Idle windows replayed one by one at most; a longer gap decays the history in one step. */
const MAX_REPLAY = 1440;

const NO_ONSETS: readonly AnomalyOnset[] = Object.freeze([]);

/** Whether every signal's track is in the window that opened at `open` (nothing to close). */
function inWindow(tracks: Record<AnomalySignal, Track>, open: number): boolean {
  for (const signal of ANOMALY_SIGNALS) if (tracks[signal].windowStart < open) return false;
  return true;
}

interface Floor {
  absolute: number;
  relative: number;
  poisson: boolean;
}
const FLOORS: Record<AnomalySignal, Floor> = {
  requests: { absolute: 1, relative: 0, poisson: true },
  // Spend per minute varies with prompt sizes more than a count does: a quarter of the mean, and a tenth
  // of a cent so that a key spending almost nothing is not scored on rounding.
  spend: { absolute: 0.001, relative: 0.25, poisson: false },
};

/** One (key, signal) series: the open window and the history of the closed ones. */
interface Track {
  windowStart: number;
  total: number;
  mean: number;
  variance: number;
  windows: number;
  score: number;
  anomalous: boolean;
}

/** A minute that crossed the threshold after one that had not. */
export interface AnomalyOnset {
  key: string;
  signal: AnomalySignal;
  score: number;
}

export interface AnomalyScore {
  key: string;
  signal: AnomalySignal;
  score: number;
}

export class AnomalyScores {
  private readonly windowMs: number;
  private readonly warmup: number;
  private readonly alpha: number;
  private readonly threshold: number;
  private readonly tracks = new Map<string, Record<AnomalySignal, Track>>();

  constructor(options: AnomalyOptions = {}) {
    this.windowMs = options.windowMs ?? 60_000;
    this.warmup = options.warmupWindows ?? 30;
    this.alpha = 1 - Math.pow(0.5, 1 / (options.halfLifeWindows ?? 60));
    this.threshold = options.threshold ?? 6;
  }

  /** Adds `amount` to the key's open window at `now`; returns the onsets of the windows this closed. */
  add(key: string, signal: AnomalySignal, amount: number, now: number): readonly AnomalyOnset[] {
    let tracks = this.tracks.get(key);
    if (tracks === undefined) {
      const start = this.windowOf(now);
      tracks = { requests: newTrack(start), spend: newTrack(start) };
      this.tracks.set(key, tracks);
    }
    // Within the open window (nearly every request) there is nothing to close.
    const onsets = inWindow(tracks, this.windowOf(now)) ? NO_ONSETS : this.rollKey(key, tracks, now);
    tracks[signal].total += amount;
    return onsets;
  }

  /** Closes every window that ended by `now`; returns the onsets among them. */
  roll(now: number): AnomalyOnset[] {
    const onsets: AnomalyOnset[] = [];
    for (const [key, tracks] of this.tracks) onsets.push(...this.rollKey(key, tracks, now));
    return onsets;
  }

  /** The score of every key's last closed window. */
  scores(): AnomalyScore[] {
    const out: AnomalyScore[] = [];
    for (const [key, tracks] of this.tracks)
      for (const signal of ANOMALY_SIGNALS) out.push({ key, signal, score: tracks[signal].score });
    return out;
  }

  private windowOf(now: number): number {
    return Math.floor(now / this.windowMs) * this.windowMs;
  }

  private rollKey(key: string, tracks: Record<AnomalySignal, Track>, now: number): AnomalyOnset[] {
    const onsets: AnomalyOnset[] = [];
    for (const signal of ANOMALY_SIGNALS) {
      const t = tracks[signal];
      const open = this.windowOf(now);
      let closed = 0;
      while (t.windowStart < open && closed < MAX_REPLAY) {
        const score = this.close(t, FLOORS[signal]);
        if (score !== undefined) onsets.push({ key, signal, score });
        t.windowStart += this.windowMs;
        closed += 1;
      }
      if (t.windowStart < open) {
        // A day or more without traffic: the history has all but decayed; keep it as a long run of zeros.
        const idle = (open - t.windowStart) / this.windowMs;
        const keep = Math.pow(1 - this.alpha, idle);
        t.mean *= keep;
        t.variance *= keep;
        t.windows += idle;
        t.windowStart = open;
      }
    }
    return onsets;
  }

  /** Scores the open window, folds it into the history and empties it; the score when it is an onset. */
  private close(t: Track, floor: Floor): number | undefined {
    const x = t.total;
    t.total = 0;
    const warm = t.windows >= this.warmup;
    const spread = Math.max(
      Math.sqrt(t.variance),
      floor.absolute,
      floor.relative * t.mean,
      floor.poisson ? Math.sqrt(t.mean) : 0,
    );
    const was = t.anomalous;
    t.score = warm ? Math.min(MAX_SCORE, Math.max(0, (x - t.mean) / spread)) : 0;
    t.anomalous = t.score >= this.threshold;
    // Clipped so that a burst does not become the baseline (see the header); not during warm-up, when
    // there is no baseline yet to protect.
    const learned = warm ? Math.min(x, t.mean + CLIP * spread) : x;
    // A plain running mean while the history is shorter than the half-life, so that the first minutes are
    // not averaged with a mean of 0 that no minute had.
    const alpha = Math.max(this.alpha, 1 / (t.windows + 1));
    const diff = learned - t.mean;
    const step = alpha * diff;
    t.mean += step;
    t.variance = (1 - alpha) * (t.variance + diff * step);
    t.windows += 1;
    return t.anomalous && !was ? t.score : undefined;
  }
}

function newTrack(windowStart: number): Track {
  return { windowStart, total: 0, mean: 0, variance: 0, windows: 0, score: 0, anomalous: false };
}
