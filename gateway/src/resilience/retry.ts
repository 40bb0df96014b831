// Retry and fallback, decided by pure functions: after each failed upstream attempt, `nextStep` looks at the
// attempt plan, how many attempts and retries were made, the route's fallback and retry policy and the
// failure, and says what the request does next — retry the same backend after a delay, fall over to the
// next backend, fail with the error the client gets, or stop because the answer is already out or nobody is
// listening. The attempt runner only carries the steps out (timers, metrics, breakers).
import type { AttemptOutcome, CompiledBackend, CompiledRoute } from '../../../api/v1alpha1/index.js';
import type { OpenAIErrorObject } from '../providers/types.js';
import { gatewayError, type GatewayError } from '../server/errors.js';

export type FallbackCause = CompiledRoute['fallback']['on'][number];

/** An attempt that did not produce a response we can give the client. */
export interface AttemptFailure {
  outcome: Exclude<AttemptOutcome, 'ok'>;
  status?: number;
  /** Upstream error code (e.g. insufficient_quota), when the body said. */
  code?: string | undefined;
  retryAfterMs?: number | undefined;
  message: string;
}

/** A failed attempt as the attempt reports it. */
export interface FailedAttempt {
  ok: false;
  failure: AttemptFailure;
  /** The error object to show the client if this failure is the last. */
  error: OpenAIErrorObject;
  /** The client already received part of the answer (a stream broken after its first chunk). */
  committed: boolean;
}

/** Where the request stands after an attempt failed. */
export interface AttemptLoop {
  /** Backends in the attempt plan. */
  planLength: number;
  /** Index in the plan of the backend that just failed. */
  index: number;
  /** Attempts made so far, the failed one included, across backends. */
  attempts: number;
  /** Retries already made on this backend. */
  retries: number;
}

export type NextStep =
  | { action: 'retry'; delayMs: number }
  | { action: 'fallover'; next: number }
  | { action: 'fail'; error: GatewayError }
  /** Nothing more to send: 499 the client left, 502 a stream broke after its first chunk. */
  | { action: 'stop'; status: 499 | 502 };

/** The fallback cause an outcome belongs to, or undefined when it never falls over (4xx, aborted). */
export function causeOf(f: AttemptFailure): FallbackCause | undefined {
  switch (f.outcome) {
    case '5xx':
      return '5xx';
    case '429':
      return '429';
    case 'timeout':
      return 'timeout';
    case 'connect-error':
    case 'stream-error':
      return 'connect-error';
    case '4xx':
    case 'aborted':
      return undefined;
    default: {
      const never: never = f.outcome;
      throw new Error(`unknown outcome ${String(never)}`);
    }
  }
}

/** Parses Retry-After (seconds or an HTTP date) into milliseconds from `now`. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

export type Decision = { action: 'retry'; delayMs: number } | { action: 'fallover' } | { action: 'fail' };

/**
 * What one failure calls for, before the attempt budget and the plan are considered: retry the same backend
 * (after a delay), fall over, or give the failure to the client. `retriesDone` counts retries already made
 * on this backend.
 */
export function decideAfterFailure(route: CompiledRoute, f: AttemptFailure, retriesDone: number): Decision {
  const cause = causeOf(f);
  if (cause === undefined || !route.fallback.on.includes(cause)) return { action: 'fail' };
  // An exhausted quota will not come back by waiting: go elsewhere at once.
  if (f.outcome === '429' && f.code === 'insufficient_quota') return { action: 'fallover' };
  if (f.retryAfterMs !== undefined && f.retryAfterMs > route.retry.maxRetryAfterMs)
    return { action: 'fallover' };
  if (retriesDone >= route.retry.attempts) return { action: 'fallover' };
  const backoff = Math.min(route.retry.maxBackoffMs, route.retry.backoffMs * 2 ** retriesDone);
  return { action: 'retry', delayMs: Math.max(backoff, f.retryAfterMs ?? 0) };
}

/**
 * The whole retry/fallback loop, one failure at a time: at most `fallback.maxAttempts` attempts in all; a
 * retry or a fallover the attempt budget or the plan has no room for ends in the failure's error.
 */
export function nextStep(route: CompiledRoute, loop: AttemptLoop, failed: FailedAttempt): NextStep {
  const f = failed.failure;
  if (f.outcome === 'aborted') return { action: 'stop', status: 499 };
  // A stream that broke after its first chunk answered 200 on the wire but failed the user: it counts as a
  // 502, so error rates (and canary analysis) see it.
  if (failed.committed) return { action: 'stop', status: 502 };
  const decision = decideAfterFailure(route, f, loop.retries);
  const attemptsLeft = loop.attempts < route.fallback.maxAttempts;
  if (decision.action === 'retry' && attemptsLeft) return decision;
  if (decision.action !== 'fail' && attemptsLeft && loop.index + 1 < loop.planLength)
    return { action: 'fallover', next: loop.index + 1 };
  return { action: 'fail', error: finalError(f, failed.error) };
}

/** The client-facing error after the last failed attempt. */
export function finalError(f: AttemptFailure, e: OpenAIErrorObject): GatewayError {
  switch (f.outcome) {
    case '4xx':
    case '429':
    case '5xx':
      return {
        status: f.status ?? 502,
        error: e,
        retryAfterSeconds: f.retryAfterMs === undefined ? undefined : f.retryAfterMs / 1000,
      };
    case 'timeout':
      return gatewayError(504, `upstream timed out: ${f.message}`, 'upstream_timeout');
    case 'aborted':
      return gatewayError(499, 'client closed the request', 'client_closed_request');
    case 'connect-error':
    case 'stream-error':
      return gatewayError(502, `upstream unavailable: ${f.message}`, 'upstream_unavailable');
    default: {
      const never: never = f.outcome;
      throw new Error(`unknown outcome ${String(never)}`);
    }
  }
}

/** Whether a failure counts against the backend's health (429 and 4xx say nothing about it). */
export function hurtsBreaker(f: AttemptFailure): boolean {
  return (
    f.outcome === '5xx' ||
    f.outcome === 'timeout' ||
    f.outcome === 'connect-error' ||
    f.outcome === 'stream-error'
  );
}

/** Whether a failure says the backend is full (its queue, its rate): what lowers its learned bound. */
export function isThrottle(f: AttemptFailure): boolean {
  return f.outcome === '429' || (f.outcome === '5xx' && f.status === 503);
}

/**
 * Where a throttled attempt spills: the plan index of the failed backend's spillOver target when that
 * comes later in the plan, else undefined (the usual retry/fallback decision applies). Spilling does not
 * wait for a retry and is not subject to `fallback.when`: the route declared where the excess goes.
 */
export function spillIndex(
  plan: readonly Pick<CompiledBackend, 'name' | 'variant' | 'spillOver'>[],
  index: number,
  failed: FailedAttempt,
): number | undefined {
  const spill = plan[index]?.spillOver;
  if (spill?.onThrottle !== true || failed.committed || !isThrottle(failed.failure)) return undefined;
  const to = plan.findIndex((b) => b.name === spill.to && b.variant === 'stable');
  return to > index ? to : undefined;
}
