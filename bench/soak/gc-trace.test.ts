// Reading V8's major-collection trace lines back into the live heap of a soak window.
import { describe, expect, it } from '@jest/globals';
import { liveHeapSince, parseMajorCollections } from './gc-trace.js';

const MiB = 1024 * 1024;
const line = (ms: number, after: string, committed = '89.4') =>
  `[26362:0x26a44000]    ${ms} ms: Mark-Compact 137.3 (201.6) -> ${after} (${committed}) MB, pooled: 74 MB, 37.75 / 0.00 ms  (average mu = 0.926, current mu = 0.926) finalize incremental marking via stack guard; GC in old space requested`;

describe('gc trace', () => {
  it('reads the heap after each Mark-Compact and ignores every other line', () => {
    const text = [
      line(554, '23.0'),
      '{"level":"warn","msg":"something"}',
      '[1:0x1]      600 ms: Scavenge 40.1 (50.0) -> 30.2 (52.0) MB, 1.2 / 0.0 ms',
      line(61_000, '31.5', '120.0').replace('Mark-Compact', 'Mark-Compact (reduce)'),
    ].join('\n');
    expect(parseMajorCollections(text)).toEqual([
      { ms: 554, afterBytes: 23 * MiB, committedBytes: 89.4 * MiB },
      { ms: 61_000, afterBytes: 31.5 * MiB, committedBytes: 120 * MiB },
    ]);
  });

  it('takes the least heap left by a collection after the previous window, and says when none ran', () => {
    const text = [line(1_000, '20.0'), line(70_000, '33.0'), line(90_000, '29.5')].join('\n');
    expect(liveHeapSince(text, 1_000)).toEqual({ liveHeapBytes: 29.5 * MiB, lastMs: 90_000, collections: 2 });
    expect(liveHeapSince(text, 90_000)).toEqual({ liveHeapBytes: undefined, lastMs: 90_000, collections: 0 });
  });
});
