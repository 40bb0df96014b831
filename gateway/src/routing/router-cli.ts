// `beastmode router train | eval`: trains the quality/cost router on rows of the RouteLLM format and
// evaluates a model file on any such rows, printing JSON (see router-eval.ts for its fields).
import { readFileSync, writeFileSync } from 'node:fs';
import { readFlags, type CommandSpec } from '../../../cli/flags.js';
import { bundledDomainModel, classifyDomain, loadDomainModel } from './domain-model.js';
import { DEFAULT_DOMAIN_TRAIN, evaluateDomains, parseDomainRows, trainDomains } from './domain-train.js';
import { cleanRows, parseRows } from './router-data.js';
import { DEFAULT_PRICE_RATIO, evaluateScored } from './router-eval.js';
import { bundledRouterModel, loadRouterModel, thresholdFor, weakSuffices } from './router-model.js';
import { replayRows } from './router-replay.js';
import { embedAll } from './embeddings-client.js';
import {
  EMBEDDING_ROUTER_KIND,
  loadEmbeddingRouterModel,
  weakSufficesFromEmbedding,
} from './router-embeddings.js';
import { DEFAULT_EMBEDDING_TRAIN, DEFAULT_TRAIN, trainEmbeddingRouter, trainRouter } from './router-train.js';

export const ROUTER_COMMAND: CommandSpec = {
  name: 'beastmode router',
  usage:
    'train --data rows.jsonl --out model.json [--embeddings-url URL --embeddings-model name] |\n' +
    '       eval --model model.json --data rows.jsonl [--embeddings-url URL] |\n' +
    '       replay [--model model.json] --data rows.jsonl [--feedback-rate 0.2] |\n' +
    '       train-domains --data labelled.jsonl --out domains.json | eval-domains [--model domains.json] --data labelled.jsonl |\n' +
    '       state --gateway URL [--route namespace/name] | reset --gateway URL --route namespace/name',
  summary:
    'train          fit the quality/cost router on rows {"benchmark","subject","prompt","weak_correct","strong_correct"}\n' +
    '               (misgraded subjects dropped; one subject in four held out to calibrate the threshold); with\n' +
    "               --embeddings-url, on the prompts' embeddings from that OpenAI-compatible API instead of the\n" +
    '               built-in features (for qualityCost.embeddings)\n' +
    'eval           per benchmark: weak share, quality kept and cost saved at the threshold for --quality, with\n' +
    '               bootstrap 95% intervals, the quality/cost curve, and random and oracle routing on the same rows\n' +
    'replay         the rows as a stream of requests: the static router beside the learning router, which is told\n' +
    "               only the chosen backend's outcome, for a --feedback-rate share of the rows; figures over the\n" +
    '               second half (the bundled model unless --model)\n' +
    'train-domains  fit the domain classifier on rows {"domain","prompt"}\n' +
    'eval-domains   accuracy, per-domain recall and precision, and confusions (the bundled classifier unless --model)\n' +
    "state          a gateway's learning routers: every route's summary, or one route's cells\n" +
    "reset          forget what a route's learning router learnt, in every replica (from inside the pod:\n" +
    '               kubectl port-forward pod/<gateway pod> 8080, then --gateway http://127.0.0.1:8080)',
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
    'feedback-rate': {
      value: '0..1',
      default: '0.2',
      help: 'replay: the share of requests whose outcome the learning router is told',
    },
    seed: { value: 'n', default: '1', help: 'replay: the seed of the stream order and the learner' },
    gateway: { value: 'URL', help: 'state, reset: the gateway (its HTTP port)' },
    route: { value: 'namespace/name', help: 'state, reset: the ModelRoute' },
    version: {
      value: 'name',
      help: `train: the version written in the model (default ${DEFAULT_TRAIN.version}, on embeddings ${DEFAULT_EMBEDDING_TRAIN.version})`,
    },
    'embeddings-url': {
      value: 'URL',
      help: 'train, eval: base URL of an OpenAI-compatible embeddings API (POST <URL>/embeddings)',
    },
    'embeddings-model': { value: 'name', help: 'train: the embedding model asked for' },
    dimensions: {
      value: 'n',
      help: 'train, eval: the dimensions asked of the embedding model, if it takes them',
    },
  },
};

