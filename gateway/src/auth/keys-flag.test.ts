// `beastmode gateway --api-keys-file` with a config that does not turn auth on: auth is on anyway (a 401
// never degrades to an anonymous caller), and the gateway says at start-up whether auth is on. The real
// entry point runs as a child process against the simulator.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { finishGatewayConfig } from '../../../api/v1alpha1/index.js';
import { startSimulator, type Simulator } from '../../../simulator/simulator.js';
import { compiledRoute, gatewayConfig } from '../../../testkit/gateway-config.js';
import { chat, eventually, statusOf, tempDir, writeKeys } from '../../../testkit/policy-http.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const KEY = 'sk-keys-flag-test-0123456789';

let sim: Simulator;
const children: ChildProcess[] = [];

beforeAll(async () => {
  sim = await startSimulator();
});

afterAll(async () => {
  for (const c of children)
    if (c.exitCode === null) {
      c.kill('SIGKILL');
      await new Promise((r) => c.once('exit', r));
    }
  await sim?.close();
});

/** The gateway CLI on a config without auth, and a reader of its output. */
function spawnGateway(args: string[]): { child: ChildProcess; output: () => string } {
  const configFile = path.join(tempDir(), 'gateway.json');
  const {
    apiVersion: _v,
    kind: _k,
    revision: _r,
    ...draft
  } = gatewayConfig([compiledRoute('chat', [{ name: 'a', url: `${sim.url}/v1` }])]);
  const config = finishGatewayConfig({ ...draft, logLevel: 'info' });
  writeFileSync(configFile, JSON.stringify(config));
  let output = '';
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'cli/main.ts',
      'gateway',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--config',
      configFile,
      ...args,
    ],
    {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '', BEASTMODE_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return { child, output: () => output };
}

/** A started gateway's URL and output. */
async function gateway(args: string[]): Promise<{ url: string; output: () => string }> {
  const { output } = spawnGateway(args);
  const listening = /"Gateway listening".*?"port":(\d+)|"port":(\d+).*?"Gateway listening"/;
  const port = await eventually(() => listening.exec(output())?.slice(1).find(Boolean), 30_000, 50);
  return { url: `http://127.0.0.1:${port}`, output };
}

const client = (url: string, apiKey: string) => new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0 });

test('a keys file on the command line turns auth on even when the config does not, and says so', async () => {
  const keysFile = path.join(tempDir(), 'keys.yaml');
  writeKeys(keysFile, [{ name: 'svc', key: KEY }]);
  const gw = await gateway(['--api-keys-file', keysFile]);
  const said = /"by":"--api-keys-file".*"Auth is on: every request needs an API key"/;
  await eventually(() => said.test(gw.output()));
  expect(await statusOf(client(gw.url, 'sk-not-a-key-0000000000').chat.completions.create(chat('hi')))).toBe(
    401,
  );
  const anonymous = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(chat('hi')),
  });
  expect(anonymous.status).toBe(401);
  const ok = await client(gw.url, KEY).chat.completions.create(chat('hi'));
  expect(ok.choices[0]?.message.content).toBeTruthy();
  expect(gw.output()).not.toContain(KEY);
});

test('a gateway without keys says it serves everyone anonymously', async () => {
  const gw = await gateway([]);
  await eventually(() =>
    /"level":"warn","message":"Auth is off: every caller is served anonymously"/.test(gw.output()),
  );
});

test('a keys file that cannot be read is a refused start, not an open gateway', async () => {
  const { child, output } = spawnGateway(['--api-keys-file', path.join(tempDir(), 'missing.yaml')]);
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  expect(code).not.toBe(0);
  expect(output()).toMatch(
    /Refusing to start.*auth is on but the keys file .*missing.yaml cannot be read \(ENOENT\)/,
  );
});
