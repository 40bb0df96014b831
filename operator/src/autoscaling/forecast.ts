// A request-rate forecaster for predictive scale-up: additive Holt-Winters (level, trend and one seasonal
// cycle) over a series sampled at a fixed step. Pure: the caller feeds observations with their times and asks
// for the rate `horizon` ahead; no clock, no I/O. Before one full season has been seen it forecasts with
// level and trend alone (Holt), so a fresh policy still scales ahead of a ramp.
//
// The state is plain data (JSON-safe), so it can be kept in memory by the operator and rebuilt from its
// scrapes after a restart.

export interface ForecastSettings {
  /** Sampling step of the series, ms (observations between steps are averaged into the step). */
  stepMs: number;
  /** Length of the seasonal cycle, ms (e.g. a day); a multiple of stepMs. */
  seasonMs: number;
  /** Smoothing of level, trend and season (0–1). */
  alpha: number;
  beta: number;
  gamma: number;
}

/**
 * Chosen on the bench:forecast generator's trace for seed 1 (96% at a 10-minute horizon); the benchmark
 * reports seed 7, which the choice never saw.
 */
export const DEFAULT_SMOOTHING = { alpha: 0.1, beta: 0.01, gamma: 0.2 } as const;

export interface ForecastState {
  /** Start time of the step being filled, ms. */
  stepStart: number;
  /** Sum and count of the observations of the step being filled. */
  pendingSum: number;
  pendingCount: number;
  level: number | undefined;
  trend: number;
  /** One additive seasonal offset per step of the season; filled during the first season. */
  season: number[];
  /** Steps completed so far. */
  steps: number;
  /** Smoothed absolute one-step error: how far from the expectation a step may land and still be learnt. */
  spread: number;
  /** The forecast made `horizonSteps` ago for each of the last steps, and what came: for the accuracy. */
  recent: { forecast: number; actual: number }[];
  /** Forecasts waiting for their step to complete: step index → forecast. */
  pending: Record<string, number>;
}

export function initialForecast(startMs: number, s: ForecastSettings): ForecastState {
  return {
    stepStart: startMs,
    pendingSum: 0,
    pendingCount: 0,
    level: undefined,
    trend: 0,
    season: new Array<number>(seasonSteps(s)).fill(0),
    steps: 0,
    spread: 0,
    recent: [],
    pending: {},
  };
}

export const seasonSteps = (s: ForecastSettings): number => Math.max(1, Math.round(s.seasonMs / s.stepMs));

/** A step further than this many spreads from its expectation is learnt as if it were at that distance. */
const CLAMP = 2;
const SPREAD_SMOOTHING = 0.04;
/** How many recent (forecast, actual) pairs the accuracy is computed over. */
const ACCURACY_WINDOW = 60;

/** Steps of the running median over the first season (about a quarter of an hour at one-minute steps). */
const MEDIAN_WINDOW = 15;

/** Each value replaced by the median of the `window` values around it (cyclically: the season wraps). */
export function runningMedian(values: readonly number[], window: number): number[] {
  const n = values.length;
  const half = Math.floor(window / 2);
  if (n < window) return [...values];
  return values.map((_, i) => {
    const around: number[] = [];
    for (let k = -half; k <= half; k++) around.push(values[(i + k + n) % n] as number);
    around.sort((a, b) => a - b);
    return around[half] as number;
  });
}

/** Holt's update of level and trend, seasonal offset removed. */
function smooth(level: number, trend: number, value: number, s: ForecastSettings) {
  const next = s.alpha * value + (1 - s.alpha) * (level + trend);
  return { level: next, trend: s.beta * (next - level) + (1 - s.beta) * trend };
}

/**
 * Completes one step with its mean rate. During the first season: Holt on the raw series, the values kept;
 * at its end the season is initialised (level = the season's mean, offsets = each step minus it); after it,
 * the Holt-Winters update.
 */
