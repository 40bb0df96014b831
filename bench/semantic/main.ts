// Semantic cache benchmark: the index at scale. One partition filled with N entries (default 100,000):
// the origins of the paraphrase pairs, the RouteLLM and domain prompts, and the rest sentences drawn
// from those texts' words (so word frequencies look like real prompts'); then every paraphrase is looked
// up as the gateway does (embed, search, guard): lookup p50/p99/max, the share of paraphrases that still
// find their own origin among N (against the same lookups in an index of the origins alone, the
// baseline), and memory per entry (heap and array buffers after a collection, before and after filling);
// each set of lookups runs once unreported before the reported one (JIT). Then warming, with real gateways
// (warm.ts): the semantic hit rate of a new replica that loads the shared entries before it is ready,
// against one that starts empty.
// Usage: npm run bench:semantic -- [--entries 100000] [--threshold 0.85] [--data ../shared/data]
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_SEMANTIC_THRESHOLD } from '../../api/v1alpha1/index.js';
import { embedText } from '../../gateway/src/cache/semantic/embedder.js';
import { unitLength } from '../../gateway/src/routing/embeddings-client.js';
import { embed } from '../../simulator/answers.js';
import { parsePairs, type Pair } from '../../gateway/src/cache/semantic/eval.js';
import { guardRefusal } from '../../gateway/src/cache/semantic/guard.js';
import { SemanticIndex } from '../../gateway/src/cache/semantic/semantic-index.js';
import { measureWarming } from './warm.js';
import { seededRandom } from '../../gateway/src/routing/seeded-random.js';

