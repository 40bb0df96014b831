import { describe, expect, it } from '@jest/globals';
import type { Experiment, ModelRoute } from '../../../api/v1alpha1/index.js';
import { experimentFor, experimentOverlay, experimentSplitChanged } from './experiment-route.js';
import { CompiledRouteMemo, compileRouteChecked } from './route-compile.js';

const route = {
  apiVersion: 'beastmode.dev/v1alpha1',
  kind: 'ModelRoute',
  metadata: { name: 'chat', namespace: 'llm', resourceVersion: '3' },
  spec: {
    gatewayRef: { name: 'main' },
    model: 'chat',
    backends: [
      { name: 'slow', url: 'https://slow.example.com/v1' },
      { name: 'fast', url: 'https://fast.example.com/v1', weight: 0 },
    ],
  },
} as unknown as ModelRoute;

function experiment(
  name: string,
  created: string,
  status: Experiment['status'],
  rv = '1',
  backends = ['slow', 'fast'],
): Experiment {
  return {
    apiVersion: 'beastmode.dev/v1alpha1',
    kind: 'Experiment',
    metadata: { name, namespace: 'llm', creationTimestamp: created, resourceVersion: rv, generation: 1 },
    spec: {
      routeRef: { name: 'chat' },
      variants: backends.map((b, i) => ({ name: `v${i}`, backend: b })),
      primary: { metric: 'latency-ms', minimumDetectableEffect: 20 },
    },
    status,
  } as unknown as Experiment;
}

const running = (w0: number, w1: number): Experiment['status'] => ({
  phase: 'Running',
  specHash: 'h',
  variants: [
    { name: 'v0', weight: w0 },
    { name: 'v1', weight: w1 },
  ],
});

describe('experimentFor', () => {
  it('the oldest live experiment naming the route owns it', () => {
    const a = experiment('b-older', '2026-01-01T00:00:00Z', undefined);
    const b = experiment('a-newer', '2026-01-02T00:00:00Z', undefined);
    expect(experimentFor('chat', [b, a])?.metadata.name).toBe('b-older');
    const gone = { ...a, metadata: { ...a.metadata, deletionTimestamp: '2026-01-03T00:00:00Z' } };
    expect(experimentFor('chat', [gone, b])?.metadata.name).toBe('a-newer');
    expect(experimentFor('other', [a, b])).toBeUndefined();
  });
});

describe('experimentOverlay', () => {
  it('applies the schema defaults, and puts nothing on a route that lacks a variant backend', () => {
    const e = experiment('x', '2026-01-01T00:00:00Z', running(0.25, 0.75));
    expect(experimentOverlay(e, route.spec.backends)).toMatchObject({
      name: 'x',
      subject: 'user',
      variants: [{ weight: 0.25 }, { weight: 0.75 }],
    });
    expect(experimentOverlay(e, [{ name: 'slow' }])).toBeUndefined();
  });
});

describe('compiling a route with its experiment', () => {
  it('recompiles when the experiment version moves, even if the route did not', () => {
    const memo = new CompiledRouteMemo();
    const compile = (e: Experiment) =>
      compileRouteChecked(route, undefined, undefined, memo, e, experimentOverlay(e, route.spec.backends));
    const first = compile(experiment('x', '2026-01-01T00:00:00Z', running(0.5, 0.5), '1'));
    const second = compile(experiment('x', '2026-01-01T00:00:00Z', running(0.2, 0.8), '2'));
    expect('compiled' in first && first.compiled.experiment?.variants.map((v) => v.weight)).toEqual([
      0.5, 0.5,
    ]);
    expect('compiled' in second && second.compiled.experiment?.variants.map((v) => v.weight)).toEqual([
      0.2, 0.8,
    ]);
  });
});

describe('experimentSplitChanged', () => {
  it('is true only when what the route gets changes', () => {
    const a = experiment('x', '2026-01-01T00:00:00Z', running(0.5, 0.5), '1');
    const moments = {
      ...running(0.5, 0.5),
      lastTickAt: '2026-01-01T00:01:00Z',
    };
    expect(experimentSplitChanged(a, undefined)).toBe(true);
    expect(experimentSplitChanged(experiment('x', '2026-01-01T00:00:00Z', moments, '2'), a)).toBe(false);
    expect(experimentSplitChanged(experiment('x', '2026-01-01T00:00:00Z', running(0.3, 0.7), '2'), a)).toBe(
      true,
    );
    const promoted = { ...running(0.5, 0.5), phase: 'Promoted' as const, promotedVariant: 'v1' };
    expect(experimentSplitChanged(experiment('x', '2026-01-01T00:00:00Z', promoted, '3'), a)).toBe(true);
  });
});
