import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compiledRoute, gatewayConfig } from '../../../testkit/gateway-config.js';
import { loadRoutesDir } from './load.js';
import { watchConfigFile } from './sources.js';
import { CredentialFiles, DirectorySecretResolver, EnvSecretResolver, secretEnvName } from './secrets.js';
import { ConfigStore, type LoadResult } from './store.js';

const ROUTE = `apiVersion: beastmode.dev/v1alpha1
kind: ModelRoute
metadata: {name: chat, namespace: team-a}
spec:
  gatewayRef: {name: default}
  model: chat
  backends:
  - {name: one, url: "http://127.0.0.1:1/v1", provider: anthropic, credentialsSecretRef: {name: keys, key: anthropic}}
`;

describe('config', () => {
  test('compiles a directory of ModelRoute manifests into a GatewayConfig', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'routes-'));
    writeFileSync(path.join(dir, 'chat.yaml'), ROUTE);
    writeFileSync(path.join(dir, 'notes.txt'), 'ignored');
    const c = await loadRoutesDir(dir);
    expect(c.routes[0]).toMatchObject({
      namespace: 'team-a',
      model: 'chat',
      backends: [
        { provider: 'anthropic', credentials: { namespace: 'team-a', name: 'keys', key: 'anthropic' } },
      ],
    });
    writeFileSync(path.join(dir, 'bad.yaml'), ROUTE.replace('model: chat', 'model: "bad model"'));
    await expect(loadRoutesDir(dir)).rejects.toThrow(/bad.yaml: ModelRoute fails validation/);
  });

  test('refuses an invalid config and keeps serving the last good one', () => {
    const results: LoadResult[] = [];
    const store = new ConfigStore({ loaded: (r) => results.push(r), log: () => {} });
    const good = gatewayConfig([compiledRoute('chat', [{ name: 'a', url: 'http://a/v1' }])]);
    expect(store.apply(good, 't')).toBe('applied');
    const held = store.current();
    expect(store.apply({ ...good, routes: 'nope' }, 't')).toBe('refused');
    expect(store.apply(new Error('unreadable'), 't')).toBe('refused');
    expect(store.current()).toBe(held);
    expect(store.apply(good, 't')).toBe('unchanged');
    expect(results).toEqual(['applied', 'refused', 'refused', 'unchanged']);
  });

  test('resolves secrets from a mounted directory, then the environment', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'secrets-'));
    mkdirSync(path.join(dir, 'ns', 'keys'), { recursive: true });
    writeFileSync(path.join(dir, 'ns', 'keys', 'openai'), 'sk-dir\n');
    const ref = { namespace: 'ns', name: 'keys', key: 'openai' };
    const env = { [secretEnvName({ namespace: 'ns', name: 'keys', key: 'api.key' })]: 'sk-env' };
    expect(secretEnvName({ namespace: 'ns', name: 'keys', key: 'api.key' })).toBe(
      'BEASTMODE_SECRET_NS_KEYS_API_KEY',
    );
    const r = new CredentialFiles([new DirectorySecretResolver(dir), new EnvSecretResolver(env)]);
    expect(await r.resolve(ref)).toBe('sk-dir');
    expect(await r.resolve({ ...ref, key: 'api.key' })).toBe('sk-env');
    r.stop();
    expect(await new DirectorySecretResolver(dir).resolve({ ...ref, name: '..' })).toBeUndefined();
  });

  test('re-reads a config file on change within a second, refusing a broken one', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'cfg-')), 'gateway.yaml');
    const cfg = (model: string) => gatewayConfig([compiledRoute(model, [{ name: 'a', url: 'http://a/v1' }])]);
    writeFileSync(file, JSON.stringify(cfg('first')));
    const results: LoadResult[] = [];
    const store = new ConfigStore({ loaded: (r) => results.push(r), log: () => {} });
    const source = watchConfigFile(file, store, 50);
    try {
      await source.ready;
      expect(store.current()?.routes.has('first')).toBe(true);
      const t0 = Date.now();
      writeFileSync(file, JSON.stringify(cfg('second')));
      while (!store.current()?.routes.has('second') && Date.now() - t0 < 1000)
        await new Promise((r) => setTimeout(r, 10));
      expect(store.current()?.routes.has('second')).toBe(true);
      writeFileSync(file, 'routes: [');
      while (results.length < 3 && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 10));
      expect(results).toEqual(['applied', 'applied', 'refused']);
      expect(store.current()?.routes.has('second')).toBe(true);
    } finally {
      source.stop();
    }
  });
});
