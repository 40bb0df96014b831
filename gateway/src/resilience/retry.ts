// Retry and fallback decisions for one failed upstream attempt: pure functions of the failure, the
// route's policy and the attempt count.
import type { AttemptOutcome, CompiledRoute } from '../../../api/v1alpha1/index.js';

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
 * What to do after a failed attempt: retry the same backend (after a delay), fall over to the next, or give
 * the failure to the client. `retriesDone` counts retries already made on this backend.
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

/** Whether a failure counts against the backend's health (429 and 4xx say nothing about it). */
export function hurtsBreaker(f: AttemptFailure): boolean {
  return (
    f.outcome === '5xx' ||
    f.outcome === 'timeout' ||
    f.outcome === 'connect-error' ||
    f.outcome === 'stream-error'
  );
}
