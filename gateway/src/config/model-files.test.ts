// Router model ConfigMaps read from a directory: a folder's files are its data, delivered at once and on
// every change (polled), undefined once the folder is gone; names that could leave the directory are never
// read.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { directoryWatch } from './model-files.js';

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
};

test('a folder is a ConfigMap: its files at once, each change, and its removal', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'models-'));
  const folder = path.join(dir, 'llm', 'router');
  mkdirSync(folder, { recursive: true });
  writeFileSync(path.join(folder, 'model.json'), '{"v":1}');
  const seen: (Record<string, string> | undefined)[] = [];
  const stop = directoryWatch(dir, 20)('llm', 'router', (d) => seen.push(d));
  await until(() => seen.length === 1);
  expect(seen[0]).toEqual({ 'model.json': '{"v":1}' });
  writeFileSync(path.join(folder, 'model.json'), '{"v":2}');
  await until(() => seen.length === 2);
  expect(seen[1]).toEqual({ 'model.json': '{"v":2}' });
  rmSync(folder, { recursive: true });
  await until(() => seen.length === 3);
  expect(seen[2]).toBeUndefined();
  stop();
});

test('names that could walk out of the directory are not read', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'models-'));
  writeFileSync(path.join(dir, 'secret'), 'no');
  const seen: unknown[] = [];
  const stop = directoryWatch(dir, 20)('..', '..', (d) => seen.push(d));
  await new Promise((r) => setTimeout(r, 100));
  expect(seen).toEqual([]);
  stop();
});
