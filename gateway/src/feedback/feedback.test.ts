import type { Caller } from '../policy/types.js';
import { GatewayMetrics } from '../server/metrics.js';
import { FeedbackRecorder, MemoryFeedbackLedger } from './feedback.js';
import { RecentRequests } from './recent-requests.js';

const alice: Caller = { key: 'alice', anonymous: false };
const bob: Caller = { key: 'bob', anonymous: false };

function recorder(now: () => number = () => 5_000_000) {
  const metrics = new GatewayMetrics();
  const recent = new RecentRequests(100, now);
  recent.record('r1', {
    namespace: 'llm',
    route: 'chat',
    model: 'chat',
    backend: 'premium',
    variant: 'canary',
    caller: 'alice',
  });
  const rec = new FeedbackRecorder(recent, new MemoryFeedbackLedger(), metrics.feedbackScore);
  return { rec, registry: metrics.registry, recent };
}

describe('FeedbackRecorder', () => {
  it('records a score once, from the caller who made the request, into the histogram', async () => {
    const { rec, registry } = recorder();
    expect(await rec.record({ request_id: 'r1', score: 0.75, comment: 'ok', success: true }, alice)).toEqual({
      ok: true,
      receipt: { request_id: 'r1', recorded: true },
      accepted: {
        served: {
          namespace: 'llm',
          route: 'chat',
          model: 'chat',
          backend: 'premium',
          variant: 'canary',
          caller: 'alice',
          at: 5_000_000,
        },
        score: 0.75,
        success: true,
      },
    });
    expect(await rec.record({ request_id: 'r1', score: 1 }, alice)).toMatchObject({
      ok: false,
      refusal: { status: 409, error: { code: 'feedback_already_recorded' } },
    });
    const text = await registry.getSingleMetricAsString('beastmode_feedback_score');
    const labels = 'namespace="llm",route="chat",backend="premium",variant="canary"';
    expect(text).toContain(`beastmode_feedback_score_sum{${labels}} 0.75`);
    expect(text).toContain(`beastmode_feedback_score_count{${labels}} 1`);
    expect(text).toContain(`beastmode_feedback_score_bucket{le="0.5",${labels}} 0`);
  });

  it('refuses unknown ids (404), other callers (403) and invalid bodies (400)', async () => {
    const { rec } = recorder();
    expect(await rec.record({ request_id: 'nope', score: 1 }, alice)).toMatchObject({
      ok: false,
      refusal: { status: 404, error: { code: 'request_not_found' } },
    });
    expect(await rec.record({ request_id: 'r1', score: 1 }, bob)).toMatchObject({
      ok: false,
      refusal: { status: 403, error: { code: 'feedback_not_allowed' } },
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
        ok: false,
        refusal: { status: 400, error: { code: 'invalid_feedback' } },
      });
    }
    // None of the refusals used up the request's one score.
    expect(await rec.record({ request_id: 'r1', score: 0 }, alice)).toMatchObject({ ok: true });
  });

  it("refuses feedback past its route's feedback window (compliance retention), and only on that route", async () => {
    const clock = { ms: 5_000_000 };
    const now = () => clock.ms;
    const { rec } = recorder(now);
    const route = (name: string, feedbackWindowMs?: number) => ({
      namespace: 'llm',
      name,
      compliance: {
        retention: {
          storePromptsWithPII: false,
          ...(feedbackWindowMs !== undefined ? { feedbackWindowMs } : {}),
        },
      },
    });
    rec.followRetention({ routes: [route('chat', 60_000)] } as never, now);
    clock.ms += 61_000;
    expect(await rec.record({ request_id: 'r1', score: 1 }, alice)).toEqual({
      ok: false,
      refusal: expect.objectContaining({
        status: 410,
        error: expect.objectContaining({
          code: 'feedback_window_closed',
          message: "Request r1 is past its route's feedback window of 60 s",
        }),
      }),
    });
    // Within the window it is taken; a later config without a window takes it at any age.
    rec.followRetention({ routes: [route('chat', 120_000)] } as never, now);
    expect(await rec.record({ request_id: 'r1', score: 1 }, alice)).toMatchObject({ ok: true });
    const { rec: other } = recorder(now);
    other.followRetention({ routes: [route('chat')] } as never, now);
    clock.ms += 10_000_000;
    expect(await other.record({ request_id: 'r1', score: 1 }, alice)).toMatchObject({ ok: true });
  });
});
