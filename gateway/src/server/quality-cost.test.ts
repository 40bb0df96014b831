// A quality-cost route with a target quality over real HTTP: the gateway asks the bundled router model, at
// the threshold its calibration gives for that quality, and serves each prompt from the backend it names.
import OpenAI from 'openai';
import { HEADERS } from '../../../api/v1alpha1/index.js';
import { compiledRoute } from '../../../testkit/gateway-config.js';
import { TestServers } from '../../../testkit/http-servers.js';
import { bundledRouterModel, thresholdFor, weakSuffices } from '../routing/router-model.js';

const servers = new TestServers();
afterEach(() => servers.close());

test('each prompt goes to the backend the bundled model chooses at the route’s target quality', async () => {
  const strong = await servers.sim();
  const weak = await servers.sim();
  const route = compiledRoute(
    'chat',
    [
      { name: 'strong', url: `${strong.url}/v1` },
      { name: 'weak', url: `${weak.url}/v1` },
    ],
    {
      selection: {
        policy: 'quality-cost',
        stickiness: 'none',
        qualityCost: { strongBackend: 'strong', weakBackend: 'weak', threshold: 0.5, targetQuality: 0.95 },
      },
    },
  );
  const gateway = await servers.gateway([route]);
  const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'test', maxRetries: 0 });
  const model = bundledRouterModel();
  const threshold = thresholdFor(model, 0.95);
  const prompts = [
    'What is the capital of France?\nA. Paris\nB. Rome\nC. Madrid\nD. Berlin\nAnswer:',
    'Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?',
    'Which of the following best describes the function of the mitochondria?\nA. Energy\nB. Storage\nC. Transport\nD. Defence\nAnswer:',
    'Let f(x) = 3x^2 + 2x - 5. Find all x such that f(f(x)) = 0, and prove there are no others.',
  ];
  // The gateway scores the text of the messages, each ending in a newline.
  const score = (p: string) => weakSuffices(model, `${p}\n`);
  const expected = prompts.map((p) => (score(p) >= threshold ? 'weak' : 'strong'));
  // The prompts were picked so that the model sends some each way (the test would prove little otherwise).
  expect(new Set(expected)).toEqual(new Set(['weak', 'strong']));
  const served: string[] = [];
  const reasons: string[] = [];
  for (const content of prompts) {
    const { response } = await client.chat.completions
      .create({ model: 'chat', messages: [{ role: 'user', content }] })
      .withResponse();
    served.push(response.headers.get(HEADERS.backend) ?? '?');
    reasons.push(response.headers.get(HEADERS.routeReason) ?? '');
  }
  expect(served).toEqual(expected);
  // Each answer says why: the model's version, its score for the prompt and the threshold.
  prompts.forEach((p, i) =>
    expect(reasons[i]).toBe(
      `quality-cost: router v1 p(weak) ${score(p).toFixed(2)} vs ${threshold.toFixed(2)} -> ${expected[i]}`,
    ),
  );
  // The counts on the simulators agree with the headers.
  expect(weak.stats().requests).toBe(expected.filter((b) => b === 'weak').length);
  expect(strong.stats().requests).toBe(expected.filter((b) => b === 'strong').length);
});
