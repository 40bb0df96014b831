// `beastmode router train | eval`: trains the quality/cost router on rows of the RouteLLM format and
// evaluates a model file on any such rows, printing JSON (see router-eval.ts for its fields).
import { readFileSync, writeFileSync } from 'node:fs';
import { readFlags, type CommandSpec } from '../../../cli/flags.js';
import { cleanRows, parseRows } from './router-data.js';
import { DEFAULT_PRICE_RATIO, evaluateScored } from './router-eval.js';
import { loadRouterModel, thresholdFor, weakSuffices } from './router-model.js';
import { DEFAULT_TRAIN, trainRouter } from './router-train.js';

export const ROUTER_COMMAND: CommandSpec = {
  name: 'beastmode router',
  usage: 'train --data rows.jsonl --out model.json | eval --model model.json --data rows.jsonl',
  summary:
    'train  fit the quality/cost router on rows {"benchmark","subject","prompt","weak_correct","strong_correct"}\n' +
    '       (misgraded subjects dropped; one subject in four held out to calibrate the threshold)\n' +
    'eval   per benchmark: weak share, quality kept and cost saved at the threshold for --quality, with\n' +
    '       bootstrap 95% intervals, the quality/cost curve, and random and oracle routing on the same rows',
  flags: {
    data: { value: 'path', help: 'Rows, one JSON object a line' },
    out: { value: 'path', help: 'train: where to write the model file' },
    model: { value: 'path', help: 'eval: the model file' },
    quality: {
      value: '0..1',
      default: '0.95',
      help: "eval: the quality kept the threshold aims at (of strong's)",
    },
    'price-ratio': {
      value: 'x',
      default: DEFAULT_PRICE_RATIO.toFixed(1),
      help: 'eval: strong over weak price per token (RouteLLM: GPT-4 24.7 / Mixtral 0.24 USD per M)',
    },
    version: {
      value: 'name',
      default: DEFAULT_TRAIN.version,
      help: 'train: the version written in the model',
    },
  },
};

const need = (v: string | undefined, flag: string): string => {
  if (v === undefined || v === '') throw new Error(`--${flag} is required; see beastmode router --help`);
  return v;
};

/** The command; its work is synchronous (files and arithmetic), the launcher expects a promise. */
export function runRouter(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return Promise.resolve(router(argv, env));
}

function router(argv: string[], env: NodeJS.ProcessEnv): number {
  const read = readFlags(ROUTER_COMMAND, argv, env);
  if (read.kind === 'help') {
    process.stdout.write(read.text);
    return 0;
  }
  if (read.kind === 'error') {
    process.stderr.write(`${read.message}\n`);
    return 2;
  }
  const v = read.values as Record<string, string | undefined>;
  const rows = () => parseRows(readFileSync(need(v.data, 'data'), 'utf8'));
  switch (read.positionals[0]) {
    case 'train': {
      const t = trainRouter(rows(), { ...DEFAULT_TRAIN, version: v.version ?? DEFAULT_TRAIN.version });
      writeFileSync(need(v.out, 'out'), `${JSON.stringify(t.model)}\n`);
      process.stdout.write(
        `${JSON.stringify({ out: v.out, version: t.model.version, fitRows: t.fitRows, calibrationRows: t.calibrationRows, dropped: t.dropped, weights: t.model.weights.length })}\n`,
      );
      return 0;
    }
    case 'eval': {
      const model = loadRouterModel(JSON.parse(readFileSync(need(v.model, 'model'), 'utf8')) as unknown);
      const threshold = thresholdFor(model, Number(v.quality ?? 0.95));
      const { rows: kept, dropped } = cleanRows(rows());
      const scored = kept.map((row) => ({ row, p: weakSuffices(model, row.prompt), threshold }));
      const report = evaluateScored(scored, Number(v['price-ratio'] ?? DEFAULT_PRICE_RATIO));
      process.stdout.write(`${JSON.stringify({ model: model.version, threshold, dropped, ...report })}\n`);
      return 0;
    }
    default:
      process.stderr.write(`beastmode router: name train or eval; see beastmode router --help\n`);
      return 2;
  }
}
