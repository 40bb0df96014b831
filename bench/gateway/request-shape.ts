// What the request-shape check (gateway/src/server/request-shape.ts) costs per request, beside the
// JSON.parse the gateway already does on the same body (the baseline, measured in the same run): a typical
// 3-message chat body and a 50-message conversation with tool calls. Each is timed in rounds of about
// --round-ms after a warm-up (JIT), and the median round is reported; then the heap bytes one check
// allocates: nothing of its own (an error is built only for a refusal), but V8 boxes a number field kept
// as a double (temperature 0.7) when it is read, 16 bytes. The machine's load is printed before and after.
// Usage: npx tsx bench/gateway/request-shape.ts [--rounds 15] [--round-ms 50]
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { requestShapeError } from '../../gateway/src/server/request-shape.js';
import { machineLoad } from '../lib/processes.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '15' },
    'round-ms': { type: 'string', default: '50' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(
    'npx tsx bench/gateway/request-shape.ts [--rounds 15] [--round-ms 50]\n' +
      'ns per request-shape check of a 3- and a 50-message chat body, beside JSON.parse of the same body.\n',
  );
  process.exit(0);
}
const ROUNDS = Number(values.rounds);
const ROUND_NS = Number(values['round-ms']) * 1e6;

type Body = Record<string, unknown>;

const SENTENCE = 'The gateway checks the shape of each request before it spends anything on it. ';
const text = (i: number, sentences: number) => `${i}: ${SENTENCE.repeat(sentences)}`;

const typical: Body = {
  model: 'chat',
  messages: [
    { role: 'system', content: 'You are a helpful assistant. Answer briefly.' },
    { role: 'user', content: text(1, 3) },
    { role: 'assistant', content: text(2, 2) },
  ],
  temperature: 0.7,
  max_tokens: 256,
  stream: true,
  stream_options: { include_usage: true },
  user: 'u-42',
};

/** A long agent conversation: every fifth turn an assistant tool call and the tool's answer. */
function conversation(n: number): Body {
  const messages: Body[] = [{ role: 'system', content: text(0, 4) }];
  for (let i = 1; messages.length < n; i++) {
    if (i % 5 === 0) {
      const id = `call_${i}`;
      messages.push({
        role: 'assistant',
        content: null,
        tool_calls: [{ id, type: 'function', function: { name: 'search', arguments: `{"q":"item ${i}"}` } }],
      });
      if (messages.length < n) messages.push({ role: 'tool', tool_call_id: id, content: text(i, 2) });
    } else {
      messages.push({ role: i % 2 === 1 ? 'user' : 'assistant', content: text(i, 3) });
    }
  }
  return {
    model: 'chat',
    messages,
    tools: [
      { type: 'function', function: { name: 'search', parameters: { type: 'object', properties: {} } } },
    ],
    tool_choice: 'auto',
    temperature: 0.2,
    max_completion_tokens: 1024,
  };
}

/**
 * Median ns per call of `f` over ROUNDS rounds of about ROUND_NS each, after a warm-up that also sizes the
 * rounds; and how many calls returned something (counted, so that no call can be optimised away).
 */
function nsPerCall(f: () => unknown): { ns: number; returned: number } {
  let returned = 0;
  const round = (calls: number) => {
    const t = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) if (f() !== undefined) returned++;
    return Number(process.hrtime.bigint() - t) / calls;
  };
  round(1000);
  const calls = Math.max(100, Math.round(ROUND_NS / round(1000)));
  round(calls);
  const times = Array.from({ length: ROUNDS }, () => round(calls)).sort((a, b) => a - b);
  return { ns: times[Math.floor(times.length / 2)] ?? 0, returned };
}

/** Heap bytes per check: the median growth of heapUsed over batches too small to set off a scavenge. */
function bytesPerCheck(body: Body): number {
  const batch = 2000;
  const growth: number[] = [];
  for (let r = 0; r < 9; r++) {
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < batch; i++)
      if (requestShapeError('chat', body) !== undefined) throw new Error('a valid body was refused');
    growth.push((process.memoryUsage().heapUsed - before) / batch);
  }
  growth.sort((a, b) => a - b);
  return Math.max(0, growth[Math.floor(growth.length / 2)] ?? 0);
}

process.stdout.write(
  `request-shape check: median of ${ROUNDS} rounds of ${values['round-ms']} ms; node ${process.version}, ` +
    `${cpus()[0]?.model ?? 'unknown CPU'}\n${machineLoad()} (before)\n`,
);
for (const [name, body] of [
  ['3-message chat', typical],
  ['50-message chat with tool calls', conversation(50)],
] as const) {
  const raw = JSON.stringify(body);
  // Checked as the gateway checks it: the object JSON.parse made of the bytes.
  const parsed = JSON.parse(raw) as Body;
  const parse = nsPerCall(() => JSON.parse(raw)).ns;
  const { ns: check, returned } = nsPerCall(() => requestShapeError('chat', parsed));
  if (returned > 0) throw new Error(`the check refused the ${name} body`);
  const bytes = bytesPerCheck(parsed);
  process.stdout.write(
    `${name} (${raw.length} bytes): check ${check.toFixed(0)} ns, JSON.parse ${parse.toFixed(0)} ns ` +
      `(check = ${((100 * check) / parse).toFixed(1)}% of parse); heap ${bytes.toFixed(1)} bytes/check\n`,
  );
}
// Where those bytes come from: the same body without its temperature. V8 keeps a number field that has
// held a fraction as a double and boxes it when the check reads it; the check itself builds nothing.
const { temperature: _fraction, ...withoutFraction } = typical;
const unboxed = bytesPerCheck(JSON.parse(JSON.stringify(withoutFraction)) as Body);
process.stdout.write(`3-message chat without temperature: heap ${unboxed.toFixed(1)} bytes/check\n`);
// The refusal path, for scale: it builds the error (message, param path) that the client is sent.
const refused = { model: 'chat', messages: [...(conversation(50).messages as Body[]), { content: 'x' }] };
process.stdout.write(
  `refusing the 51st message of 51: ${nsPerCall(() => requestShapeError('chat', refused)).ns.toFixed(0)} ns\n`,
);
process.stdout.write(`${machineLoad()} (after)\n`);
