// `beastmode cache eval`: measures the semantic cache (built-in embedder, exact index, guard) on any file of
// paraphrase pairs in the GPTCache format and prints one line of JSON (see eval.ts for its fields), so a
// threshold can be chosen, and re-checked, on data like the traffic the cache will see.
import { readFile } from 'node:fs/promises';
import { readFlags, type CommandSpec } from '../../../../cli/flags.js';
import { embedAll, unitLength } from '../../routing/embeddings-client.js';
import { DEFAULT_SEMANTIC_THRESHOLD, evaluatePairs, parsePairs, type Pair } from './eval.js';

const DEFAULT_THRESHOLDS = '0.5,0.55,0.6,0.65,0.7,0.75,0.8,0.85,0.9,0.95';

export const CACHE_COMMAND: CommandSpec = {
  name: 'beastmode cache',
  usage:
    'eval --pairs pairs.json [--insert-fraction 0.5] [--seed 1] [--thresholds 0.7,0.8] [--no-guard]\n' +
    '       [--embeddings-url URL --embeddings-model name [--dimensions n]]',
  summary:
    'eval  insert a seeded share of the origins of pairs [{"origin","similar"}], look every paraphrase up, and\n' +
    '      print per threshold: correct and misdirected (of the paraphrases of inserted origins), wrong (of\n' +
    `      the others: any hit) and lookup latency (the default threshold is ${DEFAULT_SEMANTIC_THRESHOLD})`,
  flags: {
    pairs: { value: 'file.json', help: 'The pairs: a JSON array of {"origin", "similar"}' },
    'insert-fraction': { value: '0..1', default: '0.5', help: 'The share of distinct origins inserted' },
    seed: { value: 'n', default: '1', help: 'The seed of the choice of inserted origins' },
    thresholds: {
      value: 'list',
      default: DEFAULT_THRESHOLDS,
      help: 'Similarity thresholds, comma-separated',
    },
    'no-guard': {
      boolean: true,
      help: 'Serve any hit above the threshold (no numbers/negation/names/format checks)',
    },
    'embeddings-url': {
      value: 'URL',
      help: 'Embed with this OpenAI-compatible embeddings API (as cache.semantic.embeddings) instead of the built-in embedder',
    },
    'embeddings-model': { value: 'name', help: 'The embedding model asked for' },
    dimensions: { value: 'n', help: 'The dimensions asked of the embedding model, if it takes them' },
  },
};

function numberFlag(value: string | undefined, fallback: string, flag: string): number {
  const n = Number(value ?? fallback);
  if (!Number.isFinite(n)) throw new Error(`--${flag}: "${value}" is not a number`);
  return n;
}

/**
 * With --embeddings-url: every text of the pairs embedded by the server first (lookup latency then excludes
 * the server's time), as the unit vectors the gateway would use.
 */
async function serverEmbedder(
  v: Record<string, string | boolean | undefined>,
  pairs: readonly Pair[],
): Promise<((text: string) => Float32Array) | undefined> {
  const url = v['embeddings-url'];
  if (typeof url !== 'string' || url === '') return undefined;
  const model = v['embeddings-model'];
  if (typeof model !== 'string' || model === '')
    throw new Error('--embeddings-model is required with --embeddings-url; see beastmode cache --help');
  const dims = typeof v.dimensions === 'string' ? numberFlag(v.dimensions, '', 'dimensions') : undefined;
  const texts = [...new Set(pairs.flatMap((p) => [p.origin, p.similar]))];
  const vectors = await embedAll({ url, model, dimensions: dims }, texts);
  const byText = new Map(texts.map((t, i) => [t, unitLength(vectors[i] ?? [])]));
  return (text) => byText.get(text) ?? new Float32Array(vectors[0]?.length ?? 0);
}

/** Runs `beastmode cache <argv>`; resolves with the exit code. */
export async function runCache(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const read = readFlags(CACHE_COMMAND, argv, env);
  if (read.kind === 'help') {
    process.stdout.write(read.text);
    return 0;
  }
  if (read.kind === 'error') {
    process.stderr.write(`${read.message}\n`);
    return 2;
  }
  if (read.positionals[0] !== 'eval') {
    process.stderr.write('beastmode cache: name a subcommand (eval); see --help\n');
    return 2;
  }
  const v = read.values as Record<string, string | boolean | undefined>;
  const path = v.pairs as string | undefined;
  if (path === undefined || path === '') throw new Error('--pairs is required; see beastmode cache --help');
  const pairs = parsePairs(JSON.parse(await readFile(path, 'utf8')) as unknown);
  const thresholds = String(v.thresholds ?? DEFAULT_THRESHOLDS)
    .split(',')
    .map((t) => numberFlag(t.trim(), '', 'thresholds'));
  const embed = await serverEmbedder(v, pairs);
  const report = evaluatePairs(pairs, {
    ...(embed !== undefined ? { embed } : {}),
    insertFraction: numberFlag(v['insert-fraction'] as string | undefined, '0.5', 'insert-fraction'),
    seed: numberFlag(v.seed as string | undefined, '1', 'seed'),
    thresholds,
    guard: v['no-guard'] !== true,
  });
  process.stdout.write(`${JSON.stringify(report)}\n`);
  return 0;
}
