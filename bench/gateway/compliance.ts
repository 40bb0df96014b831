// Cost of a route's compliance policy per request, end to end: one gateway in process in front of an
// echoing simulator (the answer repeats the prompt, so a redacted request's answer has placeholders to
// restore), two routes identical but for `compliance` (every detector, hosted: redact, restore on). Requests
// are sent one at a time over keep-alive; each run times the same bodies on both routes in turn, and the
// figure is the median over an odd number of runs of the mean per request, with the machine's load.
//   npx tsx bench/gateway/compliance.ts [--runs 5] [--requests 400]
import { Agent, request } from 'undici';
import type { CompiledRoute } from '../../api/v1alpha1/index.js';
import { createLogger } from '../../gateway/src/log.js';
import { startGateway } from '../../gateway/src/server/gateway.js';
import { startSimulator } from '../../simulator/simulator.js';
import { compiledRoute, gatewayConfig } from '../../testkit/gateway-config.js';
import { complianceFixture } from '../../testkit/policy-fixtures.js';
import { SseRestorer, restoreJsonText } from '../../gateway/src/compliance/answer-restore.js';
import { bodyFor, screenRequest } from '../../gateway/src/compliance/route-policy.js';
import { machineLoad } from '../lib/processes.js';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(
    'Usage: npx tsx bench/gateway/compliance.ts [--runs N] [--requests N]\n\n' +
      'Per-request cost of a compliance route (PII redaction and restore) against the same route without\n' +
      'one, over HTTP through an in-process gateway and echoing simulator; median of N runs (odd), with the\n' +
      'machine load.\n',
  );
  process.exit(0);
}

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  const v = i === -1 ? NaN : Number(process.argv[i + 1]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};
const RUNS = Math.floor(arg('--runs', 5) / 2) * 2 + 1;
const REQUESTS = arg('--requests', 400);

const FILLER =
  'The deployment rolled out to 3 of 5 replicas before the readiness probe started failing. ' +
  'Please summarise the discussion below and list the action items with owners and due dates. ';
const PII =
  'Contact me at jane.doe@example.com or +44 20 7946 0958 if the refund for card 4111 1111 1111 1111 fails. ';

function prompt(bytes: number, withPii: boolean): string {
  let out = '';
  for (let i = 0; out.length < bytes; i++) out += withPii && i % 2 === 1 ? PII : FILLER;
  return out;
}

const CASES = [
  { label: 'short, with PII', content: 'Email jane.doe@example.com the receipt.', stream: false },
  { label: '2 KB, clean', content: prompt(2048, false), stream: false },
  { label: '2 KB, with PII', content: prompt(2048, true), stream: false },
  { label: '2 KB, with PII, streamed', content: prompt(2048, true), stream: true },
];

interface Timing {
  wall: number;
  cpu: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

type Call = (model: string, content: string, stream: boolean) => Promise<string>;

const COMPLIANCE = complianceFixture();

/**
 * CPU time of this process (client, gateway and simulator together) per request, and wall time: on a
 * loaded machine wall time mostly measures waiting for a core, CPU time the work the route adds.
 */
async function timeMean(call: Call, model: string, content: string, stream: boolean): Promise<Timing> {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  for (let i = 0; i < REQUESTS; i++) await call(model, content, stream);
  const cpu = process.cpuUsage(c0);
  return {
    wall: Number(process.hrtime.bigint() - t0) / REQUESTS / 1000,
    cpu: (cpu.user + cpu.system) / REQUESTS,
  };
}

/** One case on both routes, RUNS times, alternating which goes first so drift in load favours neither. */
async function measureCase(call: Call, c: (typeof CASES)[number]): Promise<void> {
  for (let i = 0; i < 50; i++) {
    await call('plain', c.content, c.stream);
    await call('compliance', c.content, c.stream);
  }
  const plain: Timing[] = [];
  const withPolicy: Timing[] = [];
  const added: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const first = r % 2 === 0 ? 'plain' : 'compliance';
    const a = await timeMean(call, first, c.content, c.stream);
    const b = await timeMean(call, first === 'plain' ? 'compliance' : 'plain', c.content, c.stream);
    const [p, q] = first === 'plain' ? [a, b] : [b, a];
    plain.push(p);
    withPolicy.push(q);
    added.push(q.cpu - p.cpu);
  }
  const us = (xs: Timing[], k: keyof Timing) => `${median(xs.map((x) => x[k])).toFixed(0)} µs`;
  console.log(
    `| ${c.label} | ${c.content.length} | ${us(plain, 'cpu')} | ${us(withPolicy, 'cpu')} | ` +
      `${median(added).toFixed(0)} µs (runs: ${added.map((x) => x.toFixed(0)).join(', ')}) | ` +
      `${us(plain, 'wall')} | ${us(withPolicy, 'wall')} |`,
  );
}