function completeStep(st: ForecastState, s: ForecastSettings, value: number): ForecastState {
  const m = st.season.length;
  const idx = st.steps % m;
  let season = st.season;
  let { level, trend, spread } = st;
  if (st.steps < m) {
    season = [...season];
    season[idx] = value;
    ({ level, trend } = level === undefined ? { level: value, trend: 0 } : smooth(level, trend, value, s));
    if (st.steps === m - 1) {
      // A running median first: a surge in the first season must not become part of every later day. How far
      // the steps stray from it is the first spread (at least 1% of the mean rate).
      const raw = season;
      season = runningMedian(raw, MEDIAN_WINDOW);
      const mean = season.reduce((a, b) => a + b, 0) / m;
      const noise = raw.reduce((sum, v, i) => sum + Math.abs(v - (season[i] as number)), 0) / m;
      spread = Math.max(noise, 0.01 * mean);
      season = season.map((v) => v - mean);
      level = mean;
      trend = 0;
    }
  } else {
    const sOld = season[idx] ?? 0;
    const prev = level ?? value;
    // A surge far outside the usual error is served by the scaler's reactive side; learning it whole would
    // lift the forecast for a day (the season) or for minutes after it ends (the level). Learn it clamped.
    const expected = prev + trend + sOld;
    const bound = CLAMP * st.spread + 1e-9;
    const learnt = Math.min(expected + bound, Math.max(expected - bound, value));
    // The spread learns from the clamped error too: a surge cannot widen its own bound within minutes, while a
    // lasting change of level still widens it (by at most 2·4% a step) until it is learnt.
    spread = SPREAD_SMOOTHING * Math.abs(learnt - expected) + (1 - SPREAD_SMOOTHING) * st.spread;
    ({ level, trend } = smooth(prev, trend, learnt - sOld, s));
    season = [...season];
    season[idx] = s.gamma * (learnt - level) + (1 - s.gamma) * sOld;
  }
  const pending = { ...st.pending };
  const made = pending[String(st.steps)];
  delete pending[String(st.steps)];
  const recent =
    made === undefined
      ? st.recent
      : [...st.recent, { forecast: made, actual: value }].slice(-ACCURACY_WINDOW);
  return { ...st, level, trend, season, spread, steps: st.steps + 1, recent, pending };
}

/**
 * Adds an observation (requests/s at `atMs`). Steps that ended before it are completed: with the mean of
 * their observations, or, for steps with none, with the forecast (a scrape gap must not read as zero load).
 */
export function observe(st: ForecastState, s: ForecastSettings, atMs: number, value: number): ForecastState {
  let next = st;
  while (atMs >= next.stepStart + s.stepMs) {
    const filled = next.pendingCount > 0 ? next.pendingSum / next.pendingCount : forecastSteps(next, 1);
    next = {
      ...completeStep(next, s, filled),
      stepStart: next.stepStart + s.stepMs,
      pendingSum: 0,
      pendingCount: 0,
    };
  }
  return { ...next, pendingSum: next.pendingSum + value, pendingCount: next.pendingCount + 1 };
}

/** The rate expected `h` completed steps from now (never negative). */
export function forecastSteps(st: ForecastState, h: number): number {
  if (st.level === undefined) return 0;
  const m = st.season.length;
  const seasonal = st.steps >= m ? (st.season[(st.steps + h - 1) % m] ?? 0) : 0;
  return Math.max(0, st.level + h * st.trend + seasonal);
}

/** The rate expected `horizonMs` ahead, and the forecast remembered to be scored when that step completes. */
export function forecast(
  st: ForecastState,
  s: ForecastSettings,
  horizonMs: number,
): { value: number; state: ForecastState } {
  const h = Math.max(1, Math.round(horizonMs / s.stepMs));
  const value = forecastSteps(st, h);
  const target = String(st.steps + h - 1);
  if (st.level === undefined || target in st.pending) return { value, state: st };
  return { value, state: { ...st, pending: { ...st.pending, [target]: value } } };
}

/**
 * 1 − MAPE of the scored forecasts (steps whose actual rate was ~0 are left out: a percentage of nothing
 * means nothing), or undefined before any was scored.
 */
export function accuracy(st: ForecastState): number | undefined {
  const scored = st.recent.filter((r) => r.actual > 1e-9);
  if (scored.length === 0) return undefined;
  const mape = scored.reduce((sum, r) => sum + Math.abs(r.forecast - r.actual) / r.actual, 0) / scored.length;
  return Math.max(0, 1 - mape);
}
