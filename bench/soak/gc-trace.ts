// The major collections a gateway run with `--trace-gc --trace-gc-ignore-scavenger` reports on its output,
// read back as what the V8 heap held right after each: the live heap, which only grows when something is
// kept. Resident memory also moves with what the allocator keeps and V8 releases (the soak shows it sawing
// by 100 MiB with collections), so the soak judges memory on both. Pure.

/** One Mark-Compact line: ms since the process started, the heap in use after it and committed, bytes. */
export interface MajorCollection {
  ms: number;
  afterBytes: number;
  committedBytes: number;
}

const MiB = 1024 * 1024;
// [pid:0x…]   12345 ms: Mark-Compact 137.3 (201.6) -> 23.0 (89.4) MB, …
const LINE = /\s(\d+) ms: Mark-Compact(?: \(reduce\))? [\d.]+ \([\d.]+\) -> ([\d.]+) \(([\d.]+)\) MB/g;

export function parseMajorCollections(output: string): MajorCollection[] {
  const out: MajorCollection[] = [];
  for (const m of output.matchAll(LINE)) {
    out.push({
      ms: Number(m[1]),
      afterBytes: Number(m[2]) * MiB,
      committedBytes: Number(m[3]) * MiB,
    });
  }
  return out;
}

/**
 * Reads the collections after `sinceMs` in a process's output: the least heap left by one (the live heap
 * of the window; undefined when no major collection ran in it) and the time of the last one seen.
 */
export function liveHeapSince(
  output: string,
  sinceMs: number,
): { liveHeapBytes: number | undefined; lastMs: number; collections: number } {
  const fresh = parseMajorCollections(output).filter((c) => c.ms > sinceMs);
  if (fresh.length === 0) return { liveHeapBytes: undefined, lastMs: sinceMs, collections: 0 };
  return {
    liveHeapBytes: Math.min(...fresh.map((c) => c.afterBytes)),
    lastMs: Math.max(...fresh.map((c) => c.ms)),
    collections: fresh.length,
  };
}
