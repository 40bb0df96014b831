// The soak's verdict. Descriptors must not grow, latency and event-loop delay must not drift up, and
// nothing may fail: for these the first windows after the warm-up minute are compared with the last ones,
// each side read at its best (the least of up to three windows): what leaks or drifts is worse in every late
// window, while a minute in which another process starved the machine (a 2-core machine shared with other
// test runs) is one window. Memory is judged differently, because it has a legitimate warm-up (the
// recent-requests ring for feedback fills for minutes) and saws with collections (resident memory drops by
// 100 MiB when V8 releases pages, then climbs back): the middle of the run is compared with its end, resident
// memory by the median of each band (typical against typical, never a collection's low against a high) and
// the live heap — what V8 holds right after a major collection — by its least in each band (a band that saw
// no major collection widened back until it holds one: liveHeapBands). A leak grows both bands apart
// whatever the run's length. Pure: the windows are measured by main.ts.

const MiB = 1024 * 1024;

/** One minute of the soak, as measured. */
export interface SoakWindow {
  minute: number;
  /** Requests sent in the window, and those answered 200. */
  offered: number;
  served: number;
  /** Requests not answered 200 (status or transport error). */
  errors: number;
  /** Latency from the send, ms. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The gateway's CPU over the window, percent of one core. */
  cpuPercent: number;
  /**
   * Medians of samples every few seconds: the gateway's resident memory; its open descriptors other than
   * TCP connections (files, pipes, the listener), which must stay flat; and, not judged, its upstream
   * connections and the connections its clients hold open. Those follow the load's concurrency: a stall
   * of the machine makes the pool open more, kept idle as long as the upstream allows (the simulator: 65 s),
   * and the clients' are the load generator's doing.
   */
  rssBytes: number;
  fds: number;
  upstreamConnections: number;
  clientConnections: number;
  /** Event-loop delay over the window (monitorEventLoopDelay at 10 ms resolution), ms. */
  eldP99Ms: number;
  eldMaxMs: number;
  /** The V8 heap in use at the end of the window, bytes (reported, not judged: it saws). */
  heapUsedBytes: number;
  /** The least heap a major collection left in the window (the live heap), bytes; undefined when none ran. */
  liveHeapBytes?: number | undefined;
  /** machineLoad() at the end of the window. */
  load: string;
}

export interface SoakThresholds {
  /** Most resident memory the end of the run may hold above its middle (medians of each band). */
  rssGrowthBytes: number;
  /** Most the live heap may grow from the middle of the run to its end (least of each band). */
  liveHeapGrowthBytes: number;
  /** Most the descriptors other than connections may differ by between the first window and the last. */
  fdDrift: number;
  /** The last p99 may be this many times the first's, or under the floor. */
  p99Ratio: number;
  p99FloorMs: number;
  /** The same for the event-loop delay's p99 (whose idle reading is the 10 ms resolution). */
  eldRatio: number;
  eldFloorMs: number;
}

export const THRESHOLDS: SoakThresholds = {
  rssGrowthBytes: 50 * MiB,
  liveHeapGrowthBytes: 16 * MiB,
  fdDrift: 10,
  p99Ratio: 2,
  p99FloorMs: 25,
  eldRatio: 2,
  eldFloorMs: 30,
};

export interface Check {
  name: 'errors' | 'memory' | 'live heap' | 'descriptors' | 'latency p99' | 'event-loop delay p99';
  ok: boolean;
  /** The figures and the bound, for the report. */
  detail: string;
}

export interface Verdict {
  ok: boolean;
  /** The minutes compared (1-based): the first ones after the warm-up, and the last ones. */
  first: number[];
  last: number[];
  /** The minutes memory is compared on: the middle of the run, and its end. */
  memoryFirst: number[];
  memoryLast: number[];
  checks: Check[];
}

const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
const ms = (v: number) => `${v.toFixed(1)} ms`;

/** How many windows each side of the comparison reads. */
export const SIDE_WINDOWS = 3;

/** How many windows each memory band reads, at most. */
export const MEMORY_BAND_WINDOWS = 10;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

/**
 * The two memory bands of the windows after the warm-up: a quarter of them (1 to 10 windows) ending at the
 * middle, and as many at the end; with one window, it against itself.
 */
export function memoryBands(rest: readonly SoakWindow[]): { middle: SoakWindow[]; end: SoakWindow[] } {
  const k = Math.max(1, Math.min(MEMORY_BAND_WINDOWS, Math.floor(rest.length / 4)));
  const mid = Math.max(k, Math.ceil(rest.length / 2));
  return { middle: rest.slice(mid - k, mid), end: rest.slice(-k) };
}

const minuteRange = (ms: readonly number[]): string =>
  ms.length === 1 ? `minute ${ms[0]}` : `minutes ${ms[0]}–${ms[ms.length - 1]}`;

/**
 * The live heap of each memory band: the least a major collection left in it. Full collections are rare in
 * a gateway that promotes little (one every minute or two at a soak's rate), so a band that saw none is
 * widened back one window at a time until it holds one: the middle band never into the warm-up, the end band
 * never into the middle band. Undefined when a band cannot hold one.
 */
