// Gateway entry point: npm run gateway -- --port 8080 (--config file.json|yaml | --configmap ns/name
// [--kubeconfig file] | --routes dir) [--secrets-dir dir] [--api-keys-file file] [--host 0.0.0.0]
// [--log-level info]. Flags fall back to BEASTMODE_* environment variables (config/deployment.ts); both
// are validated. SIGTERM stops accepting and drains in-flight requests up to --drain-seconds. In the
// cluster the operator's Deployment runs `beastmode gateway --configmap <ns>/<gw>-gateway-config`
// (operator/src/render/gateway.ts); config/contract.test.ts keeps the two in line.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { GatewayConfig } from '../../api/v1alpha1/index.js';
import { loadKubeConfig } from './config/configmap.js';
import { authKeysProblem, ENV, keysFileFor } from './config/deployment.js';
import { FirstOfSecretResolver, KubernetesSecretResolver, referencedSecrets } from './config/kube-secrets.js';
import { defaultSecretResolver, type SecretResolver } from './config/secrets.js';
import { createLogger } from './log.js';
import { createPolicy } from './policy/index.js';
import { startGateway, type ConfigOrigin } from './server/gateway.js';
import { PolicyBridge } from './server/policy-bridge.js';

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
    'log-level': z.enum(['error', 'warn', 'info', 'debug']).default('info'),
    'drain-seconds': z.coerce.number().min(0).max(3600).default(25),
  })
  .refine((f) => [f.config, f.configmap, f.routes].filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one of --config, --configmap or --routes',
  });
export type GatewayFlags = z.infer<typeof Flags>;

/** Flags, then environment variables; an error message naming what is wrong. Pure (for contract tests). */
export function parseFlags(
  argv: string[],
  env: NodeJS.ProcessEnv,
): { ok: true; flags: GatewayFlags } | { ok: false; error: string } {
  const s = { type: 'string' } as const;
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({
      args: argv,
      options: {
        port: s,
        host: s,
        config: s,
        configmap: s,
        kubeconfig: s,
        routes: s,
        'secrets-dir': s,
        'api-keys-file': s,
        'log-level': s,
        'drain-seconds': s,
      },
    }).values;
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
  // An empty variable counts as unset (a Deployment may render `value: ""`).
  const e = (name: string): string | undefined => (env[name] === '' ? undefined : env[name]);
  const merged = {
    port: values.port ?? e(ENV.port),
    host: values.host ?? e(ENV.host),
    config: values.config ?? e(ENV.config),
    configmap: values.configmap ?? e(ENV.configmap),
    kubeconfig: values.kubeconfig ?? e(ENV.kubeconfig),
    routes: values.routes ?? e(ENV.routes),
    'secrets-dir': values['secrets-dir'] ?? e(ENV.secretsDir),
    'api-keys-file': values['api-keys-file'] ?? e(ENV.apiKeysFile),
    'log-level': values['log-level'] ?? e(ENV.logLevel),
    'drain-seconds': values['drain-seconds'] ?? e(ENV.drainSeconds),
  };
  const r = Flags.safeParse(merged);
  return r.success ? { ok: true, flags: r.data } : { ok: false, error: z.prettifyError(r.error) };
}

async function main(): Promise<void> {
  const parsed = parseFlags(process.argv.slice(2), process.env);
  if (!parsed.ok) {
    process.stderr.write(`invalid flags: ${parsed.error}\n`);
    process.exit(2);
  }
  const f = parsed.flags;
  const logger = createLogger(f['log-level']);
  const log = (level: 'info' | 'warn', msg: string, fields: Record<string, unknown>) =>
    logger.log(level, msg, fields);
  const secretsDir = f['secrets-dir'];
  const keys = { apiKeysFile: f['api-keys-file'], secretsDir };
  let source: ConfigOrigin;
  let kube: KubernetesSecretResolver | undefined;
  let secrets: SecretResolver = defaultSecretResolver(secretsDir);
  if (f.config !== undefined) source = { file: f.config };
  else if (f.routes !== undefined) source = { routesDir: f.routes };
  else {
    const [namespace = '', name = ''] = (f.configmap ?? '').split('/');
    source = { configMap: { namespace, name }, kubeconfig: f.kubeconfig };
    // In the cluster (or with a kubeconfig) credentials come from the Secrets themselves, watched by name
    // (the operator's Role grants exactly those); a secrets dir and environment variables still work.
    kube = new KubernetesSecretResolver({ kc: loadKubeConfig(f.kubeconfig), log });
    secrets = new FirstOfSecretResolver([kube, secrets]);
  }
  // Auth, limits, budgets, cache, accounting and feedback (issue #6). API keys come from keys.yaml of the
  // Secret named by the config (--api-keys-file, else <secrets-dir>/<namespace>/<name>/keys.yaml); Redis
  // from BEASTMODE_REDIS_URL.
  const redis = process.env[ENV.redisUrl];
  const policy = new PolicyBridge((config, deps) => {
    const keysFile = keysFileFor(config, keys);
    return createPolicy(config, {
      ...deps,
      ...(keysFile !== undefined ? { keysFile } : {}),
      ...(redis ? { redis } : {}),
    });
  });
  // BEASTMODE_POLICY=off serves without the policy modules: for the benchmark that prices them.
  const withPolicy = process.env.BEASTMODE_POLICY !== 'off';
  const gw = await startGateway({
    ...(withPolicy ? { policy, configureApp: policy.configureApp } : {}),
    port: f.port,
    host: f.host,
    source,
    secrets,
    logger,
    // Only for the benchmark that compares the two; see gateway/README.md.
    v1ViaExpress: process.env.BEASTMODE_V1_VIA_EXPRESS === '1',
  });

  // Never serve anonymously a config that turns auth on: the policy refuses every key without a keys
  // file, and a gateway that never had a good config refuses to start with a message saying why.
  let servedSafely = false;
  const onConfig = (config: GatewayConfig): void => {
    kube?.retain(referencedSecrets(config));
    const problem = withPolicy ? authKeysProblem(config, keys) : undefined;
    if (problem === undefined) {
      servedSafely = true;
      return;
    }
    if (!servedSafely) {
      process.stderr.write(
        `${JSON.stringify({ level: 'error', message: 'Refusing to start', reason: problem, component: 'gateway' })}\n`,
      );
      process.exit(1);
    }
    logger.log('error', 'Auth is on but no API keys can be read: every request is refused', {
      reason: problem,
    });
  };
  gw.state.store.onChange((c) => onConfig(c.config));
  const first = gw.state.store.current();
  if (first !== undefined) onConfig(first.config);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log('info', 'Shutting down', { signal, inflight: gw.state.inflight() });
    kube?.stop();
    gw.close(f['drain-seconds'] * 1000).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** Run as a program (tsx gateway/src/main.ts, node dist/…/main.js, or the image's entrypoint), not imported. */
function isEntryPoint(): boolean {
  const arg = process.argv[1];
  if (arg === undefined) return false;
  try {
    return realpathSync(arg) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
