// The process wiring of main.ts that a unit test can reach: beastmode_backend_credentials_ready follows the
// config in force and the credential files (0 while a file is missing, 1 once it appears, gone with the
// backend), which is what the operator reads into a route's status.
import { afterEach, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { METRICS } from '../../api/v1alpha1/index.js';
import { compiledRoute, gatewayConfig } from '../../testkit/gateway-config.js';
import { credentialFiles, type CredentialFiles } from './config/secrets.js';
import { createLogger } from './log.js';
import { reportCredentials } from './main.js';
import { startGateway, type Gateway } from './server/gateway.js';

let gw: Gateway | undefined;
let files: CredentialFiles | undefined;
afterEach(async () => {
  files?.stop();
  await gw?.close();
});

const credentialLines = async (url: string): Promise<string[]> =>
  (await (await fetch(`${url}/metrics`)).text())
    .split('\n')
    .filter((l) => l.startsWith(`${METRICS.credentialsReady}{`));

it('exports whether each backend can read its credential, following the files and the config', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'secrets-'));
  const credentials = { namespace: 'default', name: 'openai', key: 'apiKey' };
  const config = (withCredentials: boolean) =>
    gatewayConfig([
      compiledRoute('chat', [
        { name: 'a', url: 'http://127.0.0.1:1/v1', ...(withCredentials ? { credentials } : {}) },
      ]),
    ]);
  files = credentialFiles(dir, { pollMs: 60_000 });
  gw = await startGateway({
    source: { config: config(true) },
    secrets: files,
    logger: createLogger('error', true),
  });
  reportCredentials(gw, files);
  const series = 'namespace="default",route="chat",backend="a",variant="stable",secret="openai",key="apiKey"';
  let lines: string[] = [];
  for (let i = 0; i < 50 && lines.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 10));
    lines = await credentialLines(gw.url);
  }
  expect(lines).toEqual([`${METRICS.credentialsReady}{${series}} 0`]);

  mkdirSync(path.join(dir, 'default', 'openai'), { recursive: true });
  writeFileSync(path.join(dir, 'default', 'openai', 'apiKey'), 'sk');
  await files.refresh();
  expect(await credentialLines(gw.url)).toEqual([`${METRICS.credentialsReady}{${series}} 1`]);

  gw.state.store.apply(config(false), 'test');
  await new Promise((r) => setTimeout(r, 20));
  expect(await credentialLines(gw.url)).toEqual([]);
});
