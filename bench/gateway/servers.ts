// The servers the benchmark measures, each in its own process (../lib/processes.ts; pinned with --pin split),
// and their targets: the upstream simulator, the bare node proxy (bare-proxy.ts), nginx (Debian's
// nginx-light; its column is skipped without it), portkey, our gateway in three variants (with policy and
// profiled; without policy; without policy through express), the two cache gateways of the cache-hit
// benchmark (in memory, profiled; in Redis) and the router benchmark's gateway (router.ts). Our gateway runs as `npm run gateway` does: cli/main.ts
// through the tsx loader.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_SEMANTIC_THRESHOLD, type CompiledRoute } from '../../api/v1alpha1/index.js';
import { compiledRoute, gatewayConfig } from '../../testkit/gateway-config.js';
import type { Target } from '../lib/loadgen.js';
import { start, waitFor, type Started } from '../lib/processes.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const NODE = process.execPath;
const TSX = ['--import', 'tsx'];
const CHAT = '/v1/chat/completions';
const JSON_HEADERS = { 'content-type': 'application/json' };

export const PORTS = {
  sim: 19301,
  nginx: 19302,
  portkey: 19303,
  ours: 19304,
  express: 19305,
  bare: 19306,
  nopolicy: 19307,
  cacheMemory: 19308,
  cacheRedis: 19309,
  router: 19310,
  cacheSemantic: 19311,
};
export const UPSTREAM = `http://127.0.0.1:${PORTS.sim}`;
export const hasNginx = spawnSync('nginx', ['-v']).error === undefined;

/** Where the servers write their files, and the CPUs they are pinned to (undefined: unpinned). */
export interface ServerContext {
  tmp: string;
  cpus: string | undefined;
}

