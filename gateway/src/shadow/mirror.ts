// Mirrored calls: a sampled share of a route's requests sent again, after the client has its answer, to
// the route's shadow backend. The client never waits for, sees or pays for a mirrored call: it is made
// once the primary's answer was written, never retried or fallen back, has its own timeout, is charged to
// no budget, rate limit, cache, feedback or learning router, and is dropped first under pressure (its own
// bound of calls in flight, a busy gateway, a primary that failed). Its errors are logged at debug only.
import type { ShadowDropReason } from '../../../api/v1alpha1/index.js';
import { costUsd } from '../accounting/tokens.js';
import type { SecretResolver } from '../config/secrets.js';
import type { Logger } from '../log.js';
import { openAIUsage } from '../providers/openai.js';
import { buildUpstreamBody, upstreamHeaders } from '../providers/provider.js';
import type { Endpoint, Usage } from '../providers/types.js';
import type { RunResult } from '../server/attempt-runner.js';
import { Cancellation } from '../server/cancel.js';
import { upstreamVia } from '../server/loops.js';
import type { UpstreamPools } from '../server/pools.js';
import { looksLikeJsonObject, outcomeForStatus, scanUsage } from '../server/upstream-answer.js';
import type { StreamObserver, UpstreamRequest } from '../server/upstream-attempt.js';
import { agrees, answerText, StreamedText } from './compare.js';
import { shadowBody } from './compliance.js';
import type { ShadowMetrics } from './metrics.js';
import type { RuntimeShadow } from './runtime.js';

export interface MirrorDeps {
  pools: UpstreamPools;
  secrets: SecretResolver;
  metrics: ShadowMetrics;
  now: () => number;
  log: Logger;
  /** This gateway's Via pseudonym (loops.ts): a shadow that loops back to a gateway is refused there. */
  self: () => string;
  /** Requests in flight as a share of the gateway's concurrency bound. */
  load: () => number;
  /** The share of the bound above which nothing is mirrored. */
  loadCutoff: number;
}

/** A route's sampling credit and mirrored calls in flight in this process. */
export interface MirrorState {
  credit: number;
  inflight: number;
}

export type MirrorVerdict = 'mirror' | ShadowDropReason;

/**
 * Whether a request is sampled: every request adds `percent` to the route's credit and is sampled when the
 * credit reaches 100 (so 100 mirrors all, 0 none, 25 exactly one in four). Returns the new credit.
 */
export function sample(credit: number, percent: number): { credit: number; sampled: boolean } {
  const c = credit + percent;
  return c >= 100 ? { credit: c - 100, sampled: true } : { credit: c, sampled: false };
}

/** What becomes of a sampled request once its primary answered. Drops are checked cheapest-to-keep first. */
export function mirrorVerdict(
  primaryOk: boolean,
  load: number,
  loadCutoff: number,
  inflight: number,
  maxInflight: number,
): MirrorVerdict {
  if (!primaryOk) return 'primary-failed';
  if (load > loadCutoff) return 'gateway-busy';
  if (inflight >= maxInflight) return 'inflight-cap';
  return 'mirror';
}

/** Passes a streamed answer on to the policy's tap, and keeps its text for the comparison. */
class ComparingObserver implements StreamObserver {
  readonly text = new StreamedText();
  constructor(private readonly next: StreamObserver | undefined) {}
  write(sse: string): void {
    this.next?.write(sse);
    this.text.push(sse);
  }
  end(complete: boolean): void {
    this.next?.end(complete);
  }
}

/** A sampled request: where its streamed text is collected, when its answer is compared. */
interface Sampled {
  observer: ComparingObserver | undefined;
}

export class ShadowMirror {
  private readonly states = new Map<string, MirrorState>();
  private readonly sampled = new WeakMap<UpstreamRequest, Sampled>();

  constructor(private readonly deps: MirrorDeps) {}

  /**
   * Samples a request of a route with a shadow before its upstream stage; returns the stream observer the
   * request uses: `tap`, or one that also keeps the text when the sampled answer is compared.
   */
  begin(x: UpstreamRequest, tap: StreamObserver | undefined): StreamObserver | undefined {
    const shadow = x.route.shadow;
    if (shadow === undefined) return tap;
    const state = this.stateOf(shadow.key);
    const s = sample(state.credit, shadow.spec.percent);
    state.credit = s.credit;
    if (!s.sampled) return tap;
    const observer = x.stream && shadow.spec.compare !== 'none' ? new ComparingObserver(tap) : undefined;
    this.sampled.set(x, { observer });
    return observer ?? tap;
  }

