import { GatewayMetrics } from '../server/metrics.js';
import { CostMetrics } from './cost-metrics.js';
import { costUsd, countTextTokens, estimatePromptTokens, maxOutputTokens } from './tokens.js';
import { StreamUsageCounter, usageOfBody } from './usage.js';

const chunk = (content: string, usage?: object) =>
  `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content } }], ...(usage ? { usage } : {}) })}\n\n`;

describe('token estimates', () => {
  it('counts prompt tokens of messages, tools and special-token text without throwing', () => {
    const small = estimatePromptTokens({ messages: [{ role: 'user', content: 'hello' }] });
    const big = estimatePromptTokens({
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hello <|endoftext|> world' }] }],
      tools: [{ type: 'function', function: { name: 'lookup', parameters: {} } }],
    });
    expect(small).toBeGreaterThan(countTextTokens('hello'));
    expect(big).toBeGreaterThan(small + 5);
  });

  it('bounds output by max_completion_tokens, max_tokens or the default, times n', () => {
    expect(maxOutputTokens({ max_tokens: 100 }, 4096)).toBe(100);
    expect(maxOutputTokens({ max_completion_tokens: 50, max_tokens: 100 }, 4096)).toBe(50);
    expect(maxOutputTokens({ n: 3 }, 4096)).toBe(3 * 4096);
  });

  it('prices usage per million tokens', () => {
    expect(
      costUsd(
        { input: 1_000_000, output: 500_000 },
        { inputPerMillionTokens: 2.5, outputPerMillionTokens: 10 },
      ),
    ).toBe(7.5);
  });
});

describe('usage', () => {
  it('takes reported usage from a body, else counts its choices', () => {
    expect(usageOfBody({ usage: { prompt_tokens: 3, completion_tokens: 4 } }, 99)).toEqual({
      input: 3,
      output: 4,
    });
    const counted = usageOfBody({ choices: [{ message: { content: 'one two three' } }] }, 12);
    expect(counted).toEqual({ input: 12, output: countTextTokens('one two three') });
  });

  it('uses the usage chunk of a stream when there is one', () => {
    const m = new StreamUsageCounter(50);
    m.push(chunk('Hello'));
    m.push(
      `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 7, completion_tokens: 2 } })}\n\ndata: [DONE]\n\n`,
    );
    expect(m.usage()).toEqual({ input: 7, output: 2 });
  });

  it('bills the delivered tokens of a stream without usage, including an aborted one', () => {
    const m = new StreamUsageCounter(50);
    const bytes = Buffer.from(chunk('Hello wonderful') + chunk(' world 🦄') + 'data: {"choi');
    m.push(bytes.subarray(0, 30));
    m.push(bytes.subarray(30));
    expect(m.usage()).toEqual({
      input: 50,
      output: countTextTokens('Hello wonderful world 🦄'),
    });
  });
});

describe('CostMetrics', () => {
  it('counts tokens and cost by route/backend and by caller key and team', async () => {
    const gatewayMetrics = new GatewayMetrics();
    const registry = gatewayMetrics.registry;
    const metrics = new CostMetrics(gatewayMetrics);
    metrics.record({
      namespace: 'llm',
      route: 'chat',
      backend: 'premium',
      variant: 'stable',
      caller: { key: 'alice', team: 'red', anonymous: false },
      usage: { input: 10, output: 20 },
      costUsd: 0.5,
    });
    const text = await registry.metrics();
    expect(text).toContain(
      'beastmode_tokens_total{namespace="llm",route="chat",backend="premium",variant="stable",direction="output"} 20',
    );
    expect(text).toContain(
      'beastmode_cost_usd_total{namespace="llm",route="chat",backend="premium",variant="stable"} 0.5',
    );
    expect(text).toContain('beastmode_caller_cost_usd_total{key="alice",team="red"} 0.5');
  });
});
