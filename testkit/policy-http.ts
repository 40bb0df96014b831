// Shared by the policy-http*.test.ts suites (policy acceptance over real HTTP): a gateway with the real
// policy layer (keys file, Redis, logger), keys.yaml writing for rotation, metric reading, and small
// waiting helpers. Every server a suite starts is stopped by that suite.
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { finishGatewayConfig, type CompiledRoute, type GatewayConfig } from '../api/v1alpha1/index.js';
import { createLogger, type Logger } from '../gateway/src/log.js';
import { startGateway, type Gateway } from '../gateway/src/server/gateway.js';
import { gatewayConfig } from './gateway-config.js';

export interface KeySpec {
  name: string;
  key: string;
  team?: string;
  models?: string[];
}

/** Writes keys.yaml atomically (write + rename, as the kubelet's symlink swap is atomic too). */
export function writeKeys(file: string, keys: KeySpec[]): void {
  const lines = ['keys:'];
  for (const k of keys) {
    lines.push(`  - name: ${k.name}`, `    key: ${k.key}`);
    if (k.team !== undefined) lines.push(`    team: ${k.team}`);
    if (k.models !== undefined) lines.push(`    models: [${k.models.join(', ')}]`);
  }
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${lines.join('\n')}\n`);
  renameSync(tmp, file);
}

export function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'beastmode-policy-http-'));
}

export interface PolicyGatewayOptions {
  routes: CompiledRoute[];
  /** keys.yaml path: auth on. Without it: no auth (anonymous). */
  keysFile?: string;
  redisUrl?: string;
  failurePolicy?: 'local' | 'closed';
  cacheStore?: 'memory' | 'redis';
  logLevel?: GatewayConfig['logLevel'];
  /** The gateway's logger (default: silent). */
  logger?: Logger;
}

export interface PolicyGateway {
  gw: Gateway;
  url: string;
  config: GatewayConfig;
  client(apiKey: string): OpenAI;
  /** Stops the gateway and its policy layer (its Redis connection and probe). */
  close(): Promise<void>;
}

export function policyConfig(o: PolicyGatewayOptions): GatewayConfig {
  const { apiVersion: _a, kind: _k, revision: _r, ...draft } = gatewayConfig(o.routes);
  return finishGatewayConfig({
    ...draft,
    logLevel: o.logLevel ?? 'error',
    ...(o.keysFile !== undefined
      ? { auth: { apiKeysSecretRef: { namespace: 'default', name: 'api-keys' } } }
      : {}),
    ...(o.failurePolicy !== undefined ? { redis: { failurePolicy: o.failurePolicy } } : {}),
  });
}

export async function startPolicyGateway(o: PolicyGatewayOptions): Promise<PolicyGateway> {
  const config = policyConfig(o);
  const { keysFile } = o;
  const gw = await startGateway({
    source: { config },
    logger: o.logger ?? createLogger('error', true),
    policy: {
      ...(keysFile !== undefined ? { keysFile: () => keysFile, keysPollMs: 50 } : {}),
      ...(o.redisUrl !== undefined ? { redis: o.redisUrl } : {}),
      ...(o.cacheStore !== undefined ? { cacheStore: o.cacheStore } : {}),
    },
  });
  await gw.state.policy.ready();
  return {
    gw,
    url: gw.url,
    config,
    client: (apiKey) => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey, maxRetries: 0, timeout: 20_000 }),
    close: () => gw.close(2000),
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `f` until it returns a value other than undefined/false, or throws after timeoutMs. */
export async function eventually<T>(
  f: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 5000,
  everyMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(everyMs);
  }
}

/** Sum of a metric's samples whose labels include every given label (text exposition format). */
export async function metricSum(
  gw: Gateway,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await gw.state.metrics.registry.getSingleMetricAsString(name).catch(() => '');
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** An HTTP status of a settled openai call: 200 or the APIError's status (0 for other failures). */
export async function statusOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (err) {
    if (err instanceof OpenAI.APIError && typeof err.status === 'number') return err.status;
    return 0;
  }
}

export const chat = (content: string, extra: Record<string, unknown> = {}) => ({
  model: 'chat',
  messages: [{ role: 'user' as const, content }],
  ...extra,
});
