// Gateway entry point: npm run gateway -- --port 8080 (--config file.json|yaml | --configmap ns/name
// [--kubeconfig file] | --routes dir) [--secrets-dir dir] [--host 0.0.0.0]. Flags fall back to
// BEASTMODE_* environment variables; both are validated. SIGTERM stops accepting and drains in-flight
// requests up to --drain-seconds.
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { createLogger } from './log.js';
import path from 'node:path';
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
    'drain-seconds': z.coerce.number().min(0).max(3600).default(25),
  })
  .refine((f) => [f.config, f.configmap, f.routes].filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one of --config, --configmap or --routes',
  });

function flags(): z.infer<typeof Flags> {
  const s = { type: 'string' } as const;
  const { values } = parseArgs({
    options: {
      port: s,
      host: s,
      config: s,
      configmap: s,
      kubeconfig: s,
      routes: s,
      'secrets-dir': s,
      'drain-seconds': s,
    },
  });
  const env = process.env;
  const merged = {
    port: values.port ?? env.BEASTMODE_PORT,
    host: values.host ?? env.BEASTMODE_HOST,
    config: values.config ?? env.BEASTMODE_CONFIG,
    configmap: values.configmap ?? env.BEASTMODE_CONFIGMAP,
    kubeconfig: values.kubeconfig ?? env.KUBECONFIG,
    routes: values.routes ?? env.BEASTMODE_ROUTES,
    'secrets-dir': values['secrets-dir'] ?? env.BEASTMODE_SECRETS_DIR,
    'drain-seconds': values['drain-seconds'] ?? env.BEASTMODE_DRAIN_SECONDS,
  };
  const r = Flags.safeParse(merged);
  if (!r.success) {
    process.stderr.write(`invalid flags: ${z.prettifyError(r.error)}\n`);
    process.exit(2);
  }
  return r.data;
}

async function main(): Promise<void> {
  const f = flags();
  const logger = createLogger('info');
  let source: ConfigOrigin;
  if (f.config !== undefined) source = { file: f.config };
  else if (f.routes !== undefined) source = { routesDir: f.routes };
  else {
    const [namespace = '', name = ''] = (f.configmap ?? '').split('/');
    source = { configMap: { namespace, name }, kubeconfig: f.kubeconfig };
  }
  const secretsDir = f['secrets-dir'];
  // Auth, limits, budgets, cache, accounting and feedback (issue #6). API keys come from the mounted
  // Secret named by the config (<secrets-dir>/<namespace>/<name>/keys.yaml); Redis from BEASTMODE_REDIS_URL.
  const policy = new PolicyBridge((config, deps) => {
    const ref = config.auth?.apiKeysSecretRef;
    const redis = process.env.BEASTMODE_REDIS_URL;
    return createPolicy(config, {
      ...deps,
      ...(ref && secretsDir ? { keysFile: path.join(secretsDir, ref.namespace, ref.name, 'keys.yaml') } : {}),
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
    secretsDir,
    logger,
    // Only for the benchmark that compares the two; see gateway/README.md.
    v1ViaExpress: process.env.BEASTMODE_V1_VIA_EXPRESS === '1',
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log('info', 'Shutting down', { signal, inflight: gw.state.inflight() });
    gw.close(f['drain-seconds'] * 1000).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
