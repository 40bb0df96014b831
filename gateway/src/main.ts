// `beastmode gateway`: the data plane process. Flags fall back to BEASTMODE_* environment variables
// (config/deployment.ts); both are validated. SIGTERM stops accepting and drains in-flight requests up to
// --drain-seconds. In the cluster the operator's Deployment runs `beastmode gateway --configmap
// <ns>/<gw>-gateway-config --secrets-dir <dir>` with every Secret it uses mounted under the dir
// (operator/src/render/gateway.ts); config/contract.test.ts keeps the two in line.
import cluster from 'node:cluster';
import v8 from 'node:v8';
import { z } from 'zod';
import { readFlags, type CommandSpec } from '../../cli/flags.js';
import { isOtlpEndpoint, OTLP_ENDPOINT_MESSAGE, type GatewayConfig } from '../../api/v1alpha1/index.js';
import { KubeClient } from '../../kube/client.js';
import { gatewayKubeAuth } from './config/configmap.js';
import {
  authKeysProblem,
  ENV,
  keysFileFor,
  redisUrlFrom,
  type KeysFileOptions,
} from './config/deployment.js';
import { credentialFiles, credentialUses, type CredentialFiles } from './config/secrets.js';
import { directoryWatch } from './config/model-files.js';
import { createLogger, type Logger } from './log.js';
import { POLICY_OFF, type PolicySettings } from './policy/policy.js';
import { EXIT_REFUSED_CONFIG, runPrimary } from './workers/primary.js';
import { connectToPod } from './workers/pod-state.js';
import { startGateway, type ConfigOrigin, type Gateway } from './server/gateway.js';
import type { TracingOptions } from './tracing/tracer.js';

export { startGateway } from './server/gateway.js';

const Flags = z
  .object({
    port: z.coerce.number().int().min(0).max(65535).default(8080),
    host: z.string().default('0.0.0.0'),
    config: z.string().min(1).optional(),
    configmap: z
      .string()
      .regex(/^[a-z0-9-]+\/[a-z0-9.-]+$/, 'must be namespace/name')
      .optional(),
    kubeconfig: z.string().min(1).optional(),
    routes: z.string().min(1).optional(),
    'secrets-dir': z.string().min(1).optional(),
    'api-keys-file': z.string().min(1).optional(),
    'router-models-dir': z.string().min(1).optional(),
    'redis-url-file': z.string().min(1).optional(),
    'log-level': z.enum(['error', 'warn', 'info', 'debug']).default('info'),
    'drain-seconds': z.coerce.number().min(0).max(3600).default(25),
    workers: z.coerce.number().int().min(1).max(256).default(1),
    'otlp-endpoint': z.string().refine(isOtlpEndpoint, OTLP_ENDPOINT_MESSAGE).optional(),
    'trace-sample-ratio': z.coerce.number().min(0).max(1).default(1),
    'trace-service-name': z.string().min(1).max(128).default('beastmode-gateway'),
  })
  .refine((f) => [f.config, f.configmap, f.routes].filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one of --config, --configmap or --routes',
  });
export type GatewayFlags = z.infer<typeof Flags>;

