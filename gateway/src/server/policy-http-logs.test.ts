// Policy acceptance over real HTTP, part 4: nothing secret reaches the logs. The real entry point
// (beastmode gateway) runs as a child process with debug logging, keys from a mounted-Secret layout, an
// upstream credential and Redis, through a realistic session: auth failures with a planted wrong key, good
// requests with a planted prompt, streaming, cache hits, feedback with a comment, a rate limit, an upstream
// error, a broken keys file, a Redis outage and shutdown. Every line of its stdout and stderr is then
// scanned for the planted API keys (valid and invalid), the upstream credential, the prompt and comment.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { HEADERS } from '../../../api/v1alpha1/index.js';
import { startSimulator, type Simulator } from '../../../simulator/simulator.js';
import { startRedis, type TestRedis } from '../../../testkit/redis.js';
import {
  chat,
  eventually,
  policyConfig,
  sleep,
  statusOf,
  tempDir,
  writeKeys,
} from '../../../testkit/policy-http.js';
import { compiledRoute } from '../../../testkit/gateway-config.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const VALID_KEY = 'sk-planted-valid-9c1e4b7a2d5f8e3b';
const SCOPED_KEY = 'sk-planted-scoped-4a8d2c6e0b9f1d7';
const WRONG_KEY = 'sk-planted-wrong-7e2b9d4c1a6f3e8d';
const BROKEN_FILE_KEY = 'sk-planted-broken-file-3f9a1c7e5b';
const UPSTREAM_CREDENTIAL = 'upstream-credential-5d2e8a1c9b4f7e6a';
const PROMPT = 'PLANTED-PROMPT zebra quartz 81726354';
const COMMENT = 'PLANTED-COMMENT the answer was great 4711';
const PLANTED = [VALID_KEY, SCOPED_KEY, WRONG_KEY, BROKEN_FILE_KEY, UPSTREAM_CREDENTIAL, PROMPT, COMMENT];

let sim: Simulator;
let redis: TestRedis;
let child: ChildProcess | undefined;
let output = '';

beforeAll(async () => {
  sim = await startSimulator({ apiKey: UPSTREAM_CREDENTIAL });
  redis = await startRedis();
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGKILL');
    await new Promise((r) => child?.once('exit', r));
  }
  await redis?.stop();
  await sim?.close();
});

