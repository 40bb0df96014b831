// fast-check arbitraries of the custom resources the operator compiles: ModelRoutes valid by construction
// (every field of the spec present or not, cross-field rules kept), the Canaries that roll their backends out
// (with the status a rollout leaves), and ModelGateways. They are raw objects, as the API server stores them
// (defaults not filled in); `validRoute` and friends keep only what the schemas accept.
import fc from 'fast-check';
import {
  Canary,
  FALLBACK_CAUSES,
  ModelGateway,
  ModelRoute,
  PROMPT_DOMAINS,
  PROVIDERS,
} from '../api/v1alpha1/index.js';

type Obj = Record<string, unknown>;

/** Optional fields: each present (from its arbitrary) or absent, never `undefined`. */
function optionals(fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Obj> {
  return fc.record(fields, { requiredKeys: [] });
}

export const dnsLabel = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,8}[a-z0-9])?$/);
const modelName = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,12}$/);
const duration = fc.oneof(
  fc.stringMatching(/^([0-9]{1,3}(\.[0-9])?(ms|s|m|h)){1,2}$/),
  fc.constantFrom('0s', '100ms', '1.5s', '30s', '5m', '1h30m', '999999999h'),
);
/** URLs the backend schema's pattern admits that no URL parser does. */
export const MALFORMED_URLS = [
  'http://[',
  'http://a:99999/v1',
  'http://a%zz/v1',
  'http:///',
  'https://a..b/',
];
const url = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom(...MALFORMED_URLS) },
  {
    weight: 8,
    arbitrary: fc.stringMatching(
      /^https?:\/\/[a-z0-9][a-z0-9.-]{0,15}(:[0-9]{1,5})?(\/[a-z0-9._~-]{1,6}){0,2}\/?$/,
    ),
  },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'http://vllm:8000/v1',
      'https://api.openai.com/v1/',
      'https://api.anthropic.com/v1',
    ),
  },
);

function backend(name: string, others: string[]): fc.Arbitrary<Obj> {
  const endpoint = fc.oneof(
    url.map((u) => ({ url: u })),
    fc
      .tuple(
        dnsLabel,
        fc.integer({ min: 1, max: 65535 }),
        optionals({
          namespace: dnsLabel,
          scheme: fc.constantFrom('http', 'https'),
          basePath: fc.constantFrom('/v1', '/', '', '/openai/v1/'),
        }),
      )
      .map(([svc, port, rest]) => ({ service: { name: svc, port, ...rest } })),
  );
  const spillTargets = others.filter((o) => o !== name);
  return fc
    .tuple(
      endpoint,
      optionals({
        provider: fc.constantFrom(...PROVIDERS),
        model: modelName,
        credentialsSecretRef: fc.record({ name: dnsLabel, key: fc.stringMatching(/^[-._a-zA-Z0-9]{1,10}$/) }),
        pricing: optionals({
          inputPerMillionTokens: fc.double({ min: 0, max: 10_000, noNaN: true }),
          outputPerMillionTokens: fc.double({ min: 0, max: 10_000, noNaN: true }),
        }),
        weight: fc.integer({ min: 0, max: 10_000 }),
        quality: fc.double({ min: 0, max: 1, noNaN: true }),
        maxConcurrentRequests: fc.integer({ min: 1, max: 100_000 }),
        ...(spillTargets.length > 0
          ? {
              spillOver: fc.record(
                { to: fc.constantFrom(...spillTargets), onThrottle: fc.boolean() },
                { requiredKeys: ['to'] },
              ),
            }
          : {}),
      }),
    )
    .map(([where, rest]) => ({ name, ...where, ...rest }));
}

/** selection.qualityCost, with what needs targetQuality only beside it. */
function qualityCost(names: string[]): fc.Arbitrary<Obj> {
  const name = fc.constantFrom(...names);
  return fc
    .tuple(
      name,
      name,
      optionals({ threshold: fc.double({ min: 0, max: 1, noNaN: true }) }),
      fc.option(fc.double({ min: 0.5, max: 1, noNaN: true }), { nil: undefined }),
      fc.constantFrom('none', 'model', 'learning', 'embeddings', 'model+learning'),
    )
    .map(([strong, weak, rest, target, extra]) => ({
      strongBackend: strong,
      weakBackend: weak,
      ...rest,
      ...(target === undefined ? {} : { targetQuality: target }),
      // model, learning and embeddings need targetQuality; embeddings and learning do not go together.
      ...(target !== undefined && extra.includes('model')
        ? { model: { configMapRef: { name: 'router' } } }
        : {}),
      ...(target !== undefined && extra.includes('learning') ? { learning: { exploration: 0.05 } } : {}),
      ...(target !== undefined && extra === 'embeddings'
        ? {
            embeddings: {
              url: 'http://tei:8080/v1',
              model: 'bge',
              routerModel: { configMapRef: { name: 'emb' } },
            },
          }
        : {}),
    }));
}

