// The bundled sentence encoder as the gateway meets it: `beastmode embeddings` as its own process, asked for
// one prompt's embedding per request (what the semantic cache and the router send). Sequential latency
// first, then fixed-rate steps (open loop, latency from the intended send) with the server's CPU per text;
// the baseline beside it is the built-in lexical embedder on the same texts in this process. Every step runs
// once and is reported; the machine's load is printed beside the figures.
// Usage: npm run bench:encoder -- [--threads 2] [--rates 10,25,50,75] [--seconds 10]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { embedText } from '../../gateway/src/cache/semantic/embedder.js';
import { ENCODER_MODEL } from '../../gateway/src/embeddings/sentence-encoder.js';
import { freePort } from '../../cluster/control-plane.js';
import { fixedRate, percentile, type Target } from '../lib/loadgen.js';
import { cpuSeconds, machineLoad, start, stopAll, waitFor } from '../lib/processes.js';

const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '2' },
    rates: { type: 'string', default: '10,25,50,75' },
    seconds: { type: 'string', default: '10' },
    data: { type: 'string', default: path.resolve(import.meta.dirname, '../../../shared/data') },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(
    'npm run bench:encoder -- [--threads 2] [--rates 10,25,50,75] [--seconds 10] [--data ../shared/data]\n' +
      'Starts `beastmode embeddings` and measures one-prompt embedding requests: sequential latency, then\n' +
      'fixed-rate steps (p50/p99, errors, server CPU per text), beside the built-in embedder on the same text.\n',
  );
  process.exit(0);
}

const ROOT = path.resolve(import.meta.dirname, '../..');
const seconds = Number(values.seconds);
const rates = values.rates.split(',').map(Number);

/** A prompt of median length from the paraphrase pairs (a typical short question), or a fixed one. */
function typicalPrompt(): string {
  try {
    const pairs = JSON.parse(
      readFileSync(path.join(values.data, 'semantic-cache/gptcache-paraphrase-pairs.json'), 'utf8'),
    ) as { similar: string }[];
    const sorted = pairs.map((p) => p.similar).sort((a, b) => a.length - b.length);
    return sorted[Math.floor(sorted.length / 2)]!;
  } catch {
    return 'How do I combine an IterableDataset with other datasets using interleave_datasets()?';
  }
}

/** The built-in embedder on the same prompt, in this process (warmed, then timed): ms, sorted. */
function lexicalTimes(prompt: string): number[] {
  for (let i = 0; i < 200; i++) embedText(prompt);
  const times: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const s = performance.now();
    embedText(prompt);
    times.push(performance.now() - s);
  }
  return times.sort((a, b) => a - b);
}

/** One request at a time (ten unreported first): ms, sorted. */
async function sequentialTimes(pool: Pool, t: Target): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < 60; i++) {
    const s = performance.now();
    const r = await pool.request({ path: t.path, method: 'POST', headers: t.headers, body: t.body });
    await r.body.text();
    if (r.statusCode !== 200) throw new Error(`embeddings answered ${r.statusCode}`);
    if (i >= 10) times.push(performance.now() - s);
  }
  return times.sort((a, b) => a - b);
}

async function main(): Promise<void> {
  const prompt = typicalPrompt();
  const port = await freePort();
  const server = start(
    'embeddings',
    process.execPath,
    ['--import', 'tsx', 'cli/main.ts', 'embeddings', '--host', '127.0.0.1', '--port', String(port)].concat([
      '--threads',
      values.threads,
      '--log-level',
      'warn',
    ]),
    { cwd: ROOT, env: { NODE_OPTIONS: '' } },
  );
  const origin = `http://127.0.0.1:${port}`;
  await waitFor(`${origin}/readyz`);
  const target: Target = {
    name: 'encoder',
    origin,
    path: '/v1/embeddings',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: ENCODER_MODEL, input: prompt, encoding_format: 'float' }),
  };
  const pool = new Pool(origin, { connections: 256 });
  process.stdout.write(
    `sentence encoder (${ENCODER_MODEL}), ${values.threads} thread(s); one ${prompt.length}-character prompt per request; ${machineLoad()}\n`,
  );

  const lexical = lexicalTimes(prompt);
  const sequential = await sequentialTimes(pool, target);
  const seqP50 = percentile(sequential, 50);
  const lexP50 = percentile(lexical, 50);
  process.stdout.write(
    `  sequential (HTTP, one at a time): p50 ${seqP50.toFixed(1)} ms, p99 ${percentile(sequential, 99).toFixed(1)} ms; ` +
      `built-in embedder p50 ${(lexP50 * 1000).toFixed(0)} µs (encoder ${(seqP50 / lexP50).toFixed(0)}× slower)\n`,
  );
  for (const rate of rates) {
    const cpuBefore = cpuSeconds(server.pid);
    const r = await fixedRate(pool, target, rate, seconds);
    const cpuMs = ((cpuSeconds(server.pid) - cpuBefore) * 1000) / Math.max(1, r.sent);
    process.stdout.write(
      `  ${rate}/s for ${seconds} s: ${r.sent - r.errors}/${r.sent} ok, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, ` +
        `server CPU ${cpuMs.toFixed(1)} ms/text; ${machineLoad()}\n`,
    );
  }
  await pool.close();
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => void stopAll());
