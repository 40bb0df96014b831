// The retry/fallback loop stepped attempt by attempt: each case is a route policy, a plan length and the
// failures its attempts meet, and the steps the decision takes, until the request fails or stops.
import { describe, expect, it } from '@jest/globals';
import type { CompiledRoute } from '../../../api/v1alpha1/index.js';
import { compiledRoute } from '../../../testkit/gateway-config.js';
import {
  nextStep,
  spillIndex,
  type AttemptFailure,
  type AttemptLoop,
  type FailedAttempt,
  type NextStep,
} from './retry.js';

type Policy = Pick<CompiledRoute, 'fallback' | 'retry'>;

const policy = (
  over: { attempts?: number; maxAttempts?: number; on?: CompiledRoute['fallback']['on'] } = {},
) =>
  ({
    fallback: {
      on: over.on ?? ['5xx', '429', 'timeout', 'connect-error'],
      maxAttempts: over.maxAttempts ?? 3,
    },
    retry: { attempts: over.attempts ?? 1, backoffMs: 100, maxBackoffMs: 150, maxRetryAfterMs: 5000 },
  }) satisfies Policy;

const upstreamError = { message: 'upstream said no', type: 'server_error', param: null, code: null };

/** What an attempt can meet, as the upstream attempt reports it. */
const meets = {
  http500: { outcome: '5xx', status: 500, message: 'boom' },
  http503: { outcome: '5xx', status: 503, message: 'busy' },
  http400: { outcome: '4xx', status: 400, message: 'bad request' },
  http429: { outcome: '429', status: 429, retryAfterMs: 2000, message: 'slow down' },
  http429Long: { outcome: '429', status: 429, retryAfterMs: 60_000, message: 'come back in a minute' },
  noQuota: { outcome: '429', status: 429, code: 'insufficient_quota', message: 'quota' },
  timeout: { outcome: 'timeout', message: 'no response within 200ms' },
  refused: { outcome: 'connect-error', message: 'ECONNREFUSED' },
  brokenStream: { outcome: 'stream-error', message: 'socket hang up' },
  clientLeft: { outcome: 'aborted', message: 'client closed' },
} satisfies Record<string, AttemptFailure>;
type Meet = keyof typeof meets | 'brokenAfterFirstChunk';

const failedWith = (m: Meet): FailedAttempt =>
  m === 'brokenAfterFirstChunk'
    ? { ok: false, failure: meets.brokenStream, error: upstreamError, committed: true }
    : { ok: false, failure: meets[m], error: upstreamError, committed: false };

/** One step as the table spells it: `b1: retry 100ms`, `b0: fallover to b1`, `b2: fail 502 upstream_unavailable`. */
function spell(backend: number, step: NextStep): string {
  switch (step.action) {
    case 'retry':
      return `b${backend}: retry ${step.delayMs}ms`;
    case 'fallover':
      return `b${backend}: fallover to b${step.next}`;
    case 'fail':
      return `b${backend}: fail ${step.error.status} ${step.error.error.code ?? step.error.error.message}`;
    case 'stop':
      return `b${backend}: stop ${step.status}`;
    default: {
      const never: never = step;
      throw new Error(`unknown step ${JSON.stringify(never)}`);
    }
  }
}

/** Steps the loop from its start: one failure per attempt, as the runner would, until it ends. */
function stepThrough(route: CompiledRoute, planLength: number, failures: Meet[], from?: AttemptLoop) {
  const loop: AttemptLoop = from ? { ...from } : { planLength, index: 0, attempts: 0, retries: 0 };
  const steps: string[] = [];
  const states: AttemptLoop[] = [];
  for (const m of failures) {
    loop.attempts++;
    states.push({ ...loop });
    const step = nextStep(route, loop, failedWith(m));
    steps.push(spell(loop.index, step));
    if (step.action === 'retry') loop.retries++;
    else if (step.action === 'fallover') {
      loop.index = step.next;
      loop.retries = 0;
    } else break;
  }
  return { steps, states };
}

const routeWith = (p: Policy) => compiledRoute('chat', [{ name: 'a', url: 'http://a/v1' }], p);

