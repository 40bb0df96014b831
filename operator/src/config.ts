// Operator configuration from flags and environment (flags win), validated by zod so a bad value stops
// the process at start with a message naming the setting. The flag table is also the --help text.
import { hostname } from 'node:os';
import { z } from 'zod';
import { readFlags, type CommandSpec } from '../../cli/flags.js';
import { parseGatewayMetricsUrls } from './rollout/providers/endpoints.js';

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
    metricsApiPort: z.coerce.number().int().min(0).max(65535).default(0),
    metricsApiCertDir: z.string().min(1).default('/etc/beastmode/metrics-api'),
    metricsApiClientCa: z.string().min(1).optional(),
    scrapeIntervalSeconds: z.coerce.number().min(1).max(300).default(5),
    /** Where gateway instances serve /metrics when they are not pods (local processes): gateway → URLs. */
    gatewayMetricsUrls: z
      .string()
      .transform((v, ctx) => {
        try {
          return parseGatewayMetricsUrls(v);
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: (e as Error).message });
          return z.NEVER;
        }
      })
      .default(new Map<string, string[]>()),
    dashboardPort: z.coerce.number().int().min(0).max(65535).default(0),
    dashboardAddress: z.string().min(1).max(253).optional(),
    dashboardAuth: z.enum(['token', 'tokenreview']).default('token'),
    dashboardTokenFile: z.string().min(1).optional(),
    dashboardPrometheusUrl: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      .max(2048)
      .optional(),
  })
  .refine((c) => c.renewDeadlineSeconds < c.leaseDurationSeconds, {
    message: 'renewDeadlineSeconds must be less than leaseDurationSeconds',
    path: ['renewDeadlineSeconds'],
  })
  .refine((c) => c.dashboardPort === 0 || c.dashboardAuth !== 'token' || c.dashboardTokenFile !== undefined, {
    message: 'the dashboard in token mode needs --dashboard-token-file (or --dashboard-auth tokenreview)',
    path: ['dashboardTokenFile'],
  });
export type OperatorConfig = z.infer<typeof OperatorConfig>;