const need = (v: string | undefined, flag: string): string => {
  if (v === undefined || v === '') throw new Error(`--${flag} is required; see beastmode router --help`);
  return v;
};

type Values = Record<string, string | undefined>;
const out = (json: unknown): number => {
  process.stdout.write(`${JSON.stringify(json)}\n`);
  return 0;
};
const rowsOf = (v: Values) => parseRows(readFileSync(need(v.data, 'data'), 'utf8'));
const routerModelOf = (path: string | undefined) =>
  path === undefined
    ? bundledRouterModel()
    : loadRouterModel(JSON.parse(readFileSync(path, 'utf8')) as unknown);

/** GET or POST an /admin/router path of a gateway; prints the JSON answer, exit 1 on an error status. */
async function admin(v: Values, path: string, method: 'GET' | 'POST'): Promise<number> {
  const base = need(v.gateway, 'gateway').replace(/\/+$/, '');
  const res = await fetch(`${base}/admin/router${path}`, { method });
  const text = await res.text();
  (res.ok ? process.stdout : process.stderr).write(`${text.trim()}\n`);
  return res.ok ? 0 : 1;
}

/** The rows' prompts and their embeddings from --embeddings-url (progress on stderr). */
async function embeddedRows(v: Values, model: string, dimensions: number | undefined) {
  const { rows, dropped } = cleanRows(rowsOf(v));
  const prompts = [...new Set(rows.map((r) => r.prompt))];
  const endpoint = { url: need(v['embeddings-url'], 'embeddings-url'), model, dimensions };
  let shown = 0;
  const vectors = await embedAll(endpoint, prompts, {
    progress: (done) => {
      if (done - shown < 2000 && done < prompts.length) return;
      shown = done;
      process.stderr.write(`embedded ${done}/${prompts.length} prompts\n`);
    },
  });
  const byPrompt = new Map(prompts.map((p, i) => [p, vectors[i] as number[]]));
  return { rows, dropped, vectorOf: (prompt: string) => byPrompt.get(prompt) ?? [] };
}

async function trainOnEmbeddings(v: Values): Promise<number> {
  const embeddingModel = need(v['embeddings-model'], 'embeddings-model');
  const asked = v.dimensions === undefined ? undefined : Number(v.dimensions);
  const { rows, dropped, vectorOf } = await embeddedRows(v, embeddingModel, asked);
  const dimensions = vectorOf(rows[0]?.prompt ?? '').length;
  const o = { ...DEFAULT_EMBEDDING_TRAIN, version: v.version ?? DEFAULT_EMBEDDING_TRAIN.version };
  const t = trainEmbeddingRouter(rows, vectorOf, { embeddingModel, dimensions }, o);
  writeFileSync(need(v.out, 'out'), `${JSON.stringify(t.model)}\n`);
  const { fitRows, calibrationRows } = t;
  return out({
    out: v.out,
    version: t.model.version,
    embeddingModel,
    dimensions,
    fitRows,
    calibrationRows,
    dropped,
  });
}

async function evalOnEmbeddings(v: Values, json: unknown): Promise<number> {
  const model = loadEmbeddingRouterModel(json);
  const threshold = thresholdFor(model, Number(v.quality ?? 0.95));
  const { rows, dropped, vectorOf } = await embeddedRows(
    v,
    model.embeddingModel,
    v.dimensions === undefined ? undefined : Number(v.dimensions),
  );
  const scored = rows.map((row) => ({
    row,
    p: weakSufficesFromEmbedding(model, vectorOf(row.prompt)),
    threshold,
  }));
  const report = evaluateScored(scored, Number(v['price-ratio'] ?? DEFAULT_PRICE_RATIO));
  return out({ model: model.version, embeddingModel: model.embeddingModel, threshold, dropped, ...report });
}