const CASES: { name: string; policy: Policy; plan: number; failures: Meet[]; steps: string[] }[] = [
  {
    name: 'retries once with backoff, falls over, and gives the last upstream error to the client',
    policy: policy(),
    plan: 2,
    failures: ['http500', 'http500', 'http503'],
    steps: ['b0: retry 100ms', 'b0: fallover to b1', 'b1: fail 503 upstream said no'],
  },
  {
    name: 'caps the backoff at maxBackoff and counts retries per backend',
    policy: policy({ attempts: 2, maxAttempts: 6 }),
    plan: 2,
    failures: ['http500', 'http500', 'http500', 'timeout', 'timeout', 'timeout'],
    steps: [
      'b0: retry 100ms',
      'b0: retry 150ms',
      'b0: fallover to b1',
      'b1: retry 100ms',
      'b1: retry 150ms',
      'b1: fail 504 upstream_timeout',
    ],
  },
  {
    name: 'stops at maxAttempts even with backends left',
    policy: policy({ attempts: 0, maxAttempts: 2 }),
    plan: 4,
    failures: ['refused', 'refused'],
    steps: ['b0: fallover to b1', 'b1: fail 502 upstream_unavailable'],
  },
  {
    name: 'a retry the attempt budget has no room for ends the request',
    policy: policy({ attempts: 3, maxAttempts: 2 }),
    plan: 2,
    failures: ['http500', 'http500'],
    steps: ['b0: retry 100ms', 'b0: fail 500 upstream said no'],
  },
  {
    name: 'waits for Retry-After when it is longer than the backoff',
    policy: policy(),
    plan: 1,
    failures: ['http429', 'http429'],
    steps: ['b0: retry 2000ms', 'b0: fail 429 upstream said no'],
  },
  {
    name: 'falls over at once when Retry-After is beyond maxRetryAfter',
    policy: policy(),
    plan: 2,
    failures: ['http429Long', 'http500', 'http500'],
    steps: ['b0: fallover to b1', 'b1: retry 100ms', 'b1: fail 500 upstream said no'],
  },
  {
    name: 'never retries an exhausted quota on the same backend',
    policy: policy({ attempts: 3 }),
    plan: 2,
    failures: ['noQuota', 'noQuota'],
    steps: ['b0: fallover to b1', 'b1: fail 429 upstream said no'],
  },
  {
    name: 'gives a 4xx to the client as is, without retrying or falling over',
    policy: policy(),
    plan: 3,
    failures: ['http400'],
    steps: ['b0: fail 400 upstream said no'],
  },
  {
    name: 'gives a cause the route does not list to the client',
    policy: policy({ on: ['5xx'] }),
    plan: 2,
    failures: ['http500', 'timeout'],
    steps: ['b0: retry 100ms', 'b0: fail 504 upstream_timeout'],
  },
  {
    name: 'a stream broken before its first chunk falls over like a connection error',
    policy: policy({ attempts: 0 }),
    plan: 2,
    failures: ['brokenStream', 'refused'],
    steps: ['b0: fallover to b1', 'b1: fail 502 upstream_unavailable'],
  },
  {
    name: 'a stream broken after its first chunk stops as a 502: the client has part of the answer',
    policy: policy(),
    plan: 2,
    failures: ['brokenAfterFirstChunk'],
    steps: ['b0: stop 502'],
  },
  {
    name: 'a client that left stops the loop as a 499',
    policy: policy(),
    plan: 2,
    failures: ['http500', 'clientLeft'],
    steps: ['b0: retry 100ms', 'b0: stop 499'],
  },
];

describe('nextStep', () => {
  it.each(CASES)('$name', ({ policy: p, plan, failures, steps }) => {
    expect(stepThrough(routeWith(p), plan, failures).steps).toEqual(steps);
  });

  it.each(CASES)('depends only on the loop state: restarted at every attempt, $name', (c) => {
    const route = routeWith(c.policy);
    const { steps, states } = stepThrough(route, c.plan, c.failures);
    states.forEach((state, i) => {
      const resumed = stepThrough(route, c.plan, c.failures.slice(i), {
        ...state,
        attempts: state.attempts - 1,
      });
      expect(resumed.steps).toEqual(steps.slice(i));
    });
  });

  it('a final upstream status keeps its Retry-After for the client', () => {
    const loop: AttemptLoop = { planLength: 1, index: 0, attempts: 3, retries: 1 };
    const step = nextStep(routeWith(policy()), loop, failedWith('http429'));
    expect(step).toEqual({
      action: 'fail',
      error: { status: 429, error: upstreamError, retryAfterSeconds: 2 },
    });
  });
});

describe('spillIndex', () => {
  const pool = { name: 'pool', variant: 'stable' as const, spillOver: { to: 'hosted', onThrottle: true } };
  const hosted = { name: 'hosted', variant: 'stable' as const };
  const other = { name: 'other', variant: 'stable' as const };
  it.each([
    {
      name: '429 spills to the target, past backends between',
      plan: [pool, other, hosted],
      meet: 'http429',
      to: 2,
    },
    { name: '503 spills', plan: [pool, hosted], meet: 'http503', to: 1 },
    { name: 'a 500 is not a throttle', plan: [pool, hosted], meet: 'http500', to: undefined },
    { name: 'a timeout is not a throttle', plan: [pool, hosted], meet: 'timeout', to: undefined },
    {
      name: 'a stream broken after its first chunk never spills',
      plan: [pool, hosted],
      meet: 'brokenAfterFirstChunk',
      to: undefined,
    },
    {
      name: 'a target tried before is not tried again',
      plan: [hosted, pool],
      meet: 'http429',
      to: undefined,
      index: 1,
    },
    { name: 'no target in the plan', plan: [pool, other], meet: 'http429', to: undefined },
    {
      name: 'onThrottle false',
      plan: [{ ...pool, spillOver: { to: 'hosted', onThrottle: false } }, hosted],
      meet: 'http429',
      to: undefined,
    },
    { name: 'no spillOver', plan: [other, hosted], meet: 'http429', to: undefined },
    {
      name: "the target's canary variant is not the target",
      plan: [pool, { ...hosted, variant: 'canary' as const }],
      meet: 'http429',
      to: undefined,
    },
  ] satisfies {
    name: string;
    plan: Parameters<typeof spillIndex>[0];
    meet: Meet;
    to: number | undefined;
    index?: number;
  }[])('$name', ({ plan, meet, to, ...rest }) => {
    const index = 'index' in rest ? (rest.index as number) : 0;
    expect(spillIndex(plan, index, failedWith(meet))).toBe(to);
  });
});
