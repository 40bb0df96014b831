// `beastmode embeddings`: the bundled sentence encoder behind an OpenAI-compatible /v1/embeddings, to run in
// the cluster (the chart's `embeddings.enabled`) for the semantic cache and the learned router. SIGTERM
// stops accepting and finishes what is queued.
import { z } from 'zod';
import { readValidFlags, type CommandSpec } from '../../../cli/flags.js';
import { createLogger } from '../log.js';
import { ENCODER_DIMENSIONS, ENCODER_MODEL, DEFAULT_BATCH } from './sentence-encoder.js';
import { startEmbeddingsServer } from './server.js';

const Flags = z.object({
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  host: z.string().min(1).default('0.0.0.0'),
  threads: z.coerce.number().int().min(1).max(64).default(1),
  'max-queue': z.coerce.number().int().min(1).default(1024),
  batch: z.coerce.number().int().min(1).max(64).default(DEFAULT_BATCH),
  'log-level': z.enum(['error', 'warn', 'info', 'debug']).default('info'),
});

export const EMBEDDINGS_COMMAND: CommandSpec = {
  name: 'beastmode embeddings',
  usage: '[--port 8080] [--threads n] [flags]',
  summary:
    `An OpenAI-compatible embeddings server (POST /v1/embeddings, model "${ENCODER_MODEL}", ${ENCODER_DIMENSIONS}\n` +
    'dimensions) on a pretrained sentence encoder shipped with Beast Mode: nothing is downloaded. Point\n' +
    'cache.semantic.embeddings or selection.qualityCost.embeddings of a ModelRoute at it. About 20 ms of one\n' +
    'core per text; give it one thread per core of its CPU limit.',
  flags: {
    port: { value: 'port', env: 'BEASTMODE_EMBEDDINGS_PORT', default: '8080', help: 'Port to listen on' },
    host: {
      value: 'addr',
      env: 'BEASTMODE_EMBEDDINGS_HOST',
      default: '0.0.0.0',
      help: 'Address to listen on',
    },
    threads: {
      value: 'n',
      env: 'BEASTMODE_EMBEDDINGS_THREADS',
      default: '1',
      help: 'Encoder threads, each with its own copy of the model (about 100 MiB)',
    },
    'max-queue': {
      value: 'n',
      env: 'BEASTMODE_EMBEDDINGS_MAX_QUEUE',
      default: '1024',
      help: 'Texts waiting at most; a request that would pass it gets 503 overloaded at once',
    },
    batch: {
      value: 'n',
      default: String(DEFAULT_BATCH),
      help: 'Texts a thread embeds at once (larger batches pad every text to the longest)',
    },
    'log-level': {
      value: 'level',
      env: 'BEASTMODE_LOG_LEVEL',
      default: 'info',
      help: 'error, warn, info or debug',
    },
  },
  notes: 'Also serves GET /v1/models, /healthz, /readyz (the model loaded) and /metrics.',
};

/** Resolves with an exit code for --help or bad flags, else keeps serving until SIGTERM/SIGINT. */
export async function runEmbeddings(argv: string[], env: NodeJS.ProcessEnv): Promise<number | undefined> {
  const read = readValidFlags(EMBEDDINGS_COMMAND, Flags, argv, env);
  if ('exit' in read) return read.exit;
  const f = read.values;
  const log = createLogger(f['log-level']);
  const server = await startEmbeddingsServer({
    port: f.port,
    host: f.host,
    threads: f.threads,
    maxQueue: f['max-queue'],
    batch: f.batch,
    log,
  });
  log.log('info', 'Embeddings server listening', {
    component: 'embeddings',
    url: server.url,
    model: ENCODER_MODEL,
  });
  const stop = () =>
    void server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return undefined;
}
