// The soak's verdict: the first windows after the warm-up against the last ones, each side at its best,
// each check with its bound; and the lines it prints.
import { describe, expect, it } from '@jest/globals';
import { formatHeader, formatVerdict, formatWindow } from './report.js';
import { judgeSoak, liveHeapBands, THRESHOLDS, type SoakWindow } from './verdict.js';

const MiB = 1024 * 1024;

function window(minute: number, over: Partial<SoakWindow> = {}): SoakWindow {
  return {
    minute,
    offered: 15_000,
    served: 15_000,
    errors: 0,
    p50Ms: 1.4,
    p99Ms: 12,
    maxMs: 80,
    cpuPercent: 24,
    rssBytes: 280 * MiB,
    fds: 22,
    upstreamConnections: 8,
    clientConnections: 40,
    eldP99Ms: 13,
    eldMaxMs: 25,
    heapUsedBytes: 40 * 1024 * 1024,
    liveHeapBytes: 30 * MiB,
    load: 'load 3.00 3.00 3.00 on 2 cores',
    ...over,
  };
}

/** Eight minutes: a wild warm-up, steady windows, and the last three changed by `late`. */
const run = (late: Partial<SoakWindow>) => [
  window(1, { p99Ms: 300, rssBytes: 200 * MiB, fds: 60, errors: 0, eldP99Ms: 90 }),
  ...[2, 3, 4, 5].map((m) => window(m)),
  ...[6, 7, 8].map((m) => window(m, late)),
];

const failed = (windows: SoakWindow[]) =>
  judgeSoak(windows)
    .checks.filter((c) => !c.ok)
    .map((c) => c.name);

