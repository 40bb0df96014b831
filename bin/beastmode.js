#!/usr/bin/env node
// `beastmode <command>` on the project's Node 24: the TypeScript source (cli/main.ts) through tsx in a source
// tree, else the built JS (npm run build). Symlink it as `kubectl-beastmode` on PATH to use it as a kubectl
// plugin. The image runs dist/cli/main.js directly.
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(realpathSync(fileURLToPath(import.meta.url))), '..');
const source = join(root, 'cli', 'main.ts');
const built = join(root, 'dist', 'cli', 'main.js');
const tsx = join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs');
const pinned = join(root, 'node_modules', 'node', 'bin', 'node');

const major = Number(process.versions.node.split('.')[0]);
const node = major >= 24 || !existsSync(pinned) ? process.execPath : pinned;
const entry = existsSync(source) && existsSync(tsx) ? ['--import', pathToFileURL(tsx).href, source] : [built];
if (!existsSync(entry.at(-1))) {
  console.error(
    'beastmode: neither the source with tsx nor the built CLI was found; run npm install or npm run build',
  );
  process.exit(1);
}
const res = spawnSync(node, ['--no-warnings', ...entry, ...process.argv.slice(2)], { stdio: 'inherit' });
if (res.error) {
  console.error(`beastmode: ${res.error.message}`);
  process.exit(1);
}
process.exit(res.status ?? (res.signal ? 1 : 0));
