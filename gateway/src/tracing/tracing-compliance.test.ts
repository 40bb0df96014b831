// Captured prompts on a route with a PII policy, over real HTTP: the official openai client calls a gateway
// in front of an echoing simulator (its answer repeats the prompt, so the client's restored answer carries
// the values again), and a local OTLP receiver collects the exported spans. No raw value may reach them,
// whatever the per-class action: only placeholders.
import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import { finishGatewayConfig } from '../../../api/v1alpha1/index.js';
import { compiledRoute, gatewayConfig } from '../../../testkit/gateway-config.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../../../testkit/otlp-receiver.js';
import { complianceFixture } from '../../../testkit/policy-fixtures.js';
import { silent, TestServers } from '../../../testkit/http-servers.js';
import { startGateway, type Gateway } from '../server/gateway.js';

const EMAIL = 'jane.doe@example.com';
const CARD = '4111 1111 1111 1111';
const PROMPT = `Charge ${CARD} and send the receipt to ${EMAIL}.`;
const SERVER = 2;

const servers = new TestServers();
let receiver: OtlpReceiver;
let gw: Gateway;
let client: OpenAI;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  const sim = await servers.sim({ echo: true });
  const hosted = { name: 'hosted', url: `${sim.url}/v1`, class: 'hosted' as const };
  const inCluster = { name: 'vllm', url: `${sim.url}/v1`, class: 'in-cluster' as const };
  const tracing = { capturePrompts: true as const };
  const routes = [
    compiledRoute('redacting', [hosted], { tracing, compliance: complianceFixture() }),
    // Every class allows the values: the upstream sees them, the trace still must not.
    compiledRoute('allowing', [inCluster], {
      tracing,
      compliance: complianceFixture({ inCluster: 'allow' }),
    }),
    compiledRoute('blocking', [hosted], {
      tracing,
      compliance: complianceFixture({ hosted: 'block', detectors: ['card', 'email'] }),
    }),
    compiledRoute('plain', [hosted], { tracing }),
  ];
  const { revision: _r, apiVersion: _v, kind: _k, ...draft } = gatewayConfig(routes);
  const tracingConfig = { endpoint: receiver.url, sampleRatio: 1, serviceName: 'gateway' };
  gw = servers.adopt(
    await startGateway({
      source: { config: finishGatewayConfig({ ...draft, tracing: tracingConfig }) },
      logger: silent,
      random: () => 0,
      tracing: { exporter: { intervalMs: 20, timeoutMs: 1000 }, pod: { namespace: 'llm', name: 'gw-0' } },
    }),
  );
  client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});

afterAll(async () => {
  await servers.close();
  await receiver?.close();
});

/** Sends the prompt (streamed or not) and returns the request's exported SERVER span and the answer. */
async function traced(model: string, stream = false): Promise<{ span: ReceivedSpan; answer: string }> {
  const id = randomUUID();
  const messages = [{ role: 'user' as const, content: PROMPT }];
  const headers = { headers: { 'x-request-id': id } };
  let answer = '';
  if (stream) {
    const s = await client.chat.completions.create({ model, messages, stream: true }, headers);
    for await (const c of s) answer += c.choices[0]?.delta.content ?? '';
  } else {
    const r: OpenAI.ChatCompletion | Error = await client.chat.completions
      .create({ model, messages }, headers)
      .catch((e: Error) => e);
    answer = r instanceof Error ? r.message : (r.choices[0]?.message.content ?? '');
  }
  const mine = (all: ReceivedSpan[]) =>
    all.filter((s) => s.attributes['beastmode.request_id'] === id && s.kind === SERVER);
  const span = mine(await receiver.waitFor((all) => mine(all).length === 1))[0] as ReceivedSpan;
  return { span, answer };
}

/** Every span exported so far, as one text: what a trace backend would hold. */
const exported = (): string => JSON.stringify(receiver.spans.map((s) => s.attributes));

describe('captured prompts on a route with a PII policy', () => {
  test.each([false, true])(
    'record placeholders, never the values, in the prompt and the restored answer (stream %s)',
    async (stream) => {
      const { span, answer } = await traced('redacting', stream);
      expect(answer).toContain(EMAIL); // the client's answer is restored
      const input = String(span.attributes['gen_ai.input.messages']);
      const output = String(span.attributes['gen_ai.output.messages']);
      expect(input).toContain('[CARD_1]');
      expect(input).toContain('[EMAIL_1]');
      // The same value keeps its placeholder in the answer the client got restored.
      expect(output).toContain('[EMAIL_1]');
      expect(output).toContain('[CARD_1]');
      for (const text of [input, output, exported()]) {
        expect(text).not.toContain(EMAIL);
        expect(text).not.toContain(CARD);
      }
    },
  );

  test('redact every named detector even where each class allows it', async () => {
    const { span, answer } = await traced('allowing');
    expect(answer).toContain(EMAIL); // the in-cluster upstream saw the value
    const input = String(span.attributes['gen_ai.input.messages']);
    expect(input).toContain('[EMAIL_1]');
    expect(exported()).not.toContain(EMAIL);
    expect(exported()).not.toContain(CARD);
  });

  test('redact a blocked request too', async () => {
    const { span, answer } = await traced('blocking');
    expect(answer).toMatch(/^400 .*detectors: card, email/);
    expect(String(span.attributes['gen_ai.input.messages'])).toContain('[CARD_1]');
    expect(exported()).not.toContain(CARD);
  });

  test('record the prompt as written on a route without a PII policy', async () => {
    const { span } = await traced('plain');
    expect(String(span.attributes['gen_ai.input.messages'])).toContain(EMAIL);
  });
});