test('no API key, upstream credential or prompt text in any log line of a debug session', async () => {
  const dir = tempDir();
  const secrets = path.join(dir, 'secrets');
  mkdirSync(path.join(secrets, 'default', 'api-keys'), { recursive: true });
  mkdirSync(path.join(secrets, 'default', 'upstream'), { recursive: true });
  const keysFile = path.join(secrets, 'default', 'api-keys', 'keys.yaml');
  const keys = [
    { name: 'web', key: VALID_KEY, team: 'web' },
    { name: 'scoped', key: SCOPED_KEY, models: ['other'] },
  ];
  writeKeys(keysFile, keys);
  writeFileSync(path.join(secrets, 'default', 'upstream', 'api-key'), UPSTREAM_CREDENTIAL);
  const backend = {
    name: 'primary',
    url: `${sim.url}/v1`,
    provider: 'openai' as const,
    credentials: { namespace: 'default', name: 'upstream', key: 'api-key' },
  };
  const config = policyConfig({
    routes: [
      compiledRoute('chat', [backend], {
        cache: { mode: 'exact', ttlMs: 60_000, scope: 'api-key', cacheNonDeterministic: false },
        fallback: { on: ['5xx'], maxAttempts: 1 },
        retry: { attempts: 0, backoffMs: 10, maxBackoffMs: 10, maxRetryAfterMs: 10 },
        rateLimits: [{ per: 'api-key', requestsPerMinute: 40 }],
      }),
      compiledRoute('other', [backend]),
    ],
    keysFile,
    failurePolicy: 'local',
    logLevel: 'debug',
  });
  const configFile = path.join(dir, 'gateway.json');
  writeFileSync(configFile, JSON.stringify(config));

  child = spawn(
    process.execPath,
    ['--import', 'tsx', 'cli/main.ts', 'gateway', '--port', '0', '--host', '127.0.0.1'],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        BEASTMODE_CONFIG: configFile,
        BEASTMODE_SECRETS_DIR: secrets,
        BEASTMODE_REDIS_URL: redis.url,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const port = await eventually(
    () =>
      /"Gateway listening".*?"port":(\d+)|"port":(\d+).*?"Gateway listening"/
        .exec(output)
        ?.slice(1)
        .find(Boolean),
    30_000,
    50,
  );
  const url = `http://127.0.0.1:${port}`;
  const client = (apiKey: string, headers: Record<string, string | null> = {}) =>
    new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0, defaultHeaders: headers });
  const good = client(VALID_KEY);

  // Auth failures: wrong key (Bearer and x-api-key), missing key, a key outside its scopes.
  expect(await statusOf(client(WRONG_KEY).chat.completions.create(chat(PROMPT)))).toBe(401);
  expect(
    await statusOf(client('unused', { authorization: null, 'x-api-key': WRONG_KEY }).models.list()),
  ).toBe(401);
  expect(
    await statusOf(client('unused', { authorization: null }).chat.completions.create(chat(PROMPT))),
  ).toBe(401);
  expect(await statusOf(client(SCOPED_KEY).chat.completions.create(chat(PROMPT)))).toBe(403);

  // Good requests: a miss, a hit, a stream (miss and hit), a non-deterministic one, a body that is not JSON.
  const first = await good.chat.completions.create(chat(PROMPT, { temperature: 0 })).withResponse();
  await sleep(50);
  const hit = await good.chat.completions.create(chat(PROMPT, { temperature: 0 })).withResponse();
  expect(hit.response.headers.get(HEADERS.cache)).toBe('hit');
  for (let i = 0; i < 2; i++) {
    const stream = await good.chat.completions.create({
      ...chat(`${PROMPT} stream`, { temperature: 0 }),
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const _ of stream);
    await sleep(50);
  }
  await good.chat.completions.create(chat(PROMPT, { temperature: 0.9, user: PROMPT }));
  const bad = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${VALID_KEY}`, 'content-type': 'application/json' },
    body: `{"model":"chat","messages":[{"role":"user","content":"${PROMPT}"`,
  });
  expect(bad.status).toBe(400);

  // Feedback with a comment, and invalid feedback quoting the comment.
  const id = first.response.headers.get(HEADERS.requestId) ?? '';
  await good.post('/feedback', { body: { request_id: id, score: 0.5, comment: COMMENT } });
  expect(
    await statusOf(good.post('/feedback', { body: { request_id: id, score: 9, comment: COMMENT } })),
  ).toBe(400);
  expect(await statusOf(good.post('/feedback', { body: { request_id: COMMENT, score: 1 } }))).toBe(404);

  // An upstream error (500, not retried).
  sim.setFaults({ errorCount: 1, errorStatus: 500 });
  expect(await statusOf(good.chat.completions.create(chat(`${PROMPT} error`)))).toBe(500);
  sim.setFaults({});

  // Rate limit: the key's 40 requests per minute run out.
  const statuses = await Promise.all(
    Array.from({ length: 40 }, (_, i) => statusOf(good.chat.completions.create(chat(`${PROMPT} ${i}`)))),
  );
  expect(statuses).toContain(429);

  // A broken keys file that holds a key, then the good one again.
  writeFileSync(
    keysFile,
    `keys:\n  - name: broken\n    key: ${BROKEN_FILE_KEY}\n    extra: ${BROKEN_FILE_KEY}\n`,
  );
  await sleep(1500);
  writeFileSync(keysFile, `keys:\n  - name: short\n    key: ${BROKEN_FILE_KEY.slice(0, 10)}\n`);
  await sleep(1500);
  writeKeys(keysFile, keys);

  // Redis goes away mid-traffic: degraded mode and cache errors are logged.
  await redis.kill();
  for (let i = 0; i < 3; i++)
    await statusOf(good.chat.completions.create(chat(`${PROMPT} outage ${i}`, { temperature: 0 })));

  // Shutdown.
  const exited = new Promise((r) => child?.once('exit', r));
  child.kill('SIGTERM');
  await exited;

  const lines = output.split('\n').filter((l) => l.trim() !== '');
  // The session was really logged at debug level, including the interesting events.
  expect(lines.length).toBeGreaterThan(10);
  expect(output).toMatch(/"level":"debug"/);
  expect(output).toMatch(/Refused API keys file/);
  expect(output).toMatch(/Redis unreachable/);
  expect(output).toMatch(/Shutting down/);
  const hits = lines.flatMap((line, n) =>
    PLANTED.filter((p) => line.includes(p)).map((p) => `line ${n}: ${p}: ${line.slice(0, 300)}`),
  );
  // Partial prompt words too (a log of the message array, truncated, would still show these).
  // Request ids (UUIDs) and trace ids (32 hex digits) are random and may hold "4711" by chance (a
  // request id "…-4711-…" did): they are left out of this search, the rest of each line is searched.
  const fragments = ['zebra quartz', '81726354', 'sk-planted', '4711', '5d2e8a1c9b4f7e6a'];
  const randomIds = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b|"[0-9a-f]{32}"/g;
  const fragmentHits = lines.filter((l) => fragments.some((f) => l.replace(randomIds, '<id>').includes(f)));
  expect(hits).toEqual([]);
  expect(fragmentHits).toEqual([]);
});