export const GATEWAY_COMMAND: CommandSpec = {
  name: 'beastmode gateway',
  usage: '--config <file> | --configmap <ns/name> | --routes <dir> [flags]',
  summary:
    'The data plane: serves the OpenAI-compatible API (/v1/chat/completions, /v1/completions,\n' +
    '/v1/embeddings, /v1/models, /v1/feedback) for the routes of one GatewayConfig, with /healthz, /readyz\n' +
    'and /metrics beside it. SIGTERM stops accepting and drains in-flight requests.',
  flags: {
    port: { value: 'port', env: ENV.port, default: '8080', help: 'Port to listen on' },
    host: { value: 'addr', env: ENV.host, default: '0.0.0.0', help: 'Address to listen on' },
    config: {
      value: 'file',
      env: ENV.config,
      help: 'A GatewayConfig file (JSON or YAML), re-read when it changes',
    },
    configmap: {
      value: 'ns/name',
      env: ENV.configmap,
      help: 'The GatewayConfig ConfigMap the operator writes, watched through the API server',
    },
    kubeconfig: {
      value: 'path',
      env: ENV.kubeconfig,
      help: 'Kubeconfig for --configmap; in-cluster when unset',
    },
    routes: {
      value: 'dir',
      env: ENV.routes,
      help: 'A directory of ModelRoute manifests (no operator needed)',
    },
    'secrets-dir': {
      value: 'dir',
      env: ENV.secretsDir,
      help:
        'Backend credentials and keys.yaml as <dir>/<namespace>/<secret>/<key> files (mounted Secrets),\n' +
        're-read every second',
    },
    'api-keys-file': { value: 'file', env: ENV.apiKeysFile, help: 'keys.yaml of the API keys Secret' },
    'router-models-dir': {
      value: 'dir',
      env: ENV.routerModelsDir,
      help:
        'With --config or --routes: the router model ConfigMaps routes name, as <dir>/<namespace>/<configmap>/<key>\n' +
        'files, re-read every second (with --configmap they are read through the API server)',
    },
    'redis-url-file': {
      value: 'file',
      env: ENV.redisUrlFile,
      help: 'A file holding the redis:// URL (shared limits, budgets and cache), read at start',
    },
    'log-level': { value: 'level', env: ENV.logLevel, default: 'info', help: 'error, warn, info or debug' },
    workers: {
      value: 'n',
      env: ENV.workers,
      default: '1',
      help: 'Processes serving the port (one per core of the CPU limit); they share limits, feedback and metrics',
    },
    'drain-seconds': {
      value: 's',
      env: ENV.drainSeconds,
      default: '25',
      help: 'How long SIGTERM waits for in-flight requests',
    },
    'otlp-endpoint': {
      value: 'url',
      env: ENV.otlpEndpoint,
      help:
        'Trace requests to this OTLP/HTTP collector (JSON, POST <url>/v1/traces) while the config has no\n' +
        'tracing of its own (a ModelGateway sets spec.tracing); unset: no tracing (docs/tracing.md)',
    },
    'trace-sample-ratio': {
      value: '0..1',
      env: ENV.traceSampleRatio,
      default: '1',
      help: 'With --otlp-endpoint: the share of requests traced that carry no client traceparent',
    },
    'trace-service-name': {
      value: 'name',
      env: ENV.serviceName,
      default: 'beastmode-gateway',
      help: 'With --otlp-endpoint: the service.name of the spans',
    },
  },
  notes:
    `Environment only: ${ENV.redisUrl} (the URL itself, before --redis-url-file), BEASTMODE_POLICY=off (serve\n` +
    'without auth, limits, budgets and cache: for the benchmark that prices them).',
};

/** Flags, then environment variables; an error message naming what is wrong. Pure (for contract tests). */
export function parseFlags(
  argv: string[],
  env: NodeJS.ProcessEnv,
): { ok: true; flags: GatewayFlags } | { ok: false; error: string } | { ok: false; help: string } {
  const read = readFlags(GATEWAY_COMMAND, argv, env);
  if (read.kind === 'help') return { ok: false, help: read.text };
  if (read.kind === 'error') return { ok: false, error: read.message };
  if (read.positionals.length > 0) return { ok: false, error: `unexpected argument ${read.positionals[0]}` };
  const r = Flags.safeParse(read.values);
  return r.success ? { ok: true, flags: r.data } : { ok: false, error: z.prettifyError(r.error) };
}

/** `beastmode gateway [flags]`: resolves with an exit code for --help or bad flags, else keeps serving. */
export async function runGateway(argv: string[], env: NodeJS.ProcessEnv): Promise<number | undefined> {
  const parsed = parseFlags(argv, env);
  if (!parsed.ok) {
    if ('help' in parsed) {
      process.stdout.write(parsed.help);
      return 0;
    }
    process.stderr.write(`invalid flags: ${parsed.error}\n`);
    return 2;
  }
  const f = parsed.flags;
  if (f.workers > 1 && cluster.isPrimary) {
    runPrimary({
      workers: f.workers,
      logger: createLogger(f['log-level']),
      drainSeconds: f['drain-seconds'],
    });
    return undefined;
  }
  await serve(f, env);
  return undefined;
}