export function liveHeapBands(
  rest: readonly SoakWindow[],
): { middle: number; end: number; middleMinutes: number[]; endMinutes: number[] } | undefined {
  const { middle, end } = memoryBands(rest);
  const least = (from: number, to: number) => {
    const xs = rest
      .slice(from, to)
      .map((w) => w.liveHeapBytes)
      .filter((b): b is number => b !== undefined);
    return xs.length > 0 ? Math.min(...xs) : undefined;
  };
  const midEnd = rest.indexOf(middle[middle.length - 1] as SoakWindow) + 1;
  let midStart = midEnd - middle.length;
  while (least(midStart, midEnd) === undefined && midStart > 0) midStart--;
  let endStart = rest.length - end.length;
  while (least(endStart, rest.length) === undefined && endStart > midEnd) endStart--;
  const [m, e] = [least(midStart, midEnd), least(endStart, rest.length)];
  if (m === undefined || e === undefined) return undefined;
  const minutes = (from: number, to: number) => rest.slice(from, to).map((w) => w.minute);
  return {
    middle: m,
    end: e,
    middleMinutes: minutes(midStart, midEnd),
    endMinutes: minutes(endStart, rest.length),
  };
}

function memoryChecks(rest: readonly SoakWindow[], t: SoakThresholds): Check[] {
  const { middle, end } = memoryBands(rest);
  const [rssFirst, rssLast] = [median(middle.map((w) => w.rssBytes)), median(end.map((w) => w.rssBytes))];
  const growth = rssLast - rssFirst;
  const sign = (b: number) => (b >= 0 ? '+' : '');
  const checks: Check[] = [
    {
      name: 'memory',
      ok: growth < t.rssGrowthBytes,
      detail: `${mib(rssFirst)} → ${mib(rssLast)} (${sign(growth)}${mib(growth)}; bound +${mib(t.rssGrowthBytes)}; medians)`,
    },
  ];
  const live = liveHeapBands(rest);
  if (live === undefined) {
    checks.push({ name: 'live heap', ok: true, detail: 'not measured: no major collection in a band' });
  } else {
    const g = live.end - live.middle;
    const widened = live.middleMinutes.length > middle.length || live.endMinutes.length > end.length;
    const on = widened
      ? `; on ${minuteRange(live.middleMinutes)} against ${minuteRange(live.endMinutes)}`
      : '';
    checks.push({
      name: 'live heap',
      ok: g < t.liveHeapGrowthBytes,
      detail: `${mib(live.middle)} → ${mib(live.end)} (${sign(g)}${mib(g)}; bound +${mib(t.liveHeapGrowthBytes)}; least after a major collection${on})`,
    });
  }
  return checks;
}

/** Latency-like figures: within `ratio` of the first windows', or under the floor. */
function drift(name: Check['name'], first: number, last: number, ratio: number, floor: number): Check {
  const r = first > 0 ? last / first : Number.POSITIVE_INFINITY;
  const ok = last <= ratio * first || last < floor;
  return {
    name,
    ok,
    detail: `${ms(first)} → ${ms(last)} (×${r.toFixed(2)}; bound ×${ratio} or under ${ms(floor)})`,
  };
}

/**
 * Judges a run of at least two windows: the first is the warm-up; then the first up to three windows
 * against the last as many (at most half the rest each; with one window left, it against itself), and
 * memory on the bands of `memoryBands`.
 */
export function judgeSoak(windows: readonly SoakWindow[], t: SoakThresholds = THRESHOLDS): Verdict {
  const rest = windows.slice(1);
  if (rest.length === 0)
    throw new Error(`a verdict needs a warm-up window and one more (got ${windows.length})`);
  const k = Math.max(1, Math.min(SIDE_WINDOWS, Math.floor(rest.length / 2)));
  const early = rest.slice(0, k);
  const late = rest.slice(-k);
  const best = (ws: SoakWindow[], f: (w: SoakWindow) => number) => Math.min(...ws.map(f));
  const [fdsFirst, fdsLast] = [best(early, (w) => w.fds), best(late, (w) => w.fds)];
  const errors = windows.reduce((s, w) => s + w.errors, 0);
  const fdDelta = fdsLast - fdsFirst;
  const checks: Check[] = [
    {
      name: 'errors',
      ok: errors === 0,
      detail: `${errors} in ${windows.reduce((s, w) => s + w.offered, 0)} requests (bound 0)`,
    },
    ...memoryChecks(rest, t),
    {
      name: 'descriptors',
      ok: Math.abs(fdDelta) <= t.fdDrift,
      detail: `${fdsFirst} → ${fdsLast} (${fdDelta >= 0 ? '+' : ''}${fdDelta}; bound ±${t.fdDrift})`,
    },
    drift(
      'latency p99',
      best(early, (w) => w.p99Ms),
      best(late, (w) => w.p99Ms),
      t.p99Ratio,
      t.p99FloorMs,
    ),
    drift(
      'event-loop delay p99',
      best(early, (w) => w.eldP99Ms),
      best(late, (w) => w.eldP99Ms),
      t.eldRatio,
      t.eldFloorMs,
    ),
  ];
  const minutes = (ws: SoakWindow[]) => ws.map((w) => w.minute);
  const bands = memoryBands(rest);
  return {
    ok: checks.every((c) => c.ok),
    first: minutes(early),
    last: minutes(late),
    memoryFirst: minutes(bands.middle),
    memoryLast: minutes(bands.end),
    checks,
  };
}