function selection(names: string[]): fc.Arbitrary<Obj | undefined> {
  const name = fc.constantFrom(...names);
  const domains = fc
    .shuffledSubarray([...PROMPT_DOMAINS], { minLength: 1, maxLength: 4 })
    .chain((ds) =>
      fc.tuple(
        ...ds.map((d) =>
          fc.tuple(
            fc.constant(d),
            name,
            fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
          ),
        ),
      ),
    )
    .map((entries) =>
      entries.map(([d, b, minConfidence]) => ({
        domains: [d],
        backend: b,
        ...(minConfidence === undefined ? {} : { minConfidence }),
      })),
    );
  return fc.option(
    fc
      .tuple(
        fc.constantFrom('weighted', 'least-latency', 'least-cost', 'quality-cost'),
        optionals({
          stickiness: fc.constantFrom('user', 'api-key', 'none'),
          qualityCost: qualityCost(names),
          domains,
        }),
      )
      .map(([policy, rest]) =>
        policy === 'quality-cost' && rest.qualityCost === undefined ? { ...rest } : { policy, ...rest },
      ),
    { nil: undefined },
  );
}

/** spec.cache: semantic settings with mode semantic only. */
const routeCache: fc.Arbitrary<Obj> = fc
  .tuple(
    fc.constantFrom('off', 'exact', 'semantic'),
    optionals({
      ttl: duration,
      scope: fc.constantFrom('route', 'team', 'api-key'),
      cacheNonDeterministic: fc.boolean(),
      keepAcrossRevisions: fc.boolean(),
    }),
    fc.option(optionals({ threshold: fc.double({ min: 0.5, max: 1, noNaN: true }), guard: fc.boolean() }), {
      nil: undefined,
    }),
  )
  .map(([mode, rest, semantic]) => ({
    mode,
    ...rest,
    ...(mode === 'semantic' && semantic !== undefined ? { semantic } : {}),
  }));

function policies(names: string[]): fc.Arbitrary<Obj> {
  const subject = fc.constantFrom('api-key', 'team', 'route');
  return optionals({
    fallback: optionals({
      when: fc.subarray([...FALLBACK_CAUSES], { minLength: 1 }),
      maxAttempts: fc.integer({ min: 1, max: 10 }),
    }),
    retry: optionals({
      attempts: fc.integer({ min: 0, max: 5 }),
      backoff: duration,
      maxBackoff: duration,
      maxRetryAfter: duration,
    }),
    timeouts: optionals({ firstToken: duration, total: duration }),
    cache: routeCache,
    rateLimits: fc.array(
      fc
        .tuple(
          optionals({ per: subject }),
          fc.integer({ min: 1, max: 10_000_000 }),
          fc.constantFrom('requestsPerMinute', 'tokensPerMinute'),
        )
        .map(([rest, n, which]) => ({ ...rest, [which]: n })),
      { maxLength: 3 },
    ),
    budgets: fc.array(
      fc
        .tuple(
          optionals({ per: subject, window: fc.constantFrom('day', 'month') }),
          fc.double({ min: 0.01, max: 10_000_000, noNaN: true }),
          fc.option(fc.constantFrom(...names), { nil: undefined }),
        )
        .map(([rest, usd, fallbackTo]) => ({
          ...rest,
          usd,
          ...(fallbackTo === undefined ? {} : { onExhausted: 'fallback', fallbackBackend: fallbackTo }),
        })),
      { maxLength: 3 },
    ),
  });
}

/** Second-resolution timestamps from a few values, so that routes and canaries often tie on age. */
const timestamp = fc.option(
  fc.constantFrom('2025-01-01T00:00:00Z', '2025-01-01T00:00:01Z', '2025-06-01T12:00:00Z'),
  { nil: undefined },
);

