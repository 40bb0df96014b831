// Summaries of V8 CPU profiles (`node --cpu-prof`): self time by area (the code under test, undici, node
// core, prom-client, GC…) and by function, as shares of busy time, with module loading at startup (tsx,
// esbuild, the ESM loader) left out, so that a benchmark can say where a server spends its time serving.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  id: number;
  children?: number[];
}

/** The parts of a .cpuprofile file the summary reads. */
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummaryOptions {
  /** What was profiled, for the heading: "beastmode", "beastmode (cache hits, memory)". */
  subject: string;
  /** A path fragment that marks the code under test ("/gateway/src/"); its self time is one area. */
  ownCode: string;
  /** The name of that area ("beastmode code"). */
  ownCodeArea: string;
  /** How many functions to list; default 12. */
  top?: number;
}

const STARTUP = /\/tsx\/|esbuild|node:internal\/modules/;
/** file:// prefix of this repository, cut from script URLs so that paths read as in the tree. */
const REPO_URL = `${pathToFileURL(path.resolve(import.meta.dirname, '../..')).href}/`;

/** Node ids whose stack includes module loading (tsx, esbuild, the ESM loader): startup, not serving. */
export function startupNodes(nodes: readonly ProfileNode[]): Set<number> {
  const parent = new Map<number, number>();
  for (const n of nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const out = new Set<number>();
  for (const n of nodes) {
    for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
      if (STARTUP.test(byId.get(id)?.callFrame.url ?? '')) {
        out.add(n.id);
        break;
      }
    }
  }
  return out;
}

function areaOf(frame: ProfileNode['callFrame'], o: ProfileSummaryOptions): string {
  const { functionName, url } = frame;
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(garbage collector)') return 'GC';
  if (url.includes(o.ownCode)) return o.ownCodeArea;
  if (url.includes('undici')) return 'undici (upstream client)';
  if (url.includes('prom-client')) return 'prom-client';
  if (url.startsWith('node:') || url === '') {
    return functionName === '(program)' ? 'native/program' : 'node core (http, net, streams)';
  }
  return 'other libraries';
}

function functionKey(frame: ProfileNode['callFrame']): string {
  const short = frame.url.replace(REPO_URL, '').replace(/.*node_modules\//, '');
  return `${frame.functionName || '(anonymous)'} ${short}:${frame.lineNumber + 1}`;
}

interface SelfTimes {
  byFunction: Map<string, number>;
  byArea: Map<string, number>;
  /** Sampled time outside startup, idle included (µs). */
  total: number;
}

function selfTimes(prof: CpuProfile, o: ProfileSummaryOptions): SelfTimes {
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const startup = startupNodes(prof.nodes);
  const out: SelfTimes = { byFunction: new Map(), byArea: new Map(), total: 0 };
  const add = (m: Map<string, number>, k: string, dt: number) => m.set(k, (m.get(k) ?? 0) + dt);
  prof.samples.forEach((id, i) => {
    const n = byId.get(id);
    if (n === undefined || startup.has(id)) return;
    const dt = prof.timeDeltas[i] ?? 0;
    out.total += dt;
    add(out.byFunction, functionKey(n.callFrame), dt);
    add(out.byArea, areaOf(n.callFrame, o), dt);
  });
  return out;
}

/** The text summary: areas, then the top functions, each as a share of busy (non-idle) time. */
export function summariseProfile(prof: CpuProfile, o: ProfileSummaryOptions): string {
  const t = selfTimes(prof, o);
  const busy = t.total - (t.byArea.get('idle') ?? 0);
  const pct = (v: number) => `${((100 * v) / busy).toFixed(1)}%`;
  const descending = (m: Map<string, number>) => [...m].sort((x, y) => y[1] - x[1]);
  const lines = [
    `CPU profile of ${o.subject} while serving (self time, share of busy time; startup excluded):`,
  ];
  for (const [k, v] of descending(t.byArea).filter(([k]) => k !== 'idle')) {
    lines.push(`  ${k.padEnd(34)} ${pct(v)}`);
  }
  lines.push('  top functions:');
  const top = descending(t.byFunction)
    .filter(([k]) => !k.startsWith('(idle)'))
    .slice(0, o.top ?? 12);
  for (const [k, v] of top) lines.push(`    ${pct(v).padStart(6)}  ${k}`);
  return lines.join('\n');
}

/** The first .cpuprofile in `dir` (a process writes one on exit), or undefined when there is none. */
export function readFirstProfile(dir: string): CpuProfile | undefined {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  } catch {
    return undefined;
  }
  const first = files[0];
  return first === undefined
    ? undefined
    : (JSON.parse(readFileSync(path.join(dir, first), 'utf8')) as CpuProfile);
}
