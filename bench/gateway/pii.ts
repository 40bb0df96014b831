// Cost of PII redaction on the request path: walk + detect + redact of a parsed chat body, for short, 2 KB
// and 20 KB prompts with and without PII, beside JSON.parse of the same body (work every request already
// pays) as the baseline. Single-threaded, in process; the machine's load is printed with the figures.
//   npx tsx bench/gateway/pii.ts
import { redactChatRequest } from '../../gateway/src/compliance/chat-request.js';
import type { DetectorPolicy } from '../../gateway/src/compliance/redact.js';
import { machineLoad } from '../lib/processes.js';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(
    'Usage: npx tsx bench/gateway/pii.ts\n\n' +
      'Cost of PII redaction per request (walk, detect, redact a parsed chat body) for short, 2 KB and\n' +
      '20 KB prompts with and without PII, beside JSON.parse of the same body, with the machine load.\n',
  );
  process.exit(0);
}

const POLICY: DetectorPolicy = { default: 'redact' };

const FILLER = [
  'The deployment rolled out to 3 of 5 replicas before the readiness probe started failing.',
  'Here is the stack trace from the worker, line 1024 in scheduler.ts, after upgrading to 4.12.1.',
  'Please summarise the discussion below and list the action items with owners and due dates.',
  'def handler(event): return {"status": 200, "body": json.dumps(event["items"][:10])}',
  'Order 100234567 shipped on 2026-03-14; request id 123e4567-e89b-12d3-a456-426614174000.',
];
const PII = [
  'Contact me at jane.doe@example.com or +44 20 7946 0958 if the refund fails.',
  'The card 4111 1111 1111 1111 was charged twice; IBAN DE89 3704 0044 0532 0130 00 for the refund.',
  'Connection from 10.0.3.17 was refused; the key sk-proj-abcdefghijklmnopqrstuvwx123 is in the env.',
];

/** A prompt of about `bytes` characters; with PII, one sentence in four carries some. */
function prompt(bytes: number, withPii: boolean): string {
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const s = withPii && i % 4 === 1 ? PII[i % PII.length]! : FILLER[i % FILLER.length]!;
    parts.push(s);
    size += s.length + 1;
  }
  return parts.join(' ');
}

function chatBody(bytes: number, withPii: boolean): string {
  const short = bytes < 200;
  return JSON.stringify({
    model: 'gpt-4o',
    stream: true,
    messages: [
      { role: 'system', content: 'You answer customer support questions.' },
      {
        role: 'user',
        content: short
          ? withPii
            ? 'Email jane.doe@example.com the receipt.'
            : 'What is our refund policy?'
          : prompt(bytes, withPii),
      },
    ],
  });
}

/** Mean ns per call over enough iterations to run ~0.5 s, after a warm-up; the best of three rounds. */
function measure(fn: () => unknown): number {
  for (let i = 0; i < 200; i++) fn();
  let n = 1;
  for (;;) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    if (Number(process.hrtime.bigint() - t0) > 50e6) break;
    n *= 2;
  }
  n *= 10;
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / n);
  }
  return best;
}

const fmt = (ns: number): string => (ns >= 1000 ? `${(ns / 1000).toFixed(1)} µs` : `${ns.toFixed(0)} ns`);

console.log(`PII redaction cost per request (${machineLoad()}, node ${process.version})`);
console.log('| body | bytes | JSON.parse | walk+redact | redact per KB | redact / parse |');
console.log('|---|---|---|---|---|---|');
for (const [label, bytes] of [
  ['short', 60],
  ['2 KB', 2048],
  ['20 KB', 20480],
] as const) {
  for (const withPii of [false, true]) {
    const raw = chatBody(bytes, withPii);
    const parsed: unknown = JSON.parse(raw);
    const check = redactChatRequest(parsed, POLICY);
    if (check.kind !== 'redacted' || (withPii && Object.keys(check.counts).length === 0)) {
      throw new Error(`benchmark body ${label} did not redact as expected`);
    }
    const parse = measure(() => JSON.parse(raw));
    const redact = measure(() => redactChatRequest(parsed, POLICY));
    const kb = raw.length / 1024;
    console.log(
      `| ${label} ${withPii ? 'with PII' : 'clean'} | ${raw.length} | ${fmt(parse)} | ${fmt(redact)} | ` +
        `${fmt(redact / kb)} | ${(redact / parse).toFixed(1)}× |`,
    );
  }
}
console.log(`(${machineLoad()} after the run)`);
