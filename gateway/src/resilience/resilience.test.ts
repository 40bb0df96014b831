import { compiledRoute } from '../../../testkit/gateway-config.js';
import { CircuitBreakers, type BreakerState } from './breaker.js';
import { decideAfterFailure, parseRetryAfter } from './retry.js';

describe('circuit breaker', () => {
  test('opens after consecutive failures, lets one probe through half-open, and recovers', () => {
    const changes: BreakerState[] = [];
    const b = new CircuitBreakers({ failureThreshold: 3, openMs: 1000 }, (_k, s) => changes.push(s));
    for (let i = 0; i < 3; i++) b.failure('k', 0);
    expect(b.available('k', 10)).toBe(false);
    expect(b.available('k', 1000)).toBe(true);
    b.begin('k', 1000);
    expect(b.available('k', 1001)).toBe(false); // one probe at a time
    b.success('k');
    expect(b.state('k', 1002)).toBe('closed');
    expect(changes).toEqual(['open', 'half-open', 'closed']);
  });

  test('a failed probe opens the breaker again', () => {
    const b = new CircuitBreakers({ failureThreshold: 2, openMs: 100 });
    b.failure('k', 0);
    b.failure('k', 0);
    expect(b.state('k', 100)).toBe('half-open');
    b.begin('k', 100);
    b.failure('k', 100);
    expect(b.state('k', 150)).toBe('open');
  });
});

describe('retry decisions', () => {
  const route = compiledRoute('chat', [{ name: 'a', url: 'http://a/v1' }], {
    retry: { attempts: 2, backoffMs: 100, maxBackoffMs: 150, maxRetryAfterMs: 5000 },
  });

  test('retries with capped exponential backoff, then falls over', () => {
    const f = { outcome: '5xx' as const, status: 500, message: 'x' };
    expect(decideAfterFailure(route, f, 0)).toEqual({ action: 'retry', delayMs: 100 });
    expect(decideAfterFailure(route, f, 1)).toEqual({ action: 'retry', delayMs: 150 });
    expect(decideAfterFailure(route, f, 2)).toEqual({ action: 'fallover' });
  });

  test('waits for Retry-After, but falls over when it is too long', () => {
    const f = (ms: number) => ({ outcome: '429' as const, status: 429, message: 'x', retryAfterMs: ms });
    expect(decideAfterFailure(route, f(2000), 0)).toEqual({ action: 'retry', delayMs: 2000 });
    expect(decideAfterFailure(route, f(6000), 0)).toEqual({ action: 'fallover' });
  });

  test('never retries insufficient_quota, and gives 4xx and unlisted causes to the client', () => {
    const quota = { outcome: '429' as const, status: 429, code: 'insufficient_quota', message: 'x' };
    expect(decideAfterFailure(route, quota, 0)).toEqual({ action: 'fallover' });
    expect(decideAfterFailure(route, { outcome: '4xx', status: 400, message: 'x' }, 0)).toEqual({
      action: 'fail',
    });
    const no429 = { ...route, fallback: { on: ['5xx' as const], maxAttempts: 3 } };
    expect(decideAfterFailure(no429, { outcome: '429', status: 429, message: 'x' }, 0)).toEqual({
      action: 'fail',
    });
  });

  test('parses Retry-After seconds and dates', () => {
    expect(parseRetryAfter('2', 0)).toBe(2000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
  });
});
