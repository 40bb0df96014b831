// Credentials from mounted Secrets: a directory laid out the way the kubelet writes a Secret volume (each
// key a symlink through `..data` to a timestamped directory, replaced by an atomic rename), values served
// from memory, a rotation picked up by the poll without a restart, and which references cannot be read.
import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compiledRoute, gatewayConfig } from '../../../testkit/gateway-config.js';
import { CredentialFiles, DirectorySecretResolver, credentialUses } from './secrets.js';

/** Writes a Secret's data the way the kubelet's atomic writer does: a new `..<stamp>` dir, then a `..data` swap. */
function writeSecretVolume(dir: string, data: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  const stamp = `..${Date.now()}_${Math.random().toString(36).slice(2)}`;
  mkdirSync(path.join(dir, stamp));
  for (const [k, v] of Object.entries(data)) writeFileSync(path.join(dir, stamp, k), v);
  symlinkSync(stamp, path.join(dir, '..data_tmp'));
  renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  for (const k of Object.keys(data)) {
    try {
      symlinkSync(path.join('..data', k), path.join(dir, k));
    } catch {
      // the key's link exists from an earlier write: it follows ..data
    }
  }
}

const files: CredentialFiles[] = [];
afterEach(() => {
  for (const f of files.splice(0)) f.stop();
});

function credentialFilesOf(dir: string, pollMs = 20): CredentialFiles {
  const f = new CredentialFiles([new DirectorySecretResolver(dir)], { pollMs });
  files.push(f);
  return f;
}

const ref = { namespace: 'llm', name: 'openai', key: 'apiKey' };

describe('CredentialFiles', () => {
  it('serves a rotated value from the next poll, without a restart, and reports the change', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'secrets-'));
    const secretDir = path.join(dir, 'llm', 'openai');
    writeSecretVolume(secretDir, { apiKey: 'sk-first\n' });
    const f = credentialFilesOf(dir);
    let changes = 0;
    f.onChange(() => changes++);
    await f.follow([ref]);
    expect(await f.resolve(ref)).toBe('sk-first');

    const rotated = Date.now();
    writeSecretVolume(secretDir, { apiKey: 'sk-second' });
    while ((await f.resolve(ref)) !== 'sk-second' && Date.now() - rotated < 2000)
      await new Promise((r) => setTimeout(r, 5));
    const ms = Date.now() - rotated;
    expect(await f.resolve(ref)).toBe('sk-second');
    // Within a couple of polls: the poll, not a watcher, finds a swapped ..data.
    expect(ms).toBeLessThan(500);
    expect(changes).toBeGreaterThanOrEqual(1);
  });

  it('says which followed references cannot be read, and when one appears', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'secrets-'));
    const f = credentialFilesOf(dir, 60_000);
    const other = { ...ref, key: 'other' };
    await f.follow([ref, other]);
    expect(f.readable(ref)).toBe(false);
    // An optional volume of a missing Secret is an empty directory; then the kubelet fills it.
    writeSecretVolume(path.join(dir, 'llm', 'openai'), { apiKey: 'sk' });
    expect(await f.refresh()).toBe(true);
    expect(f.readable(ref)).toBe(true);
    expect(f.readable(other)).toBe(false);
    expect(await f.refresh()).toBe(false);
    // A reference no longer followed is forgotten.
    await f.follow([other]);
    expect(f.readable(ref)).toBe(false);
    rmSync(path.join(dir, 'llm'), { recursive: true });
  });

  it('answers from memory: a value that vanished from disk is missing only from the next poll on', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'secrets-'));
    writeSecretVolume(path.join(dir, 'llm', 'openai'), { apiKey: 'sk' });
    const f = credentialFilesOf(dir, 60_000);
    expect(await f.resolve(ref)).toBe('sk');
    rmSync(path.join(dir, 'llm'), { recursive: true });
    expect(await f.resolve(ref)).toBe('sk');
    await f.refresh();
    expect(await f.resolve(ref)).toBeUndefined();
  });
});

describe('credentialUses', () => {
  it('lists every backend that takes credentials with the labels of its metric series', () => {
    const config = gatewayConfig([
      compiledRoute('chat', [
        {
          name: 'a',
          url: 'http://a/v1',
          credentials: { namespace: 'llm', name: 'openai', key: 'apiKey' },
        },
        { name: 'b', url: 'http://b/v1' },
      ]),
    ]);
    expect(credentialUses(config)).toEqual([
      {
        labels: { namespace: 'default', route: 'chat', backend: 'a', variant: 'stable' },
        ref,
      },
    ]);
  });
});