describe('soak verdict', () => {
  it('passes a steady run, comparing the first three windows after the warm-up with the last three', () => {
    const v = judgeSoak(run({}));
    expect(v).toMatchObject({ ok: true, first: [2, 3, 4], last: [6, 7, 8] });
    expect(v.checks.map((c) => c.name)).toEqual([
      'errors',
      'memory',
      'live heap',
      'descriptors',
      'latency p99',
      'event-loop delay p99',
    ]);
  });

  it('compares at most half the windows after the warm-up on each side, one with itself', () => {
    const windows = (n: number) => Array.from({ length: n }, (_, i) => window(i + 1));
    expect(judgeSoak(windows(2))).toMatchObject({ first: [2], last: [2] });
    expect(judgeSoak(windows(3))).toMatchObject({ first: [2], last: [3] });
    expect(judgeSoak(windows(5))).toMatchObject({ first: [2, 3], last: [4, 5] });
    expect(judgeSoak(windows(60))).toMatchObject({ first: [2, 3, 4], last: [58, 59, 60] });
    expect(judgeSoak(windows(60))).toMatchObject({
      memoryFirst: [22, 23, 24, 25, 26, 27, 28, 29, 30, 31],
      memoryLast: [51, 52, 53, 54, 55, 56, 57, 58, 59, 60],
    });
    expect(judgeSoak(windows(6))).toMatchObject({ memoryFirst: [4], memoryLast: [6] });
    expect(judgeSoak(windows(2))).toMatchObject({ memoryFirst: [2], memoryLast: [2] });
    expect(() => judgeSoak(windows(1))).toThrow('a verdict needs a warm-up window and one more (got 1)');
  });

  it('reads each side at its best: one bad late minute (a starved machine) is not a drift', () => {
    const windows = run({});
    windows[7] = window(8, { p99Ms: 400, eldP99Ms: 200, fds: 90 });
    expect(failed(windows)).toEqual([]);
  });

  it("judges memory on the run's middle against its end: a filling warm-up and collection lows are not growth", () => {
    // An hour: resident memory climbs while a ring fills (minutes 2–10), then saws between a collection's
    // low (every fifth minute) and its usual level; the live heap fills, then holds.
    const hour = Array.from({ length: 60 }, (_, i) => {
      const m = i + 1;
      const level = m <= 10 ? 200 + m * 8 : 280;
      return window(m, {
        rssBytes: (m % 5 === 0 ? level - 80 : level) * MiB,
        liveHeapBytes: (m <= 10 ? 10 + m * 2 : 30) * MiB,
      });
    });
    expect(failed(hour)).toEqual([]);
    // The same hour with a leak of 1 MiB a minute from minute 20, in resident memory and the live heap.
    const leaking = hour.map((w) =>
      w.minute < 20
        ? w
        : {
            ...w,
            rssBytes: w.rssBytes + (w.minute - 20) * MiB,
            liveHeapBytes: (w.liveHeapBytes ?? 0) + (w.minute - 20) * MiB,
          },
    );
    expect(failed(leaking)).toEqual(['live heap']);
    const faster = hour.map((w) =>
      w.minute < 20 ? w : { ...w, rssBytes: w.rssBytes + (w.minute - 20) * 2 * MiB },
    );
    expect(failed(faster)).toEqual(['memory']);
  });

  it('says the live heap was not measured when a band saw no major collection', () => {
    const v = judgeSoak(run({ liveHeapBytes: undefined }));
    expect(v.checks.find((c) => c.name === 'live heap')).toEqual({
      name: 'live heap',
      ok: true,
      detail: 'not measured: no major collection in a band',
    });
  });

  it('widens a live-heap band that saw no major collection back one window at a time, never past its bounds', () => {
    // The 5-minute soak as CI saw it: full collections every minute or two, none in minute 3.
    const five = [1, 2, 3, 4, 5].map((m) =>
      window(m, { liveHeapBytes: [18, 35.4, undefined, 34.3, 33.1][m - 1]! * MiB || undefined }),
    );
    expect(judgeSoak(five)).toMatchObject({ memoryFirst: [3], memoryLast: [5] });
    expect(liveHeapBands(five.slice(1))).toEqual({
      middle: 35.4 * MiB,
      end: 33.1 * MiB,
      middleMinutes: [2, 3],
      endMinutes: [5],
    });
    expect(judgeSoak(five).checks.find((c) => c.name === 'live heap')?.detail).toBe(
      '35.4 MiB → 33.1 MiB (-2.3 MiB; bound +16.0 MiB; least after a major collection; on minutes 2–3 against minute 5)',
    );
    // A leak still shows when the end band is widened: the least of minutes 4–5 against minute 3.
    const leak = [1, 2, 3, 4, 5].map((m) =>
      window(m, { liveHeapBytes: [18, 30, 30, 30 + 16, undefined][m - 1]! * MiB || undefined }),
    );
    expect(liveHeapBands(leak.slice(1))).toMatchObject({ middleMinutes: [3], endMinutes: [4, 5] });
    expect(failed(leak)).toEqual(['live heap']);
    // Never into the warm-up: only minute 1 saw a collection before the middle.
    const warmOnly = [1, 2, 3, 4, 5].map((m) =>
      window(m, { liveHeapBytes: m === 1 || m === 5 ? 30 * MiB : undefined }),
    );
    expect(liveHeapBands(warmOnly.slice(1))).toBeUndefined();
    // The end band never reaches into the middle band: minute 3 is the middle, minutes 4–5 saw none.
    const endless = [1, 2, 3, 4, 5].map((m) => window(m, { liveHeapBytes: m <= 3 ? 30 * MiB : undefined }));
    expect(liveHeapBands(endless.slice(1))).toBeUndefined();
  });

  it('ignores the warm-up minute for growth and drift, but not for errors', () => {
    expect(failed(run({}))).toEqual([]);
    const warmUpErrors = run({});
    warmUpErrors[0] = window(1, { errors: 3, served: 14_997 });
    expect(failed(warmUpErrors)).toEqual(['errors']);
  });

  it('breaks on any error in any window', () => {
    const windows = run({});
    windows[3] = window(4, { errors: 1, served: 14_999 });
    expect(failed(windows)).toEqual(['errors']);
  });

  it('breaks on memory and live-heap growth at the bound, not below it', () => {
    expect(failed(run({ rssBytes: 280 * MiB + THRESHOLDS.rssGrowthBytes - 1 }))).toEqual([]);
    expect(failed(run({ rssBytes: 280 * MiB + THRESHOLDS.rssGrowthBytes }))).toEqual(['memory']);
    expect(failed(run({ liveHeapBytes: 30 * MiB + THRESHOLDS.liveHeapGrowthBytes - 1 }))).toEqual([]);
    expect(failed(run({ liveHeapBytes: 30 * MiB + THRESHOLDS.liveHeapGrowthBytes }))).toEqual(['live heap']);
  });

  it('breaks when descriptors other than connections drift either way beyond ±10', () => {
    expect(failed(run({ fds: 32 }))).toEqual([]);
    expect(failed(run({ fds: 33 }))).toEqual(['descriptors']);
    expect(failed(run({ fds: 11 }))).toEqual(['descriptors']);
  });

  it('leaves the connections to the load: upstream and client connections are not judged', () => {
    expect(failed(run({ upstreamConnections: 120, clientConnections: 400 }))).toEqual([]);
  });

  it('lets p99 double, or rise anywhere under the floor, and breaks beyond both', () => {
    expect(failed(run({ p99Ms: 24 }))).toEqual([]);
    expect(failed(run({ p99Ms: 24.9 }))).toEqual([]);
    expect(failed(run({ p99Ms: 26 }))).toEqual(['latency p99']);
    const slow = (late: number) => [window(1), window(2, { p99Ms: 20 }), window(3, { p99Ms: late })];
    expect(failed(slow(40))).toEqual([]);
    expect(failed(slow(41))).toEqual(['latency p99']);
  });

  it('judges the event-loop delay the same way, with its own floor', () => {
    expect(failed(run({ eldP99Ms: 26 }))).toEqual([]);
    expect(failed(run({ eldP99Ms: 29.9 }))).toEqual([]);
    expect(failed(run({ eldP99Ms: 30 }))).toEqual(['event-loop delay p99']);
  });

  it('prints one aligned line per window and a verdict naming every broken check', () => {
    const header = formatHeader();
    const line = formatWindow(window(2), false);
    expect(header.indexOf('load')).toBe(line.indexOf('load'));
    expect(line).toBe(
      '  2     15000     15000     1.40    12.00      80.0       0    24.0     280.0    22     8       40     13.0     25.0' +
        '      40.0      30.0  load 3.00 3.00 3.00 on 2 cores',
    );
    expect(formatWindow(window(1), true)).toMatch(/\(warm-up\)$/);
    const text = formatVerdict(judgeSoak(run({ fds: 52, rssBytes: 400 * MiB })));
    expect(text.split('\n')[0]).toBe(
      'Verdict, minutes 2–4 against minutes 6–8, the best of each; memory on minute 5 against minute 8: BROKEN',
    );
    expect(text).toContain('BROKEN  memory: 280.0 MiB → 400.0 MiB (+120.0 MiB; bound +50.0 MiB; medians)');
    expect(text).toContain(
      'ok      live heap: 30.0 MiB → 30.0 MiB (+0.0 MiB; bound +16.0 MiB; least after a major collection)',
    );
    expect(text).toContain('BROKEN  descriptors: 22 → 52 (+30; bound ±10)');
    expect(text).toContain('ok      latency p99: 12.0 ms → 12.0 ms (×1.00; bound ×2 or under 25.0 ms)');
    expect(formatVerdict(judgeSoak([window(1), window(2)])).split('\n')[0]).toBe(
      'Verdict, minute 2 against minute 2; memory on minute 2 against minute 2: OK',
    );
  });
});
