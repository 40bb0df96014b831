// What the scale benchmark runs: U upstream simulators (1 ms latency), and G gateways — G processes with
// one core each, or one gateway with G workers on G cores — built as the image runs them (compiled
// JavaScript, or a kit's bundle; not the tsx loader), all serving one route over the U simulators (where
// each program comes from: programs.ts). Policy: "off" (no auth, limits, budgets or cache at all), "on"
// (the layer as deployed, with nothing configured) or "full" (API keys, a rate limit, a budget and the
// exact cache on every request). Beside them, the floor: G bare proxies (bench/gateway/bare-proxy.ts:
// node:http and an undici Pool, nothing else) on the same cores.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { compiledRoute, gatewayConfig } from '../../testkit/gateway-config.js';
import type { Target } from '../lib/loadgen.js';
import { processTree, start, waitFor, type Started } from '../lib/processes.js';
import type { Programs } from './programs.js';

export type PolicyMode = 'off' | 'on' | 'full';
export type GatewayMode = 'processes' | 'workers';

export const BENCH_KEY = 'bench-key-0123456789abcdef';
const NODE = process.execPath;

export interface Fleet {
  gateways: Started[];
  targets: Target[];
  /** Every gateway pid (workers included), for CPU figures. */
  gatewayPids(): number[];
}

export async function startUpstreams(p: Programs, count: number, cpus: string, basePort: number) {
  const sims: Started[] = [];
  for (let i = 0; i < count; i++) {
    const port = basePort + i;
    sims.push(
      start(
        `upstream-${i}`,
        NODE,
        [...p.simulator, 'simulator', '--port', String(port), '--latency-ms', '1'],
        { cpus, cwd: p.cwd },
      ),
    );
  }
  await Promise.all(sims.map((_, i) => waitFor(`http://127.0.0.1:${basePort + i}/v1/models`)));
  return sims;
}

/** The gateway's config (and keys file) for a policy mode, in `dir`. */
export function writeGatewayFiles(
  dir: string,
  upstreams: string[],
  policy: PolicyMode,
): { config: string; env: Record<string, string> } {
  mkdirSync(dir, { recursive: true });
  const full = policy === 'full';
  const route = compiledRoute(
    'chat',
    upstreams.map((u, i) => ({ name: `sim-${i}`, url: `${u}/v1` })),
    full
      ? {
          cache: { mode: 'exact', ttlMs: 600_000, scope: 'api-key', cacheNonDeterministic: false },
          rateLimits: [{ per: 'api-key', requestsPerMinute: 100_000_000, tokensPerMinute: 1_000_000_000 }],
          budgets: [{ per: 'api-key', usd: 1_000_000, window: 'day', onExhausted: 'reject' }],
        }
      : {},
  );
  const cfg = gatewayConfig([route], { maxConcurrentRequests: 100_000 });
  cfg.logLevel = 'warn';
  if (full) cfg.auth = { apiKeysSecretRef: { namespace: 'default', name: 'bench-keys' } };
  const config = path.join(dir, 'gateway.json');
  writeFileSync(config, JSON.stringify(cfg));
  const env: Record<string, string> = policy === 'off' ? { BEASTMODE_POLICY: 'off' } : {};
  if (full) {
    const keys = path.join(dir, 'keys.yaml');
    writeFileSync(keys, `keys:\n  - name: bench\n    key: ${BENCH_KEY}\n`);
    env.BEASTMODE_API_KEYS_FILE = keys;
  }
  return { config, env };
}

export interface FleetOptions {
  main: string;
  count: number;
  mode: GatewayMode;
  cpus: number[];
  basePort: number;
  files: { config: string; env: Record<string, string> };
  headers: Record<string, string>;
}

/** G gateway processes (one port and core each), or one gateway with G workers on G cores. */
export async function startFleet(o: FleetOptions): Promise<Fleet> {
  const args = (port: number) => [
    'gateway',
    '--port',
    String(port),
    '--host',
    '127.0.0.1',
    '--config',
    o.files.config,
  ];
  const gateways: Started[] = [];
  if (o.mode === 'workers') {
    const cpus = o.cpus.slice(0, o.count).join(',');
    gateways.push(
      start('gateway', NODE, [o.main, ...args(o.basePort), '--workers', String(o.count)], {
        cpus,
        env: o.files.env,
      }),
    );
  } else {
    for (let i = 0; i < o.count; i++) {
      gateways.push(
        start(`gateway-${i}`, NODE, [o.main, ...args(o.basePort + i)], {
          cpus: String(o.cpus[i]),
          env: o.files.env,
        }),
      );
    }
  }
  const ports = o.mode === 'workers' ? [o.basePort] : gateways.map((_, i) => o.basePort + i);
  await Promise.all(ports.map((p) => waitFor(`http://127.0.0.1:${p}/readyz`)));
  return {
    gateways,
    targets: ports.map((p) => ({
      name: `gateways-${o.count}`,
      origin: `http://127.0.0.1:${p}`,
      path: '/v1/chat/completions',
      headers: o.headers,
    })),
    gatewayPids: () => gateways.flatMap((g) => processTree(g.pid)),
  };
}

export interface BareOptions {
  programs: Programs;
  count: number;
  cpus: number[];
  basePort: number;
  /** The upstream simulators: proxy i forwards to upstream i modulo their number. */
  upstreams: string[];
  env: Record<string, string>;
}

/**
 * G bare proxies, one core and port each, run as bench:gateway runs its floor (the tsx loader, which costs
 * nothing once the module is loaded; a kit's bundle), with the gateway's NODE_OPTIONS (in `env`).
 */
export async function startBare(o: BareOptions): Promise<Fleet> {
  const gateways: Started[] = [];
  for (let i = 0; i < o.count; i++) {
    const upstream = o.upstreams[i % o.upstreams.length] as string;
    gateways.push(
      start(`bare-${i}`, NODE, [...o.programs.bare, String(o.basePort + i), upstream], {
        cpus: String(o.cpus[i]),
        cwd: o.programs.cwd,
        env: o.env,
      }),
    );
  }
  const ports = gateways.map((_, i) => o.basePort + i);
  // The bare proxy forwards every path: /v1/models is answered by the simulator behind it.
  await Promise.all(ports.map((p) => waitFor(`http://127.0.0.1:${p}/v1/models`)));
  return {
    gateways,
    targets: ports.map((p) => ({
      name: `bare-${o.count}`,
      origin: `http://127.0.0.1:${p}`,
      path: '/v1/chat/completions',
      headers: { 'content-type': 'application/json' },
    })),
    gatewayPids: () => gateways.map((g) => g.pid),
  };
}
