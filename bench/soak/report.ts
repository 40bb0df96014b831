// The soak's printed lines: a header, one line per window, and the verdict. Pure. Of the gateway's open
// descriptors, "fds" counts those that are not TCP connections, "up" its upstream connections and
// "clients" the connections its clients hold open.
import type { SoakWindow, Verdict } from './verdict.js';

const COLUMNS: [string, number][] = [
  ['min', 3],
  ['offered', 8],
  ['served', 8],
  ['p50 ms', 7],
  ['p99 ms', 7],
  ['max ms', 8],
  ['errors', 6],
  ['cpu %', 6],
  ['rss MiB', 8],
  ['fds', 4],
  ['up', 4],
  ['clients', 7],
  ['eld p99', 7],
  ['eld max', 7],
  ['heap MiB', 8],
  ['live MiB', 8],
];

const row = (cells: string[]) => cells.map((c, i) => c.padStart(COLUMNS[i]?.[1] ?? c.length)).join('  ');

export function formatHeader(): string {
  return `${row(COLUMNS.map(([name]) => name))}  load`;
}

export function formatWindow(w: SoakWindow, warmUp: boolean): string {
  const cells = [
    String(w.minute),
    String(w.offered),
    String(w.served),
    w.p50Ms.toFixed(2),
    w.p99Ms.toFixed(2),
    w.maxMs.toFixed(1),
    String(w.errors),
    w.cpuPercent.toFixed(1),
    (w.rssBytes / (1024 * 1024)).toFixed(1),
    String(w.fds),
    String(w.upstreamConnections),
    String(w.clientConnections),
    w.eldP99Ms.toFixed(1),
    w.eldMaxMs.toFixed(1),
    (w.heapUsedBytes / (1024 * 1024)).toFixed(1),
    w.liveHeapBytes === undefined ? '—' : (w.liveHeapBytes / (1024 * 1024)).toFixed(1),
  ];
  return `${row(cells)}  ${w.load}${warmUp ? '  (warm-up)' : ''}`;
}

/** "minute 2", "minutes 2–4". */
const minutes = (ms: number[]) =>
  ms.length === 1 ? `minute ${ms[0]}` : `minutes ${ms[0]}–${ms[ms.length - 1]}`;

export function formatVerdict(v: Verdict): string {
  const sides = `${minutes(v.first)} against ${minutes(v.last)}${v.first.length > 1 ? ', the best of each' : ''}`;
  const lines = [
    `Verdict, ${sides}; memory on ${minutes(v.memoryFirst)} against ${minutes(v.memoryLast)}: ${v.ok ? 'OK' : 'BROKEN'}`,
  ];
  for (const c of v.checks) lines.push(`  ${c.ok ? 'ok    ' : 'BROKEN'}  ${c.name}: ${c.detail}`);
  return lines.join('\n');
}