const SUBCOMMANDS: Record<string, (v: Values) => number | Promise<number>> = {
  state: (v) => admin(v, v.route === undefined ? '' : `/${v.route}`, 'GET'),
  reset: (v) => admin(v, `/${need(v.route, 'route')}/reset`, 'POST'),
  train: (v) => {
    if (v['embeddings-url'] !== undefined) return trainOnEmbeddings(v);
    const t = trainRouter(rowsOf(v), { ...DEFAULT_TRAIN, version: v.version ?? DEFAULT_TRAIN.version });
    writeFileSync(need(v.out, 'out'), `${JSON.stringify(t.model)}\n`);
    const { fitRows, calibrationRows, dropped } = t;
    const { version, weights } = t.model;
    return out({ out: v.out, version, fitRows, calibrationRows, dropped, weights: weights.length });
  },
  eval: (v) => {
    const json = JSON.parse(readFileSync(need(v.model, 'model'), 'utf8')) as { kind?: unknown };
    if (json.kind === EMBEDDING_ROUTER_KIND) return evalOnEmbeddings(v, json);
    const model = loadRouterModel(json);
    const threshold = thresholdFor(model, Number(v.quality ?? 0.95));
    const { rows, dropped } = cleanRows(rowsOf(v));
    const scored = rows.map((row) => ({ row, p: weakSuffices(model, row.prompt), threshold }));
    const report = evaluateScored(scored, Number(v['price-ratio'] ?? DEFAULT_PRICE_RATIO));
    return out({ model: model.version, threshold, dropped, ...report });
  },
  replay: (v) => {
    const model = routerModelOf(v.model);
    const domains = bundledDomainModel();
    const { rows, dropped } = cleanRows(rowsOf(v));
    const { cells, ...figures } = replayRows(rows, model, {
      targetQuality: Number(v.quality ?? 0.95),
      feedbackRate: Number(v['feedback-rate'] ?? 0.2),
      seed: Number(v.seed ?? 1),
      clusterOf: (prompt) => classifyDomain(domains, prompt).domain,
    });
    return out({ model: model.version, domains: domains.version, dropped, ...figures, cells });
  },
  'train-domains': (v) => {
    const labelled = parseDomainRows(readFileSync(need(v.data, 'data'), 'utf8'));
    const model = trainDomains(labelled, { ...DEFAULT_DOMAIN_TRAIN, version: v.version ?? 'v1' });
    writeFileSync(need(v.out, 'out'), `${JSON.stringify(model)}\n`);
    return out({ out: v.out, version: model.version, rows: labelled.length });
  },
  'eval-domains': (v) => {
    const model =
      v.model === undefined
        ? bundledDomainModel()
        : loadDomainModel(JSON.parse(readFileSync(v.model, 'utf8')) as unknown);
    const labelled = parseDomainRows(readFileSync(need(v.data, 'data'), 'utf8'));
    return out({ model: model.version, ...evaluateDomains(model, labelled) });
  },
};

export async function runRouter(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return router(argv, env);
}

function router(argv: string[], env: NodeJS.ProcessEnv): number | Promise<number> {
  const read = readFlags(ROUTER_COMMAND, argv, env);
  if (read.kind === 'help') {
    process.stdout.write(read.text);
    return 0;
  }
  if (read.kind === 'error') {
    process.stderr.write(`${read.message}\n`);
    return 2;
  }
  const run = SUBCOMMANDS[read.positionals[0] ?? ''];
  if (run === undefined) {
    process.stderr.write(
      `beastmode router: name one of ${Object.keys(SUBCOMMANDS).join(', ')}; see --help\n`,
    );
    return 2;
  }
  return run(read.values as Values);
}
