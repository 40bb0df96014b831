// Command line for the simulator: npm run simulator -- --port 9001 --model gpt-4o [--provider anthropic]
// [--latency-ms 20 --jitter-ms 5 --ttft-ms 50 --token-delay-ms 10 --error-rate 0.1 --error-status 429
//  --retry-after 2 --error-code insufficient_quota --break-after 3 --drop-rate 0.05 --api-key KEY]
import { parseArgs } from 'node:util';
import { z } from 'zod';
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
});

const str = { type: 'string' } as const;
const { values } = parseArgs({
  options: {
    port: str,
    host: str,
    model: { type: 'string', multiple: true },
    provider: str,
    'api-key': str,
    'latency-ms': str,
    'jitter-ms': str,
    'ttft-ms': str,
    'token-delay-ms': str,
    'error-rate': str,
    'error-status': str,
    'error-code': str,
    'retry-after': str,
    'break-after': str,
    'drop-rate': str,
  },
});
const parsed = Flags.safeParse(values);
if (!parsed.success) {
  process.stderr.write(`invalid flags: ${z.prettifyError(parsed.error)}\n`);
  process.exit(2);
}
const f = parsed.data;
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
    dropRate: f['drop-rate'],
  },
});
process.stdout.write(
  `${JSON.stringify({ msg: 'Simulator listening', url: sim.url, provider: f.provider })}\n`,
);
const stop = () => void sim.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
