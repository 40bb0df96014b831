// Operator configuration from flags and environment (flags win), validated by zod so a bad value stops
// the process at start with a message naming the setting.
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { z } from 'zod';

const bool = z.union([
  z.boolean(),
  z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1'),
]);

export const OperatorConfig = z
  .object({
    kubeconfig: z
      .string()
      .min(1)
      .optional()
      .describe('Path of a kubeconfig; in-cluster or ~/.kube/config when unset'),
    namespaces: z
      .array(z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a namespace name'))
      .max(64)
      .optional()
      .describe('Namespaces to watch; all when unset'),
    metricsPort: z.coerce.number().int().min(0).max(65535).default(8081),
    leaderElect: bool.default(true),
    leaseName: z.string().min(1).max(253).default('beastmode-operator'),
    leaseNamespace: z.string().min(1).max(63).default('default'),
    leaseDurationSeconds: z.coerce.number().int().min(2).max(300).default(15),
    renewDeadlineSeconds: z.coerce.number().int().min(1).max(300).default(10),
    retryPeriodSeconds: z.coerce.number().int().min(1).max(60).default(2),
    identity: z.string().min(1).max(128),
    logLevel: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
    gatewayImage: z.string().min(1).max(512).default('ghcr.io/beastmode/beastmode:0.1.0'),
    debounceMs: z.coerce.number().int().min(0).max(10_000).default(150),
    debounceMaxWaitMs: z.coerce.number().int().min(0).max(60_000).default(1000),
    resyncSeconds: z.coerce.number().int().min(10).max(86_400).default(600),
  })
  .refine((c) => c.renewDeadlineSeconds < c.leaseDurationSeconds, {
    message: 'renewDeadlineSeconds must be less than leaseDurationSeconds',
    path: ['renewDeadlineSeconds'],
  });
export type OperatorConfig = z.infer<typeof OperatorConfig>;

const FLAGS = {
  kubeconfig: { type: 'string', env: 'KUBECONFIG' },
  namespaces: { type: 'string', env: 'BEASTMODE_NAMESPACES' },
  'metrics-port': { type: 'string', env: 'BEASTMODE_METRICS_PORT' },
  'leader-elect': { type: 'string', env: 'BEASTMODE_LEADER_ELECT' },
  'lease-name': { type: 'string', env: 'BEASTMODE_LEASE_NAME' },
  'lease-namespace': { type: 'string', env: 'BEASTMODE_LEASE_NAMESPACE' },
  'lease-duration-seconds': { type: 'string', env: 'BEASTMODE_LEASE_DURATION_SECONDS' },
  'renew-deadline-seconds': { type: 'string', env: 'BEASTMODE_RENEW_DEADLINE_SECONDS' },
  'retry-period-seconds': { type: 'string', env: 'BEASTMODE_RETRY_PERIOD_SECONDS' },
  identity: { type: 'string', env: 'POD_NAME' },
  'log-level': { type: 'string', env: 'BEASTMODE_LOG_LEVEL' },
  'gateway-image': { type: 'string', env: 'BEASTMODE_GATEWAY_IMAGE' },
  'debounce-ms': { type: 'string', env: 'BEASTMODE_DEBOUNCE_MS' },
  'debounce-max-wait-ms': { type: 'string', env: 'BEASTMODE_DEBOUNCE_MAX_WAIT_MS' },
  'resync-seconds': { type: 'string', env: 'BEASTMODE_RESYNC_SECONDS' },
} as const;

const camel = (flag: string): string => flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

/** Reads flags (`--metrics-port 8081`, `--no-leader-elect`) and environment; throws a readable error. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): OperatorConfig {
  const options = Object.fromEntries(Object.keys(FLAGS).map((k) => [k, { type: 'string' as const }]));
  const { values } = parseArgs({
    args: argv,
    options: { ...options, 'no-leader-elect': { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  const raw: Record<string, unknown> = {};
  for (const [flag, def] of Object.entries(FLAGS)) {
    const v = (values as Record<string, string | undefined>)[flag] ?? env[def.env];
    if (v !== undefined && v !== '') raw[camel(flag)] = v;
  }
  if (values['no-leader-elect']) raw.leaderElect = false;
  if (typeof raw.namespaces === 'string') {
    const list = raw.namespaces
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    raw.namespaces = list.length > 0 ? list : undefined;
  }
  raw.leaseNamespace ??= env.POD_NAMESPACE;
  raw.identity ??= `${hostname()}-${process.pid}`;
  const parsed = OperatorConfig.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`).join('; ');
    throw new Error(`invalid operator configuration: ${issues}`);
  }
  return parsed.data;
}
