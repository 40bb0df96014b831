// `beastmode simulator`: an OpenAI-compatible (or Anthropic Messages) model server with injectable faults,
// for tests, the demo and benchmarks. A development tool: it is not part of the image.
import { z } from 'zod';
import { readValidFlags, type CommandSpec } from '../cli/flags.js';
import { startSimulator } from './simulator.js';

const num = z.coerce.number().min(0).optional();
const Flags = z.object({
  port: z.coerce.number().int().min(0).max(65535).default(9001),
  host: z.string().default('127.0.0.1'),
  model: z.array(z.string().min(1)).default(['sim-model']),
  provider: z.enum(['openai', 'anthropic']).default('openai'),
  'api-key': z.string().optional(),
  'latency-ms': num,
  'jitter-ms': num,
  'ttft-ms': num,
  'token-delay-ms': num,
  'error-rate': z.coerce.number().min(0).max(1).optional(),
  'error-status': z.coerce.number().int().min(400).max(599).optional(),
  'error-code': z.string().optional(),
  'retry-after': num,
  'break-after': z.coerce.number().int().min(0).optional(),
  'drop-rate': z.coerce.number().min(0).max(1).optional(),
  capacity: z.coerce.number().int().min(0).optional(),
});

export const SIMULATOR_COMMAND: CommandSpec = {
  name: 'beastmode simulator',
  usage: '[--port 9001] [--model name …] [fault flags]',
  summary:
    'A simulated model server speaking the OpenAI API (or Anthropic Messages), with faults that can also be\n' +
    'changed at run time (POST /admin/faults). For tests, the demo and benchmarks; never a production backend.',
  flags: {
    port: { value: 'port', default: '9001', help: 'Port to listen on' },
    host: { value: 'addr', default: '127.0.0.1', help: 'Address to listen on' },
    model: { value: 'name', multiple: true, default: 'sim-model', help: 'A model it serves (repeatable)' },
    provider: { value: 'openai|anthropic', default: 'openai', help: 'Wire format' },
    'api-key': { value: 'key', help: 'Require this bearer key' },
    'latency-ms': { value: 'ms', help: 'Delay before answering' },
    'jitter-ms': { value: 'ms', help: 'Random extra delay, up to this' },
    'ttft-ms': { value: 'ms', help: 'Delay before the first streamed chunk' },
    'token-delay-ms': { value: 'ms', help: 'Delay between streamed chunks' },
    'error-rate': { value: '0..1', help: 'Share of requests answered with an error' },
    'error-status': { value: 'code', help: 'Status of those errors (default 500)' },
    'error-code': { value: 'code', help: 'OpenAI error code in them, e.g. insufficient_quota' },
    'retry-after': { value: 's', help: 'Retry-After on 429s' },
    'break-after': { value: 'n', help: 'Break streams after n chunks' },
    'drop-rate': { value: '0..1', help: 'Share of connections dropped without an answer' },
    capacity: { value: 'n', help: 'Serve at most n requests at once; answer the rest 429 model_overloaded' },
  },
};

/** Resolves with an exit code for --help or bad flags, else keeps serving until SIGTERM/SIGINT. */
export async function runSimulator(argv: string[], env: NodeJS.ProcessEnv): Promise<number | undefined> {
  const read = readValidFlags(SIMULATOR_COMMAND, Flags, argv, env);
  if ('exit' in read) return read.exit;
  const f = read.values;
  const sim = await startSimulator({
    port: f.port,
    host: f.host,
    models: f.model,
    provider: f.provider,
    ...(f['api-key'] !== undefined ? { apiKey: f['api-key'] } : {}),
    faults: {
      latencyMs: f['latency-ms'],
      jitterMs: f['jitter-ms'],
      ttftMs: f['ttft-ms'],
      tokenDelayMs: f['token-delay-ms'],
      errorRate: f['error-rate'],
      errorStatus: f['error-status'],
      errorCode: f['error-code'],
      retryAfterSeconds: f['retry-after'],
      breakAfterChunks: f['break-after'],
      capacity: f.capacity,
      dropRate: f['drop-rate'],
    },
  });
  process.stdout.write(
    `${JSON.stringify({ msg: 'Simulator listening', url: sim.url, provider: f.provider })}\n`,
  );
  const stop = () => void sim.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return undefined;
}