const { values } = parseArgs({
  options: {
    entries: { type: 'string', default: '100000' },
    threshold: { type: 'string', default: String(DEFAULT_SEMANTIC_THRESHOLD) },
    data: { type: 'string', default: path.resolve(import.meta.dirname, '../../../shared/data') },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(
    'npm run bench:semantic -- [--entries 100000] [--threshold 0.85] [--data ../shared/data]\n' +
      'Fills one semantic-cache partition with N entries and looks every paraphrase of the pairs file up:\n' +
      'lookup p50/p99, own-origin hits against an index of the origins alone, memory per entry.\n',
  );
  process.exit(0);
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const pairsFile = path.join(values.data, 'semantic-cache/gptcache-paraphrase-pairs.json');
if (!existsSync(pairsFile)) {
  process.stderr.write(`no pairs file at ${pairsFile}; see --help\n`);
  process.exit(2);
}
const pairs: Pair[] = parsePairs(JSON.parse(readFileSync(pairsFile, 'utf8')));
const jsonl = (file: string) =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => (JSON.parse(l) as { prompt: string }).prompt)
    : [];
const real = [
  ...jsonl(path.join(values.data, 'routing/routellm-train.jsonl')),
  ...jsonl(path.resolve(import.meta.dirname, '../../gateway/src/routing/domains/train.jsonl')),
].map((t) => t.slice(0, 600));

/** Sentences of 8–30 words drawn from the real texts' words. */
function filler(n: number): string[] {
  const words = real.join(' ').split(/\s+/).filter(Boolean);
  const random = seededRandom(7);
  return Array.from({ length: n }, () => {
    const len = 8 + Math.floor(random() * 23);
    return Array.from({ length: len }, () => words[Math.floor(random() * words.length)]).join(' ');
  });
}

const memory = () => {
  globalThis.gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

function lookups(index: SemanticIndex, threshold: number, embed: Embed = embedText) {
  const times: number[] = [];
  let own = 0;
  let any = 0;
  pairs.forEach((p, i) => {
    const t = performance.now();
    const v = embed(p.similar);
    const near = index.search('bench', p.similar, v, threshold, 0);
    const hit = near.find((n) => guardRefusal(p.similar, n.entry.text) === undefined);
    times.push(performance.now() - t);
    if (hit?.entry.key === `origin-${i}`) own++;
    if (hit !== undefined) any++;
  });
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.floor(q * (times.length - 1))] ?? 0;
  return { own: own / pairs.length, any: any / pairs.length, p50: at(0.5), p99: at(0.99), max: at(1) };
}

const entries = Number(values.entries);
const threshold = Number(values.threshold);
type Embed = (text: string) => Float32Array;
const fill = (
  index: SemanticIndex,
  texts: string[],
  prefix: string,
  embed: Embed = embedText,
  dense = false,
) =>
  texts.forEach((text, i) =>
    index.add(
      'route',
      'bench',
      { key: `${prefix}-${i}`, producer: 'p', text, vector: embed(text), expiresAt: 1e15 },
      1e7,
      dense,
    ),
  );

const baseline = new SemanticIndex();
fill(
  baseline,
  pairs.map((p) => p.origin),
  'origin',
);
lookups(baseline, threshold); // warm-up (JIT), not reported
const small = lookups(baseline, threshold);
const before = memory();
const index = new SemanticIndex();
const t0 = performance.now();
fill(
  index,
  pairs.map((p) => p.origin),
  'origin',
);
const rest = Math.max(0, entries - pairs.length);
const others = [...real.slice(0, rest), ...filler(Math.max(0, rest - real.length))];
fill(index, others, 'other');
const fillSeconds = (performance.now() - t0) / 1000;
const perEntry = (memory() - before) / index.size();
lookups(index, threshold); // warm-up, not reported
const big = lookups(index, threshold);
const ms = (x: number) => x.toFixed(3);
process.stdout.write(
  `semantic index, threshold ${threshold}, ${pairs.length} paraphrase lookups (embed + search + guard), load ${load()} on this machine\n` +
    `  ${pairs.length} entries (origins only): own origin ${(small.own * 100).toFixed(1)}%, p50 ${ms(small.p50)} ms, p99 ${ms(small.p99)} ms, max ${ms(small.max)} ms\n` +
    `  ${index.size()} entries: own origin ${(big.own * 100).toFixed(1)}%, p50 ${ms(big.p50)} ms, p99 ${ms(big.p99)} ms, max ${ms(big.max)} ms; ` +
    `filled in ${fillSeconds.toFixed(1)} s; ${(perEntry / 1024).toFixed(1)} KiB per entry${globalThis.gc ? '' : ' (run node with --expose-gc for exact figures)'}\n`,
);

// Dense vectors, as an embeddings server gives (here the simulator's 384-d embedding of the same texts,
// computed before timing: the server's time is not the index's): searched exhaustively up to 4,096 entries,
// through the words past that.
const DENSE_DIMS = 384;
const denseOf = new Map<string, Float32Array>();
const dense: Embed = (t) => {
  let v = denseOf.get(t);
  if (v === undefined) denseOf.set(t, (v = unitLength(embed(t, DENSE_DIMS))));
  return v;
};
for (const p of pairs) dense(p.similar);
const denseSmall = new SemanticIndex();
fill(
  denseSmall,
  pairs.map((p) => p.origin),
  'origin',
  dense,
  true,
);
lookups(denseSmall, threshold, dense);
const ds = lookups(denseSmall, threshold, dense);
const denseBig = new SemanticIndex();
const t1 = performance.now();
fill(
  denseBig,
  pairs.map((p) => p.origin),
  'origin',
  dense,
  true,
);
fill(denseBig, others, 'other', dense, true);
const denseSeconds = (performance.now() - t1) / 1000;
denseOf.clear();
for (const p of pairs) dense(p.similar);
lookups(denseBig, threshold, dense);
const db = lookups(denseBig, threshold, dense);
process.stdout.write(
  `dense vectors (the simulator's ${DENSE_DIMS}-d embedding, precomputed; exhaustive up to 4,096 entries, then word and hyperplane-bucket candidates), load ${load()}:\n` +
    `  ${pairs.length} entries: own origin ${(ds.own * 100).toFixed(1)}%, p50 ${ms(ds.p50)} ms, p99 ${ms(ds.p99)} ms\n` +
    `  ${denseBig.size()} entries: own origin ${(db.own * 100).toFixed(1)}%, p50 ${ms(db.p50)} ms, p99 ${ms(db.p99)} ms, max ${ms(db.max)} ms; ` +
    `filled in ${denseSeconds.toFixed(1)} s (embedding included)\n`,
);

const anyHit = small.any;
const w = await measureWarming(pairs, threshold);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
process.stdout.write(
  `warming (real gateways, Redis, simulator; ${w.entries} origins asked on a first replica, then every paraphrase once per replica, load ${load()}):\n` +
    `  semantic hits of the paraphrases: new replica sharing through Redis ${pct(w.warm)} ` +
    `(ready ${(w.warmReadyMs / 1000).toFixed(2)} s after start, the entries loaded first); new replica in memory only ${pct(w.cold)}; ` +
    `a replica running all along (the index above, any origin hit): ${pct(anyHit)}\n`,
);
