import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { KINDS, kindInfo } from './index.js';

const dir = join(import.meta.dirname, '..', '..', 'manifests', 'examples');
const yamlFiles = (d: string) => readdirSync(d).filter((f) => f.endsWith('.yaml'));

function documents(path: string): Record<string, unknown>[] {
  return parseAllDocuments(readFileSync(path, 'utf8')).map((d) => d.toJS() as Record<string, unknown>);
}

const ours = (doc: Record<string, unknown>) => KINDS.some((k) => k.kind === doc.kind);

describe('examples', () => {
  it.each(yamlFiles(dir))('%s parses with the schemas', (file) => {
    for (const doc of documents(join(dir, file)).filter(ours)) {
      const result = kindInfo(String(doc.kind)).schema.safeParse(doc);
      expect(result.success ? 'ok' : z.prettifyError(result.error)).toBe('ok');
    }
  });

  it('cover every kind', () => {
    const kinds = new Set(yamlFiles(dir).flatMap((f) => documents(join(dir, f)).map((d) => d.kind)));
    for (const k of KINDS) expect(kinds).toContain(k.kind);
  });
});

describe('invalid examples', () => {
  const invalid = join(dir, 'invalid');
  it.each(yamlFiles(invalid))('%s is refused with the message its comment promises', (file) => {
    const text = readFileSync(join(invalid, file), 'utf8');
    const expected = /^# expect-zod: (.+)$/m.exec(text)?.[1] ?? /^# expect: (.+)$/m.exec(text)?.[1];
    expect(expected).toBeDefined();
    const [doc] = documents(join(invalid, file));
    const result = kindInfo(String(doc?.kind)).schema.safeParse(doc);
    expect(result.success).toBe(false);
    const message = result.success ? '' : z.prettifyError(result.error);
    expect(message).toContain(expected);
    // The message names the field: prettifyError prints "→ at <path>" for every issue below the root.
    expect(message).toMatch(/→ at (spec|metadata)/);
  });
});
