// Tool calls on a route with a PII policy, over real HTTP: the official openai client talks to a gateway in
// front of a simulator that echoes the prompt and, when the request offers tools, answers with a call to the
// first whose arguments carry the echoed prompt (streamed in three-character fragments). Values inside
// tool-call arguments and tool results of the request are redacted; placeholders inside the arguments of
// the answer, whole or streamed, are restored.
import OpenAI from 'openai';
import { startSimulator, type Simulator } from '../../../simulator/simulator.js';
import { compiledRoute } from '../../../testkit/gateway-config.js';
import { complianceFixture } from '../../../testkit/policy-fixtures.js';
import { startPolicyGateway, type PolicyGateway } from '../../../testkit/policy-http.js';

const EMAIL = 'jane.doe@example.com';
const PHONE = '+44 20 7946 0958';
const CARD = '4111 1111 1111 1111';
const PROMPT = `Send the receipt for card ${CARD} to ${EMAIL}.`;

const TOOLS: OpenAI.ChatCompletionTool[] = [
  {
    type: 'function',
    function: {
      name: 'send_email',
      parameters: { type: 'object', properties: { text: { type: 'string' } } },
    },
  },
];

let sim: Simulator;
let gw: PolicyGateway;
let client: OpenAI;

beforeAll(async () => {
  sim = await startSimulator({ echo: true, toolCalls: true });
  const hosted = [{ name: 'hosted', url: `${sim.url}/v1`, class: 'hosted' as const }];
  gw = await startPolicyGateway({
    routes: [
      compiledRoute('redact', hosted, { compliance: complianceFixture() }),
      compiledRoute('keep-placeholders', hosted, { compliance: complianceFixture({ restore: false }) }),
    ],
  });
  client = gw.client('unused');
});

afterAll(async () => {
  await gw?.close();
  await sim?.close();
});

type ToolCall = { id: string; function: { name: string; arguments: string } };
type Sent = { messages: { role: string; content?: string; tool_calls?: ToolCall[] }[] };
const sent = (): Sent => sim.stats().last?.body as Sent;

/** The arguments of the answer's first tool call, whole or put together from a stream. */
async function calledWith(model: string, stream: boolean): Promise<string> {
  const messages = [{ role: 'user' as const, content: PROMPT }];
  if (!stream) {
    const r = await client.chat.completions.create({ model, messages, tools: TOOLS });
    expect(r.choices[0]?.finish_reason).toBe('tool_calls');
    const call = r.choices[0]?.message.tool_calls?.[0];
    return call?.type === 'function' ? call.function.arguments : '';
  }
  const s = await client.chat.completions.create({ model, messages, tools: TOOLS, stream: true });
  let args = '';
  let fragments = 0;
  for await (const c of s)
    for (const call of c.choices[0]?.delta.tool_calls ?? []) {
      args += call.function?.arguments ?? '';
      fragments++;
    }
  expect(fragments).toBeGreaterThan(10);
  return args;
}

describe('tool calls in requests', () => {
  test('values inside tool-call arguments and tool results are redacted with the placeholders of the text', async () => {
    const args = JSON.stringify({ to: EMAIL, card: CARD, note: `Pay by card.\n${EMAIL}\t"${PHONE}"` });
    await client.chat.completions.create({
      model: 'redact',
      messages: [
        { role: 'user', content: `Pay with my card and mail ${EMAIL}.` },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'pay', arguments: args } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: `Paid; the bank will call ${PHONE}.` },
      ],
    });
    const [user, assistant, tool] = sent().messages;
    expect(user?.content).toBe('Pay with my card and mail [EMAIL_1].');
    const redacted = assistant?.tool_calls?.[0]?.function.arguments ?? '';
    expect(JSON.parse(redacted)).toEqual({
      to: '[EMAIL_1]',
      card: '[CARD_1]',
      note: 'Pay by card.\n[EMAIL_1]\t"[PHONE_1]"',
    });
    expect(assistant?.tool_calls?.[0]).toMatchObject({ id: 'call_1', function: { name: 'pay' } });
    expect(tool?.content).toBe('Paid; the bank will call [PHONE_1].');
    expect(JSON.stringify(sent())).not.toMatch(/jane\.doe|4111|7946/);
  });
});

describe('tool calls in answers', () => {
  test.each([false, true])(
    'placeholders in the arguments are restored for the client (stream %s)',
    async (stream) => {
      const args = await calledWith('redact', stream);
      expect(sent().messages[0]?.content).toBe('Send the receipt for card [CARD_1] to [EMAIL_1].');
      expect(JSON.parse(args)).toEqual({ text: PROMPT });
    },
  );

  test.each([false, true])(
    'without restore the arguments keep the placeholders (stream %s)',
    async (stream) => {
      const args = await calledWith('keep-placeholders', stream);
      expect(JSON.parse(args)).toEqual({ text: 'Send the receipt for card [CARD_1] to [EMAIL_1].' });
    },
  );
});
