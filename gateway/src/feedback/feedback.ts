// User feedback on a served request (POST /v1/feedback): validated, tied to a request this gateway served
// recently, only from the caller who made it, at most once per request, observed as
// beastmode_feedback_score{namespace,route,backend,variant} — the canary analysis's feedback signal.
import type { Histogram, Registry } from 'prom-client';
import { z } from 'zod';
import { FEEDBACK_BUCKETS, METRICS } from '../../../api/v1alpha1/metrics.js';
import { histogram } from '../policy/metrics.js';
import type { Caller } from '../policy/types.js';

export const FeedbackRequest = z
  .object({
    request_id: z.string().min(1).max(128),
    score: z.number().min(0).max(1),
    comment: z.string().max(2000).optional(),
  })
  .strict();
export type FeedbackRequest = z.infer<typeof FeedbackRequest>;

/** What the server remembers about a request it served (by x-request-id). */
export interface RecentRequest {
  namespace: string;
  route: string;
  backend: string;
  variant: string;
  /** Key name of the caller who made it. */
  callerKey: string;
}

export type RecentRequests = (requestId: string) => RecentRequest | undefined;

/** Remembers which request ids already have a score. `claim` is true the first time only. */
export interface FeedbackLedger {
  claim(requestId: string): Promise<boolean>;
}

/** Per-replica ledger, bounded (oldest ids forgotten first). */
export class MemoryFeedbackLedger implements FeedbackLedger {
  private readonly seen = new Set<string>();
  constructor(private readonly maxIds = 100_000) {}

  claim(requestId: string): Promise<boolean> {
    if (this.seen.has(requestId)) return Promise.resolve(false);
    this.seen.add(requestId);
    if (this.seen.size > this.maxIds) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    return Promise.resolve(true);
  }
}

export interface FeedbackResponse {
  status: number;
  body: unknown;
}

const error = (
  status: number,
  code: string,
  message: string,
  type = 'invalid_request_error',
): FeedbackResponse => ({
  status,
  body: { error: { message, type, code, param: null } },
});

export class FeedbackRecorder {
  private readonly scores: Histogram<'namespace' | 'route' | 'backend' | 'variant'>;

  constructor(
    private readonly recentRequests: RecentRequests,
    private readonly ledger: FeedbackLedger,
    registry: Registry,
  ) {
    this.scores = histogram(
      registry,
      METRICS.feedbackScore,
      'User feedback scores 0-1',
      ['namespace', 'route', 'backend', 'variant'],
      FEEDBACK_BUCKETS,
    );
  }

  /** Handler logic of POST /v1/feedback: `body` is the parsed JSON body. */
  async record(body: unknown, caller: Caller): Promise<FeedbackResponse> {
    const parsed = FeedbackRequest.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return error(
        400,
        'invalid_feedback',
        `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`,
      );
    }
    const { request_id: id, score } = parsed.data;
    const served = this.recentRequests(id);
    if (served === undefined) return error(404, 'request_not_found', `No recent request with id ${id}`);
    if (served.callerKey !== caller.key) {
      return error(
        403,
        'feedback_not_allowed',
        'Feedback is accepted only from the caller who made the request',
      );
    }
    if (!(await this.ledger.claim(id))) {
      return error(409, 'feedback_already_recorded', `Feedback for request ${id} was already recorded`);
    }
    this.scores.observe(
      { namespace: served.namespace, route: served.route, backend: served.backend, variant: served.variant },
      score,
    );
    // The comment is validated but not kept: it may hold user text, which the gateway never logs.
    return { status: 202, body: { request_id: id, recorded: true } };
  }
}