export const OPERATOR_COMMAND: CommandSpec = {
  name: 'beastmode operator',
  usage: '[flags]',
  summary:
    'The control plane: watches ModelGateways, ModelRoutes, Canaries and AutoscalingPolicies and renders\n' +
    'the gateways, their config, HPAs and canary weights. SIGTERM stops it cleanly; SIGHUP forces a resync.',
  flags: {
    kubeconfig: {
      value: 'path',
      env: 'KUBECONFIG',
      help: 'Kubeconfig; in-cluster or ~/.kube/config when unset',
    },
    namespaces: { value: 'a,b', env: 'BEASTMODE_NAMESPACES', help: 'Namespaces to watch; all when unset' },
    'metrics-port': {
      value: 'port',
      env: 'BEASTMODE_METRICS_PORT',
      default: '8081',
      help: '/metrics, /healthz, /readyz',
    },
    'leader-elect': {
      value: 'bool',
      env: 'BEASTMODE_LEADER_ELECT',
      default: 'true',
      help: 'Take part in leader election',
    },
    'no-leader-elect': { boolean: true, help: 'Run as the only instance (same as --leader-elect false)' },
    'lease-name': {
      value: 'name',
      env: 'BEASTMODE_LEASE_NAME',
      default: 'beastmode-operator',
      help: 'The leader Lease',
    },
    'lease-namespace': {
      value: 'ns',
      env: 'BEASTMODE_LEASE_NAMESPACE',
      default: '$POD_NAMESPACE, else default',
      help: 'Namespace of the Lease',
    },
    'lease-duration-seconds': {
      value: 's',
      env: 'BEASTMODE_LEASE_DURATION_SECONDS',
      default: '15',
      help: 'How long a lease holds',
    },
    'renew-deadline-seconds': {
      value: 's',
      env: 'BEASTMODE_RENEW_DEADLINE_SECONDS',
      default: '10',
      help: 'The leader gives up after failing to renew this long',
    },
    'retry-period-seconds': {
      value: 's',
      env: 'BEASTMODE_RETRY_PERIOD_SECONDS',
      default: '2',
      help: 'Between lease attempts',
    },
    identity: { value: 'id', env: 'POD_NAME', default: 'hostname-pid', help: 'This instance in the Lease' },
    'log-level': {
      value: 'level',
      env: 'BEASTMODE_LOG_LEVEL',
      default: 'info',
      help: 'error, warn, info or debug',
    },
    'gateway-image': {
      value: 'image',
      env: 'BEASTMODE_GATEWAY_IMAGE',
      help: 'Image of gateways that name none',
    },
    'debounce-ms': {
      value: 'ms',
      env: 'BEASTMODE_DEBOUNCE_MS',
      default: '150',
      help: 'Quiet period that coalesces gateway recompiles',
    },
    'debounce-max-wait-ms': {
      value: 'ms',
      env: 'BEASTMODE_DEBOUNCE_MAX_WAIT_MS',
      default: '1000',
      help: 'Longest a recompile waits for quiet',
    },
    'resync-seconds': {
      value: 's',
      env: 'BEASTMODE_RESYNC_SECONDS',
      default: '600',
      help: 'Full resync period',
    },
    'metrics-api-port': {
      value: 'port',
      env: 'BEASTMODE_METRICS_API_PORT',
      default: '0 (off)',
      help: 'Serve external.metrics.k8s.io over HTTPS here (the HPA scales on the gateways’ signals)',
    },
    'metrics-api-cert-dir': {
      value: 'dir',
      env: 'BEASTMODE_METRICS_API_CERT_DIR',
      default: '/etc/beastmode/metrics-api',
      help: 'tls.crt and tls.key of that server (the APIService’s caBundle signs them)',
    },
    'metrics-api-client-ca': {
      value: 'file',
      env: 'BEASTMODE_METRICS_API_CLIENT_CA',
      help: 'CA of the API server’s front proxy; read from kube-system/extension-apiserver-authentication when unset',
    },
    'scrape-interval-seconds': {
      value: 's',
      env: 'BEASTMODE_SCRAPE_INTERVAL_SECONDS',
      default: '5',
      help: 'How often the gateways are scraped for the autoscaling signals',
    },
    'gateway-metrics-url': {
      value: 'gw=url,…',
      multiple: true,
      env: 'BEASTMODE_GATEWAY_METRICS_URLS',
      help: 'Gateway instances outside the cluster (local processes): name or ns/name = their /metrics URL',
    },
    'dashboard-port': {
      value: 'port',
      env: 'BEASTMODE_DASHBOARD_PORT',
      default: '0 (off)',
      help: 'Serve the read-only web dashboard here (docs/dashboard.md)',
    },
    'dashboard-address': {
      value: 'host',
      env: 'BEASTMODE_DASHBOARD_ADDRESS',
      default: 'all interfaces',
      help: 'Address the dashboard listens on (127.0.0.1 keeps it to port-forward and local use)',
    },
    'dashboard-auth': {
      value: 'mode',
      env: 'BEASTMODE_DASHBOARD_AUTH',
      default: 'token',
      help: 'token (a shared viewer token, read-only) or tokenreview (viewers log in with their own Kubernetes token)',
    },
    'dashboard-token-file': {
      value: 'file',
      env: 'BEASTMODE_DASHBOARD_TOKEN_FILE',
      help: 'File holding the viewer token of token mode (a mounted Secret; at least 16 characters)',
    },
    'dashboard-prometheus-url': {
      value: 'url',
      env: 'BEASTMODE_DASHBOARD_PROMETHEUS_URL',
      help: 'A Prometheus that scrapes the gateways: route history from it (else from the operator’s scrapes)',
    },
  },
};

const camel = (flag: string): string => flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

/**
 * Reads flags (`--metrics-port 8081`, `--no-leader-elect`) and environment. Returns the help text for
 * --help; throws a readable error for anything invalid.
 */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): OperatorConfig | { help: string } {
  const read = readFlags(OPERATOR_COMMAND, argv, env);
  if (read.kind === 'help') return { help: read.text };
  if (read.kind === 'error') throw new Error(read.message);
  if (read.positionals.length > 0) throw new Error(`unexpected argument ${read.positionals[0]}`);
  const raw: Record<string, unknown> = {};
  for (const [flag, v] of Object.entries(read.values)) if (flag !== 'no-leader-elect') raw[camel(flag)] = v;
  if (read.values['no-leader-elect'] === true) raw.leaderElect = false;
  // One flag per instance (or a comma list) on the command line; one map in the configuration.
  const urls = raw.gatewayMetricsUrl;
  delete raw.gatewayMetricsUrl;
  if (Array.isArray(urls)) raw.gatewayMetricsUrls = urls.join(',');
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