  /** After the client was answered: mirrors a sampled request, or counts why not. Never throws. */
  mirror(x: UpstreamRequest, result: Pick<RunResult, 'status' | 'served' | 'body'>): void {
    const shadow = x.route.shadow;
    const sampled = this.sampled.get(x);
    if (shadow === undefined || sampled === undefined) return;
    this.sampled.delete(x);
    const state = this.stateOf(shadow.key);
    const ok = result.served !== undefined && result.status >= 200 && result.status < 300;
    const { loadCutoff } = this.deps;
    const verdict = mirrorVerdict(ok, this.deps.load(), loadCutoff, state.inflight, shadow.spec.maxInflight);
    if (verdict !== 'mirror') return this.deps.metrics.drop(shadow.labels, verdict);
    const primary =
      shadow.spec.compare === 'none'
        ? undefined
        : sampled.observer !== undefined
          ? sampled.observer.text.text()
          : result.body !== undefined
            ? answerText(result.body)
            : undefined;
    state.inflight++;
    // After the answer's bytes were handed to the socket and the request settled.
    setImmediate(() => {
      void this.call(shadow, x, primary)
        .catch((err: unknown) => this.failed(x, shadow, err))
        .finally(() => state.inflight--);
    });
  }

  /** Forgets the routes a new config no longer mirrors (their calls in flight finish on their own). */
  retain(keys: ReadonlySet<string>): void {
    for (const k of this.states.keys()) if (!keys.has(k)) this.states.delete(k);
  }

  private stateOf(key: string): MirrorState {
    let s = this.states.get(key);
    if (s === undefined) this.states.set(key, (s = { credit: 0, inflight: 0 }));
    return s;
  }

  private async call(s: RuntimeShadow, x: UpstreamRequest, primary: string | undefined): Promise<void> {
    const { metrics } = this.deps;
    const by = s.labels;
    const path = s.adapter.paths[x.endpoint];
    if (path === undefined) return metrics.outcome(by, '4xx');
    const { stream: _s, stream_options: _o, ...unstreamed } = x.body;
    const sent = shadowBody(x.route, s, x.endpoint, unstreamed);
    if (sent === undefined) return metrics.drop(by, 'compliance');
    const deadline = new Cancellation();
    const timer = setTimeout(() => deadline.abort(), s.spec.timeoutMs);
    const started = this.deps.now();
    metrics.inflight(by, 1);
    try {
      const c = s.spec.backend.credentials;
      const apiKey = c === undefined ? undefined : await this.deps.secrets.resolve(c);
      if (c !== undefined && apiKey === undefined) return metrics.outcome(by, 'connect-error');
      const resp = await this.deps.pools.get(s.origin).request({
        path: s.basePath + path,
        method: 'POST',
        headers: upstreamHeaders(s.adapter, apiKey, upstreamVia(x.res.req.headers.via, this.deps.self())),
        body: JSON.stringify(buildUpstreamBody(s.adapter, x.endpoint, sent.body, s.spec.backend.model)),
        signal: deadline,
      });
      if (resp.statusCode < 200 || resp.statusCode >= 300) {
        await resp.body.dump().catch(() => undefined);
        return metrics.outcome(by, resp.statusCode < 400 ? '5xx' : outcomeForStatus(resp.statusCode));
      }
      const answer = this.read(s, x.endpoint, await resp.body.text());
      if (answer === undefined) return metrics.outcome(by, 'stream-error');
      metrics.outcome(by, 'ok');
      const usage = answer.usage;
      const cost = usage === undefined ? 0 : costUsd(usage, s.spec.backend.pricing);
      metrics.answered(by, (this.deps.now() - started) / 1000, usage, cost);
      if (s.spec.compare !== 'none' && primary !== undefined) {
        const text = answerText(sent.restore(answer.body));
        metrics.comparison(by, s.spec.compare, text !== undefined && agrees(s.spec.compare, primary, text));
      }
    } catch (err) {
      metrics.outcome(by, deadline.cancelled ? 'timeout' : 'connect-error');
      this.failed(x, s, err);
    } finally {
      clearTimeout(timer);
      metrics.inflight(by, -1);
    }
  }

  /** A mirrored call's failure is the shadow's business alone: logged at debug, never to the client. */
  private failed(x: UpstreamRequest, s: RuntimeShadow, err: unknown): void {
    this.deps.log.log('debug', 'Shadow call failed', {
      requestId: x.requestId,
      backend: s.spec.backend.name,
      reason: err instanceof Error ? err.message : String(err),
    });
  }

  /** The shadow's answer in OpenAI format with its usage, or undefined when it is not a JSON answer. */
  private read(
    s: RuntimeShadow,
    endpoint: Endpoint,
    text: string,
  ): { body: string; usage: Usage | undefined } | undefined {
    if (s.adapter.passthroughResponses)
      return looksLikeJsonObject(text) ? { body: text, usage: scanUsage(text) } : undefined;
    let upstream: unknown;
    try {
      upstream = JSON.parse(text);
    } catch {
      return undefined;
    }
    const ctx = {
      model: s.spec.backend.model,
      created: Math.floor(this.deps.now() / 1000),
      clientWantsUsage: false,
    };
    const out = s.adapter.transformResponse(endpoint, upstream, ctx);
    return { body: out === upstream ? text : JSON.stringify(out), usage: openAIUsage(out) };
  }
}