/**
 * How the policy layer is wired: API keys from keys.yaml of the Secret the config names (--api-keys-file,
 * else <secrets-dir>/<namespace>/<name>/keys.yaml), Redis from BEASTMODE_REDIS_URL or --redis-url-file.
 * BEASTMODE_POLICY=off turns auth, limits, budgets and cache off: for the benchmark that prices them.
 */
function policySettings(redis: string | undefined, env: NodeJS.ProcessEnv, keys: KeysFileOptions) {
  if (env.BEASTMODE_POLICY === 'off') return POLICY_OFF;
  const settings: PolicySettings = {
    keysFile: (config) => keysFileFor(config, keys),
    requireAuth: keys.apiKeysFile !== undefined,
  };
  return redis !== undefined ? { ...settings, redis } : settings;
}

/** Writes the reason as the one JSON line a refused start leaves, and exits with the refusal's code. */
function refuseToStart(problem: string): never {
  process.stderr.write(
    `${JSON.stringify({ level: 'error', message: 'Refusing to start', reason: problem, component: 'gateway' })}\n`,
  );
  process.exit(EXIT_REFUSED_CONFIG);
}

function configOrigin(f: GatewayFlags): ConfigOrigin {
  if (f.config !== undefined) return { file: f.config };
  if (f.routes !== undefined) return { routesDir: f.routes };
  const [namespace = '', name = ''] = (f.configmap ?? '').split('/');
  return { configMap: { namespace, name }, client: new KubeClient(gatewayKubeAuth(f.kubeconfig)) };
}

/** Exports which backends can read their credential, now and whenever a file or the config changes. */
export function reportCredentials(gw: Gateway, files: CredentialFiles): void {
  const report = (): void => {
    const config = gw.state.store.current()?.config;
    if (config === undefined) return;
    gw.state.metrics.credentials(
      credentialUses(config).map((u) => ({
        labels: u.labels,
        secret: u.ref.name,
        key: u.ref.key,
        ready: files.readable(u.ref),
      })),
    );
  };
  const follow = (config: GatewayConfig): void =>
    void files.follow(credentialUses(config).map((u) => u.ref)).then(report);
  gw.state.store.onChange((c) => follow(c.config));
  const first = gw.state.store.current();
  if (first !== undefined) follow(first.config);
  files.onChange(report);
}

/**
 * Never serve anonymously a config that turns auth on: the policy refuses every key without a keys file,
 * and a gateway that never had a good config refuses to start with a message saying why.
 */
function refuseUnsafeAuth(gw: Gateway, keys: KeysFileOptions, withPolicy: boolean, logger: Logger): void {
  let servedSafely = false;
  let said: string | undefined;
  const onConfig = (config: GatewayConfig): void => {
    const problem = withPolicy ? authKeysProblem(config, keys) : undefined;
    if (problem === undefined) {
      servedSafely = true;
      said = sayAuth(gw, config, keys, logger, said);
      return;
    }
    if (!servedSafely) refuseToStart(problem);
    logger.log('error', 'Auth is on but no API keys can be read: every request is refused', {
      reason: problem,
    });
  };
  gw.state.store.onChange((c) => onConfig(c.config));
  const first = gw.state.store.current();
  if (first !== undefined) onConfig(first.config);
}

/**
 * Logs whether auth is on, at start and whenever a config changes it: a gateway that serves everyone
 * anonymously says so. Returns the state it said (or had said already).
 */