async function main(): Promise<void> {
  const sim = await startSimulator({ echo: true });
  const upstream = [{ name: 'hosted', url: `${sim.url}/v1`, class: 'hosted' as const }];
  const config = gatewayConfig([
    compiledRoute('plain', upstream),
    compiledRoute('compliance', upstream, { compliance: COMPLIANCE }),
  ]);
  const gw = await startGateway({ source: { config }, logger: createLogger('error', true) });
  const agent = new Agent({ connections: 1, pipelining: 1 });
  const call: Call = async (model, content, stream) => {
    const r = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content }], stream, max_tokens: 4096 }),
    });
    const text = await r.body.text();
    if (r.statusCode !== 200) throw new Error(`${model}: ${r.statusCode} ${text}`);
    return text;
  };
  // The compliance route must really redact and restore, or the figure measures nothing.
  const check = await call('compliance', PII, false);
  const sent = JSON.stringify(sim.stats().last?.body);
  if (!check.includes('jane.doe@example.com')) throw new Error('no restore');
  if (sent.includes('jane.doe@example.com') || !sent.includes('[EMAIL_1]')) throw new Error('no redaction');
  console.log(`Compliance route cost per request (${machineLoad()}, node ${process.version})`);
  console.log(`${RUNS} runs of ${REQUESTS} sequential requests per case and route; medians of the run means`);
  console.log(
    '| request | bytes | CPU, no compliance | CPU, compliance | CPU added | wall, no compliance | wall, compliance |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const c of CASES) await measureCase(call, c);
  pureParts(COMPLIANCE);
  console.log(`(${machineLoad()} after the run)`);
  await agent.close();
  await gw.close(1000);
  await sim.close();
}

/** Mean µs per call of `fn` over `n` calls after a warm-up; the median of RUNS such means. */
function micro(n: number, fn: () => unknown): number {
  for (let i = 0; i < 100; i++) fn();
  const means: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    means.push(Number(process.hrtime.bigint() - t0) / n / 1000);
  }
  return median(means);
}

/** The stage's own work on the 2 KB body with PII, in isolation: screening, JSON restore, stream restore. */
function pureParts(compliance: NonNullable<CompiledRoute['compliance']>): void {
  const body = { model: 'm', messages: [{ role: 'user', content: prompt(2048, true) }] };
  const backend = {
    name: 'hosted',
    variant: 'stable' as const,
    provider: 'openai' as const,
    url: 'https://api.example.com/v1',
    model: 'm',
    pricing: { inputPerMillionTokens: 0, outputPerMillionTokens: 0 },
    weight: 1,
    class: 'hosted' as const,
  };
  const sent = bodyFor(screenRequest(compliance, 'chat', body, [backend]).pass, backend);
  if (sent === undefined || sent.redactions === 0) throw new Error('no redaction');
  const answer = (sent.body.messages as { content: string }[])[0]?.content ?? '';
  const json = JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content: answer } }] });
  // About four characters a chunk, as a model streams.
  const chunks: string[] = [];
  for (let i = 0; i < answer.length; i += 4)
    chunks.push(
      JSON.stringify({
        choices: [{ index: 0, delta: { content: answer.slice(i, i + 4) }, finish_reason: null }],
      }),
    );
  const screen = micro(200, () => screenRequest(compliance, 'chat', body, [backend]));
  const restoreJson = micro(2000, () => restoreJsonText(json, sent.restore));
  const restoreStream = micro(100, () => {
    const r = new SseRestorer(sent.restore);
    for (const c of chunks) r.push([c]);
    r.end();
  });
  console.log(
    `\nIn isolation, 2 KB with PII (${sent.redactions} values; an answer of ${chunks.length} chunks), median of ${RUNS}:`,
  );
  console.log(`| screening (redact) | restore JSON answer | restore streamed answer |`);
  console.log('|---|---|---|');
  console.log(`| ${screen.toFixed(1)} µs | ${restoreJson.toFixed(1)} µs | ${restoreStream.toFixed(1)} µs |`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
