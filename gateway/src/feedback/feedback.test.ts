import { Registry } from 'prom-client';
import type { Caller } from '../policy/types.js';
import { FeedbackRecorder, MemoryFeedbackLedger, type RecentRequest } from './feedback.js';

const alice: Caller = { key: 'alice', anonymous: false };
const bob: Caller = { key: 'bob', anonymous: false };
const served: Record<string, RecentRequest> = {
  r1: { namespace: 'llm', route: 'chat', backend: 'premium', variant: 'canary', callerKey: 'alice' },
};

function recorder() {
  const registry = new Registry();
  const rec = new FeedbackRecorder((id) => served[id], new MemoryFeedbackLedger(), registry);
  return { rec, registry };
}

describe('FeedbackRecorder', () => {
  it('records a score once, from the caller who made the request, into the histogram', async () => {
    const { rec, registry } = recorder();
    expect(await rec.record({ request_id: 'r1', score: 0.75, comment: 'ok' }, alice)).toMatchObject({
      status: 202,
    });
    expect(await rec.record({ request_id: 'r1', score: 1 }, alice)).toMatchObject({ status: 409 });
    const text = await registry.getSingleMetricAsString('beastmode_feedback_score');
    const labels = 'namespace="llm",route="chat",backend="premium",variant="canary"';
    expect(text).toContain(`beastmode_feedback_score_sum{${labels}} 0.75`);
    expect(text).toContain(`beastmode_feedback_score_count{${labels}} 1`);
    expect(text).toContain(`beastmode_feedback_score_bucket{le="0.5",${labels}} 0`);
  });

  it('refuses unknown ids (404), other callers (403) and invalid bodies (400)', async () => {
    const { rec } = recorder();
    expect(await rec.record({ request_id: 'nope', score: 1 }, alice)).toMatchObject({ status: 404 });
    expect(await rec.record({ request_id: 'r1', score: 1 }, bob)).toMatchObject({
      status: 403,
      body: { error: { code: 'feedback_not_allowed' } },
    });
    for (const bad of [
      { request_id: 'r1', score: 1.5 },
      { request_id: 'r1', score: -0.1 },
      { request_id: 'r1' },
      { request_id: 'r1', score: 1, comment: 'x'.repeat(2001) },
      { request_id: 'r1', score: 1, extra: true },
      'not an object',
    ]) {
      expect(await rec.record(bad, alice)).toMatchObject({
        status: 400,
        body: { error: { code: 'invalid_feedback' } },
      });
    }
    // None of the refusals used up the request's one score.
    expect(await rec.record({ request_id: 'r1', score: 0 }, alice)).toMatchObject({ status: 202 });
  });
});