function sayAuth(
  gw: Gateway,
  config: GatewayConfig,
  keys: KeysFileOptions,
  logger: Logger,
  said: string | undefined,
): string {
  const file = gw.state.policy.authOn(config) ? keysFileFor(config, keys) : undefined;
  const now = file !== undefined ? `on:${file}` : 'off';
  if (now === said) return now;
  if (file !== undefined)
    logger.log('info', 'Auth is on: every request needs an API key', {
      keysFile: file,
      by: config.auth !== undefined ? 'config' : '--api-keys-file',
    });
  else logger.log('warn', 'Auth is off: every caller is served anonymously', { revision: config.revision });
  return now;
}

/**
 * V8 flags the serving process sets on itself before it serves (NODE_OPTIONS may not carry them).
 * Allocation-site pretenuring off: once many objects of one allocation site survive a minor collection
 * (the per-request objects of the HTTP server, undici and the pipeline do whenever a pause leaves a backlog
 * in flight), V8 starts allocating that site's objects straight in the old generation, and from then on
 * every request leaves them for a full collection. Measured on one pinned core at 1,000 req/s with keys,
 * limits and a budget: 0.8 KB promoted a request instead of 8.2 KB, half the minor-collection time and
 * half the full collections; CPU per request and tail latency did not move measurably there
 * (gateway/README.md, Performance).
 */
const GATEWAY_V8_FLAGS = ['--no-allocation-site-pretenuring'] as const;

async function serve(f: GatewayFlags, env: NodeJS.ProcessEnv): Promise<void> {
  for (const flag of GATEWAY_V8_FLAGS) v8.setFlagsFromString(flag);
  const logger = createLogger(f['log-level']);
  const secretsDir = f['secrets-dir'];
  const keys = { apiKeysFile: f['api-keys-file'], secretsDir };
  const redis = redisUrlFrom({ ...env, [ENV.redisUrlFile]: f['redis-url-file'] });
  if (redis.problem !== undefined && env.BEASTMODE_POLICY !== 'off') refuseToStart(redis.problem);
  const policy = policySettings(redis.url, env, keys);
  // Credentials come from files only (mounted Secrets, or BEASTMODE_SECRET_* variables): the gateway holds
  // no permission on Secrets, and the request path reads them from memory.
  const files = credentialFiles(secretsDir);
  const gw = await startGateway({
    policy,
    port: f.port,
    host: f.host,
    source: configOrigin(f),
    secrets: files,
    logger,
    ...(f['router-models-dir'] !== undefined
      ? { routerModelWatch: directoryWatch(f['router-models-dir']) }
      : {}),
    // Only for the benchmark that compares the two; see gateway/README.md.
    v1ViaExpress: env.BEASTMODE_V1_VIA_EXPRESS === '1',
    pod: connectToPod(),
    tracing: tracingOptions(f, env),
  });
  reportCredentials(gw, files);
  refuseUnsafeAuth(gw, keys, policy.enforce !== false, logger);
  exitOnSignals(gw, logger, f['drain-seconds'] * 1000, () => files.stop());
}

/**
 * How long connections kept alive but idle stay open after SIGTERM: a client behind a Service keeps its
 * connection to this pod after the endpoint is gone, and its next request, answered with `connection:
 * close`, moves it to another replica without an error.
 */
const IDLE_GRACE_MS = 1000;

/** The flags' tracing, used while the config has none, and the pod the spans come from (downward API). */
function tracingOptions(f: GatewayFlags, env: NodeJS.ProcessEnv): TracingOptions {
  const endpoint = f['otlp-endpoint'];
  return {
    defaults:
      endpoint !== undefined
        ? { endpoint, sampleRatio: f['trace-sample-ratio'], serviceName: f['trace-service-name'] }
        : undefined,
    pod: { namespace: env.POD_NAMESPACE, name: env.POD_NAME },
  };
}

/** SIGTERM or SIGINT: stop accepting, drain requests in flight up to the deadline, then exit. */
function exitOnSignals(gw: Gateway, logger: Logger, drainMs: number, beforeClose: () => void): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log('info', 'Shutting down', { signal, inflight: gw.state.inflight() });
    beforeClose();
    gw.close(drainMs, IDLE_GRACE_MS).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
