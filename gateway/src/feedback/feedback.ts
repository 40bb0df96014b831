// User feedback on a served request (POST /v1/feedback): validated, tied to a request this gateway served
// recently, only from the caller who made it, at most once per request, observed as
// beastmode_feedback_score{namespace,route,backend,variant} — the canary analysis's feedback signal — under
// the backend variant that produced the answer (for a cached answer, the one that produced the entry).
// A score for an answer whose producer the config no longer serves (a rolled-back canary, a replaced
// stable spec) is accepted but not observed: those labels now describe another revision.
import type { Histogram } from 'prom-client';
import { z } from 'zod';
import type { CompiledRoute } from '../../../api/v1alpha1/index.js';
import type { Caller } from '../policy/types.js';
import {
  feedbackAlreadyRecorded,
  feedbackNotAllowed,
  feedbackRequestNotFound,
  feedbackWindowClosed,
  invalidFeedback,
  type GatewayError,
} from '../server/errors.js';
import type { RecentRequests, ServedRecord } from './recent-requests.js';

export const FeedbackRequest = z
  .object({
    request_id: z.string().min(1).max(128),
    score: z.number().min(0).max(1),
    comment: z.string().max(2000).optional(),
    /** Whether the answer did its task; without it, a score of at least 0.75 counts as success. */
    success: z.boolean().optional(),
  })
  .strict();
export type FeedbackRequest = z.infer<typeof FeedbackRequest>;

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

/** The 202 body of accepted feedback. */
export interface FeedbackReceipt {
  request_id: string;
  recorded: true;
}

/** An accepted score with the request it scores (for the experiment metrics; never sent to the client). */
export interface AcceptedScore {
  served: ServedRecord;
  score: number;
  success?: boolean | undefined;
}

export type FeedbackAnswer =
  { ok: true; receipt: FeedbackReceipt; accepted?: AcceptedScore } | { ok: false; refusal: GatewayError };

export type FeedbackScores = Histogram<'namespace' | 'route' | 'backend' | 'variant'>;

/** Told of every accepted score on an answer of a served config (the learning routers listen). */
export type ScoreListener = (served: ServedRecord, score: number) => void;

export class FeedbackRecorder {
  /**
   * `serving`: whether the served config still has a producer (cache/producer.ts); default: all are.
   * `listener`: told of each score that is observed.
   */
  constructor(
    private readonly recent: RecentRequests,
    private readonly ledger: FeedbackLedger,
    private readonly scores: FeedbackScores,
    private readonly serving: (producer: string) => boolean = () => true,
    private readonly listener: () => ScoreListener | undefined = () => undefined,
    /** Told of every accepted score by request id (the semantic cache forgets entries scored bad). */
    private readonly scored: (requestId: string, score: number) => void = () => undefined,
  ) {}

  /** Route (namespace/name) → how long after a request its route takes feedback on it (compliance). */
  private windows = new Map<string, number>();

  /** Follows a config's feedback windows (`compliance.retention.feedback.window` of its routes). */
  followRetention(config: { routes: readonly CompiledRoute[] }, now: () => number = Date.now): void {
    const windows = new Map<string, number>();
    for (const r of config.routes) {
      const ms = r.compliance?.retention.feedbackWindowMs;
      if (ms !== undefined) windows.set(`${r.namespace}/${r.name}`, ms);
    }
    this.windows = windows;
    this.now = now;
  }

  private now: () => number = Date.now;

  /** What POST /v1/feedback answers: `body` is the parsed JSON body. */
  async record(body: unknown, caller: Caller): Promise<FeedbackAnswer> {
    const parsed = FeedbackRequest.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return refused(invalidFeedback(`${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`));
    }
    const { request_id: id, score, success } = parsed.data;
    const served = await this.recent.find(id);
    if (served === undefined) return refused(feedbackRequestNotFound(id));
    if (served.caller !== caller.key) return refused(feedbackNotAllowed());
    // A route with a feedback window keeps no attribution past it: the request is as good as unknown.
    const window = this.windows.get(`${served.namespace}/${served.route}`);
    if (window !== undefined && (served.at === undefined || this.now() - served.at > window))
      return refused(feedbackWindowClosed(id, window));
    if (!(await this.ledger.claim(id))) return refused(feedbackAlreadyRecorded(id));
    if (served.producer === undefined || this.serving(served.producer)) {
      const { namespace, route, backend, variant } = served;
      this.scores.observe({ namespace, route, backend, variant }, score);
      this.listener()?.(served, score);
    }
    this.scored(id, score);
    // The comment is validated but not kept: it may hold user text, which the gateway never logs.
    return { ok: true, receipt: { request_id: id, recorded: true }, accepted: { served, score, success } };
  }
}

const refused = (refusal: GatewayError): FeedbackAnswer => ({ ok: false, refusal });
