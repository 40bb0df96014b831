// The contract between the gateway process and the Deployment the operator renders
// (operator/src/render/gateway.ts): environment variable names, where keys.yaml and the Redis URL are read
// from (files of the mounted Secrets: the kubelet reads Secrets, the gateway's ServiceAccount reads none),
// and the refusal to serve when a config turns auth on but no keys file can be read, or names a Redis URL
// file that cannot be read. contract.test.ts renders the operator's Deployment and checks the gateway
// accepts it.
import { accessSync, constants, readFileSync } from 'node:fs';
import path from 'node:path';
import type { GatewayConfig } from '../../../api/v1alpha1/index.js';

export const ENV = {
  port: 'BEASTMODE_PORT',
  host: 'BEASTMODE_HOST',
  config: 'BEASTMODE_CONFIG',
  configmap: 'BEASTMODE_CONFIGMAP',
  kubeconfig: 'KUBECONFIG',
  routes: 'BEASTMODE_ROUTES',
  secretsDir: 'BEASTMODE_SECRETS_DIR',
  /** Router model ConfigMaps as <dir>/<namespace>/<configmap>/<key> (a gateway without an API server). */
  routerModelsDir: 'BEASTMODE_ROUTER_MODELS_DIR',
  drainSeconds: 'BEASTMODE_DRAIN_SECONDS',
  workers: 'BEASTMODE_WORKERS',
  logLevel: 'BEASTMODE_LOG_LEVEL',
  /** keys.yaml of the Secret in auth.apiKeysSecretRef, mounted by the operator. */
  apiKeysFile: 'BEASTMODE_API_KEYS_FILE',
  /** redis:// URL given directly (standalone use). */
  redisUrl: 'BEASTMODE_REDIS_URL',
  /** The file holding the redis:// URL: the key of the ModelGateway's redis.urlSecretRef, mounted. */
  redisUrlFile: 'BEASTMODE_REDIS_URL_FILE',
  /** The OpenTelemetry SDKs' own variables, for a standalone gateway (the operator's sets none of them). */
  otlpEndpoint: 'OTEL_EXPORTER_OTLP_ENDPOINT',
  traceSampleRatio: 'OTEL_TRACES_SAMPLER_ARG',
  serviceName: 'OTEL_SERVICE_NAME',
} as const;

/** The file name inside the API keys Secret (same as auth/keys-file.ts KEYS_FILE_KEY). */
export const KEYS_FILE_NAME = 'keys.yaml';

export interface KeysFileOptions {
  /** --api-keys-file / BEASTMODE_API_KEYS_FILE: preferred when set (the operator's Deployment sets it). */
  apiKeysFile?: string | undefined;
  /** --secrets-dir: standalone use, keys.yaml at <dir>/<namespace>/<name>/keys.yaml of the config's ref. */
  secretsDir?: string | undefined;
}

/**
 * Where keys.yaml is read from for this config; undefined when auth is off or nothing says where. A keys
 * file given on the command line turns auth on whatever the config says.
 */
export function keysFileFor(config: GatewayConfig, o: KeysFileOptions): string | undefined {
  if (o.apiKeysFile !== undefined) return o.apiKeysFile;
  const ref = config.auth?.apiKeysSecretRef;
  if (ref === undefined) return undefined;
  if (o.secretsDir !== undefined) return path.join(o.secretsDir, ref.namespace, ref.name, KEYS_FILE_NAME);
  return undefined;
}

/**
 * Why this config cannot be served safely (auth on, but no readable keys file), or undefined. The policy
 * itself never lets a request through anonymously while auth is on; this turns a certain 401-for-everyone
 * into a clear start-up failure.
 */
export function authKeysProblem(config: GatewayConfig, o: KeysFileOptions): string | undefined {
  const ref = config.auth?.apiKeysSecretRef;
  const file = keysFileFor(config, o);
  if (ref === undefined && file === undefined) return undefined;
  const secret = ref !== undefined ? `${ref.namespace}/${ref.name}` : '';
  const why = ref !== undefined ? `the config turns auth on (API keys Secret ${secret})` : 'auth is on';
  if (file === undefined) {
    return (
      `${why} but no keys file is given: ` +
      `set --api-keys-file or ${ENV.apiKeysFile}, or --secrets-dir with ${secret}/${KEYS_FILE_NAME} in it`
    );
  }
  try {
    accessSync(file, constants.R_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    return (
      `${why} but the keys file ${file} cannot be read (${code})` +
      (ref !== undefined ? `: does the Secret have the key ${KEYS_FILE_NAME}?` : '')
    );
  }
  return undefined;
}

/**
 * The Redis URL: BEASTMODE_REDIS_URL as given, else the content of the file BEASTMODE_REDIS_URL_FILE names,
 * read once at start (a new URL takes a restart, as with the variable). A file that is named but cannot be
 * read is a problem to refuse to start on: serving with per-process limits instead of the shared ones the
 * ModelGateway asks for would be silently wrong.
 */
export function redisUrlFrom(env: NodeJS.ProcessEnv): { url?: string; problem?: string } {
  const direct = env[ENV.redisUrl];
  if (direct !== undefined && direct !== '') return { url: direct };
  const file = env[ENV.redisUrlFile];
  if (file === undefined || file === '') return {};
  try {
    const url = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    if (url !== '') return { url };
    return { problem: `the Redis URL file ${file} is empty` };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    return {
      problem:
        `the Redis URL file ${file} cannot be read (${code}): does the Secret of the ModelGateway's ` +
        'redis.urlSecretRef exist with that key?',
    };
  }
}