/** A ModelRoute of `gateway`, named `name`, raw (as stored); models collide now and then on purpose. */
export function modelRoute(name: string, namespace: string, gateway: string): fc.Arbitrary<Obj> {
  return fc
    .tuple(
      fc.uniqueArray(dnsLabel, { minLength: 1, maxLength: 4 }),
      fc.oneof(fc.constantFrom('chat', 'code', 'embed'), modelName),
      timestamp,
      fc.option(fc.integer({ min: 1, max: 99 }).map(String), { nil: undefined }),
    )
    .chain(([names, model, created, resourceVersion]) =>
      fc
        .tuple(fc.tuple(...names.map((n) => backend(n, names))), selection(names), policies(names))
        .map(([backends, sel, rest]) => ({
          apiVersion: 'beastmode.dev/v1alpha1',
          kind: 'ModelRoute',
          metadata: {
            name,
            namespace,
            ...(created === undefined ? {} : { creationTimestamp: created }),
            ...(resourceVersion === undefined ? {} : { resourceVersion }),
          },
          spec: {
            gatewayRef: { name: gateway },
            model,
            backends,
            ...(sel === undefined ? {} : { selection: sel }),
            ...rest,
          },
        })),
    );
}

/** Routes the schema accepts (the API server would refuse the others). */
export const validRoute = (name: string, namespace: string, gateway: string): fc.Arbitrary<Obj> =>
  modelRoute(name, namespace, gateway).filter((r) => ModelRoute.safeParse(r).success);

/** A Canary of one of `routes`' backends, with the status a rollout in some phase leaves. */
export function canary(name: string, namespace: string, routes: Obj[]): fc.Arbitrary<Obj> {
  const targets = routes.flatMap((r) => {
    const spec = r.spec as { backends: Obj[] };
    const meta = r.metadata as { name: string };
    return spec.backends.map((b) => ({ route: meta.name, backend: b }));
  });
  return fc
    .tuple(
      fc.constantFrom(...targets),
      timestamp,
      fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
      fc.option(url, { nil: undefined }),
      fc.boolean(),
    )
    .map(([target, created, weight, candidateUrl, recorded]) => {
      const stable = target.backend;
      const candidate =
        candidateUrl === undefined ? stable : { ...stable, url: candidateUrl, service: undefined };
      return {
        apiVersion: 'beastmode.dev/v1alpha1',
        kind: 'Canary',
        metadata: { name, namespace, ...(created === undefined ? {} : { creationTimestamp: created }) },
        spec: {
          routeRef: { name: target.route },
          backend: stable.name,
          analysis: { metrics: [{ name: 'error-rate', max: 0.05 }] },
        },
        ...(recorded
          ? {
              status: {
                phase: 'Progressing',
                stableBackend: stable,
                stableRevision: 'r1',
                ...(weight === undefined ? {} : { canaryWeight: weight }),
                candidateBackend: JSON.parse(JSON.stringify(candidate)) as unknown,
                candidateRevision: 'r2',
              },
            }
          : {}),
      };
    })
    .filter((c) => Canary.safeParse(c).success);
}

/** A ModelGateway, its spec empty or with the settings that reach the GatewayConfig. */
export function modelGateway(name: string, namespace: string): fc.Arbitrary<Obj> {
  return optionals({
    logLevel: fc.constantFrom('error', 'warn', 'info', 'debug'),
    cache: optionals({ maxEntries: fc.integer({ min: 1, max: 1_000_000 }) }),
    limits: optionals({
      maxRequestBytes: fc.integer({ min: 1024, max: 67_108_864 }),
      maxConcurrentRequests: fc.integer({ min: 1, max: 100_000 }),
    }),
    auth: fc.constant({ apiKeysSecretRef: { name: 'keys' } }),
  })
    .map((spec) => ({
      apiVersion: 'beastmode.dev/v1alpha1',
      kind: 'ModelGateway',
      metadata: { name, namespace },
      spec,
    }))
    .filter((g) => ModelGateway.safeParse(g).success);
}

/** A gateway with up to `max` routes (some models shared, so some routes conflict) and their canaries. */
export function gatewayWithRoutes(max = 5): fc.Arbitrary<{ gateway: Obj; routes: Obj[]; canaries: Obj[] }> {
  const namespace = 'llm';
  return fc
    .tuple(modelGateway('gw', namespace), fc.uniqueArray(dnsLabel, { minLength: 1, maxLength: max }))
    .chain(([gateway, names]) =>
      fc.tuple(...names.map((n) => validRoute(n, namespace, 'gw'))).chain((routes) =>
        fc
          .uniqueArray(dnsLabel, { maxLength: 3 })
          .chain((canaryNames) =>
            canaryNames.length === 0
              ? fc.constant([] as Obj[])
              : fc.tuple(...canaryNames.map((c) => canary(c, namespace, routes))),
          )
          .map((canaries) => ({ gateway, routes, canaries })),
      ),
    );
}
