// npm run gen: writes every generated file (CRDs, the chart's CRDs, the API reference).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatedFiles } from './files.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let changed = 0;
for (const [rel, content] of generatedFiles()) {
  const path = join(root, rel);
  let old: string | undefined;
  try {
    old = readFileSync(path, 'utf8');
  } catch {
    old = undefined;
  }
  if (old === content) continue;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  changed++;
  console.log(`wrote ${rel}`);
}
console.log(changed === 0 ? 'generated files are up to date' : `${changed} file(s) written`);