function startServer(
  ctx: ServerContext,
  name: string,
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Started {
  const s = start(name, command, args, { cwd: ROOT, cpus: ctx.cpus, env });
  s.child.on('exit', (code) => {
    if (code !== 0 && code !== null) process.stderr.write(`${name} exited ${code}: ${s.stderr()}\n`);
  });
  return s;
}

export function startSimulator(ctx: ServerContext): Started {
  const args = ['cli/main.ts', 'simulator', '--port', String(PORTS.sim), '--model', 'sim-model'];
  return startServer(ctx, 'simulator', NODE, [...TSX, ...args]);
}

function gatewayArgs(port: number, configFile: string): string[] {
  return [
    ...TSX,
    'cli/main.ts',
    'gateway',
    '--port',
    String(port),
    '--host',
    '127.0.0.1',
    '--config',
    configFile,
  ];
}

/** A gateway config with these routes, written to `file` in the temp dir. */
function writeRoutesConfig(ctx: ServerContext, file: string, routes: CompiledRoute[]): string {
  const cfg = gatewayConfig(routes);
  cfg.logLevel = 'warn';
  const out = path.join(ctx.tmp, file);
  writeFileSync(out, JSON.stringify(cfg));
  return out;
}

/** A gateway config with one route `chat` to the simulator, written to `file` in the temp dir. */
function writeGatewayConfig(
  ctx: ServerContext,
  file: string,
  options?: Parameters<typeof compiledRoute>[2],
): string {
  return writeRoutesConfig(ctx, file, [
    compiledRoute('chat', [{ name: 'sim', url: `${UPSTREAM}/v1` }], options),
  ]);
}

function nginxConf(tmp: string): string {
  return `worker_processes 1;
daemon off;
pid ${tmp}/nginx.pid;
error_log ${tmp}/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${tmp}/nginx-body;
  proxy_temp_path ${tmp}/nginx-proxy;
  fastcgi_temp_path ${tmp}/nginx-fastcgi;
  uwsgi_temp_path ${tmp}/nginx-uwsgi;
  scgi_temp_path ${tmp}/nginx-scgi;
  upstream sim { server 127.0.0.1:${PORTS.sim}; keepalive 128; }
  server {
    listen 127.0.0.1:${PORTS.nginx};
    location / {
      proxy_pass http://sim;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
`;
}

const local = (name: string, port: number): Target => ({
  name,
  origin: `http://127.0.0.1:${port}`,
  path: CHAT,
  headers: JSON_HEADERS,
});

/** The compared targets, direct (the baseline) first; nginx only when it is installed. */
export function comparedTargets(): Target[] {
  const all: Target[] = [
    { name: 'direct', origin: UPSTREAM, path: CHAT, headers: JSON_HEADERS },
    local('bare-node-proxy', PORTS.bare),
    local('nginx', PORTS.nginx),
    {
      ...local('portkey', PORTS.portkey),
      headers: {
        ...JSON_HEADERS,
        authorization: 'Bearer bench',
        'x-portkey-provider': 'openai',
        'x-portkey-custom-host': `${UPSTREAM}/v1`,
      },
    },
    local('beastmode', PORTS.ours),
    local('beastmode-no-policy', PORTS.nopolicy),
    local('beastmode-express', PORTS.express),
  ];
  return all.filter((t) => t.name !== 'nginx' || hasNginx);
}

export interface ComparedServers {
  /** Our gateway with policy, run with --cpu-prof: stop it first, its profile is written on exit. */
  profiled: Started;
  profileDir: string;
}

/** Starts every compared server but the simulator (see startSimulator). */
export function startComparedServers(ctx: ServerContext): ComparedServers {
  startServer(ctx, 'bare-node-proxy', NODE, [
    ...TSX,
    'bench/gateway/bare-proxy.ts',
    String(PORTS.bare),
    UPSTREAM,
  ]);
  if (hasNginx) {
    const conf = path.join(ctx.tmp, 'nginx.conf');
    writeFileSync(conf, nginxConf(ctx.tmp));
    startServer(ctx, 'nginx', 'nginx', ['-c', conf, '-p', ctx.tmp]);
  } else {
    process.stderr.write('nginx not found (apt-get install -y nginx-light): skipping the nginx column\n');
  }
  const portkey = [
    'node_modules/@portkey-ai/gateway/build/start-server.js',
    `--port=${PORTS.portkey}`,
    '--headless',
  ];
  startServer(ctx, 'portkey', NODE, portkey, { NODE_ENV: 'production' });
  const cfgFile = writeGatewayConfig(ctx, 'gateway.json');
  const profileDir = path.join(ctx.tmp, 'prof');
  const profiled = startServer(ctx, 'beastmode', NODE, [
    '--cpu-prof',
    '--cpu-prof-dir',
    profileDir,
    ...gatewayArgs(PORTS.ours, cfgFile),
  ]);
  startServer(ctx, 'beastmode-no-policy', NODE, gatewayArgs(PORTS.nopolicy, cfgFile), {
    BEASTMODE_POLICY: 'off',
  });
  // Without the policy modules, like beastmode-no-policy: the pair isolates what express costs.
  startServer(ctx, 'beastmode-express', NODE, gatewayArgs(PORTS.express, cfgFile), {
    BEASTMODE_V1_VIA_EXPRESS: '1',
    BEASTMODE_POLICY: 'off',
  });
  return { profiled, profileDir };
}

/** Resolves once the target answers a POST of `body` (default: an empty chat request). */
export function waitForTarget(t: Target, body = '{"model":"chat","messages":[]}'): Promise<void> {
  return waitFor(`${t.origin}${t.path}`, { method: 'POST', headers: t.headers, body });
}

/** The one request of the cache-hit benchmark: deterministic (temperature 0), so it is cached. */
export const CACHE_BODY = JSON.stringify({
  model: 'chat',
  messages: [{ role: 'user', content: 'Say hello to the cache benchmark.' }],
  max_tokens: 16,
  temperature: 0,
});

/** The semantic gateway's cache is filled with SEMANTIC_ORIGIN; the sweep asks SEMANTIC_BODY, a rewording. */
export const SEMANTIC_ORIGIN = JSON.stringify({
  model: 'chat',
  messages: [{ role: 'user', content: 'Say hello to the cache benchmark, please.' }],
  max_tokens: 16,
  temperature: 0,
});
export const SEMANTIC_BODY = JSON.stringify({
  model: 'chat',
  messages: [{ role: 'user', content: 'Please say hello to the cache benchmark.' }],
  max_tokens: 16,
  temperature: 0,
});

export interface CacheServers {
  memory: Started;
  redis: Started;
  semantic: Started;
  /** Where the in-memory gateway writes its CPU profile (on exit). */
  profileDir: string;
  targets: Target[];
}

/**
 * Two gateways on a route with cache mode exact — one caching in memory (profiled), one in Redis — and one
 * with cache mode semantic in memory, whose sweep is a rewording of what filled it (every request a
 * semantic hit: an exact miss, an embedding, a search, the guard).
 */
export function startCacheGateways(ctx: ServerContext, redisUrl: string): CacheServers {
  const cfgFile = writeGatewayConfig(ctx, 'gateway-cache.json', {
    cache: { mode: 'exact', ttlMs: 3_600_000, scope: 'route', cacheNonDeterministic: false },
  });
  const profileDir = path.join(ctx.tmp, 'prof-cache');
  const memory = startServer(ctx, 'beastmode-cache-memory', NODE, [
    '--cpu-prof',
    '--cpu-prof-dir',
    profileDir,
    ...gatewayArgs(PORTS.cacheMemory, cfgFile),
  ]);
  const redis = startServer(ctx, 'beastmode-cache-redis', NODE, gatewayArgs(PORTS.cacheRedis, cfgFile), {
    BEASTMODE_REDIS_URL: redisUrl,
  });
  const semanticFile = writeGatewayConfig(ctx, 'gateway-cache-semantic.json', {
    cache: {
      mode: 'semantic',
      semantic: { threshold: DEFAULT_SEMANTIC_THRESHOLD, guard: true, maxEntries: 10_000 },
      ttlMs: 3_600_000,
      scope: 'route',
      cacheNonDeterministic: false,
    },
  });
  const semantic = startServer(
    ctx,
    'beastmode-cache-semantic',
    NODE,
    gatewayArgs(PORTS.cacheSemantic, semanticFile),
  );
  const targets = [
    { ...local('cache-memory', PORTS.cacheMemory), body: CACHE_BODY },
    { ...local('cache-redis', PORTS.cacheRedis), body: CACHE_BODY },
    { ...local('cache-semantic', PORTS.cacheSemantic), body: SEMANTIC_BODY },
  ];
  return { memory, redis, semantic, profileDir, targets };
}

/** The router benchmark's gateway: one process serving `routes`, and its target (the body names the route). */
export function startRouterGateway(
  ctx: ServerContext,
  routes: CompiledRoute[],
  modelsDir: string,
): { server: Started; target: Target } {
  const cfgFile = writeRoutesConfig(ctx, 'gateway-router.json', routes);
  const args = [...gatewayArgs(PORTS.router, cfgFile), '--router-models-dir', modelsDir];
  const server = startServer(ctx, 'beastmode-router', NODE, args);
  return { server, target: local('beastmode-router', PORTS.router) };
}
