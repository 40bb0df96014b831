// The learners of a gateway's routes across configs: a new exploration share keeps what was learnt and
// shares what was not shared yet; a new target quality (another learner identity) starts afresh.
import { gatewayConfig, qualityCostRoute } from '../../../testkit/gateway-config.js';
import type { Logger } from '../log.js';
import { MemoryLearnerStore } from './learner-store.js';
import { RouteLearners } from './route-learners.js';
import { bundledRouterModel } from './router-model.js';
import { seededRandom } from './seeded-random.js';

const log: Logger = { log: () => undefined, setLevel: () => undefined, isDebug: () => false };
const route = (exploration: number, targetQuality = 0.95) =>
  qualityCostRoute(
    { strong: 'http://a/v1', weak: 'http://b/v1' },
    { targetQuality, learning: { exploration, goodScore: 0.5 } },
  );

test('a new exploration share keeps the counts and shares them; a new target starts afresh', async () => {
  const store = new MemoryLearnerStore();
  const learners = new RouteLearners({ store, log, now: () => 0, syncMs: 0 });
  learners.apply(gatewayConfig([route(0.05)]), bundledRouterModel);
  await learners.sync();
  const l = learners.of(route(0.05));
  const random = seededRandom(1);
  for (let i = 0; i < 30; i++) l?.observe(l.decide('code', 0.3, false, random).cell, 'strong', true);
  learners.apply(gatewayConfig([route(0.1)]), bundledRouterModel);
  expect(learners.of(route(0.1))).not.toBe(l);
  await learners.sync();
  expect(learners.state('default/chat')?.summary.outcomes).toBe(30);
  const shared = Object.values(await store.exchange(learners.state('default/chat')?.key ?? '', {}));
  expect(shared.reduce((n, c) => n + c.strong.n, 0)).toBe(30);
  learners.apply(gatewayConfig([route(0.1, 0.9)]), bundledRouterModel);
  await learners.sync();
  expect(learners.state('default/chat')?.summary.outcomes).toBe(0);
  await learners.close();
});
