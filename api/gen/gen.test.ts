import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { allCrds, toStructural } from './crd.js';
import { generatedFiles } from './files.js';
import { rootViolations, structuralViolations } from './structural.js';

const root = join(import.meta.dirname, '..', '..');

describe('generated files', () => {
  it.each([...generatedFiles().keys()])('%s is up to date (run `npm run gen`)', (rel) => {
    let committed = '';
    try {
      committed = readFileSync(join(root, rel), 'utf8');
    } catch {
      committed = '<missing>';
    }
    expect(committed).toBe(generatedFiles().get(rel));
  });
});

describe('CRD schemas', () => {
  it.each(allCrds().map((c) => [c.info.kind, c.crd] as const))('%s is structural', (_kind, crd) => {
    const schema = (crd.spec as { versions: { schema: { openAPIV3Schema: Record<string, unknown> } }[] })
      .versions[0]!.schema.openAPIV3Schema;
    expect(rootViolations(schema)).toEqual([]);
  });

  it('marks status.conditions as a list-map keyed by type', () => {
    for (const { crd } of allCrds()) {
      const text = JSON.stringify(crd);
      expect(text).toContain('"x-kubernetes-list-map-keys":["type"]');
    }
  });

  it('renders int-or-string quantities and strips strict-object markers', () => {
    const schema = z.object({
      q: z.union([z.number().int(), z.string()]),
      o: z.object({ a: z.string() }).strict(),
    });
    const out = toStructural(z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input' }));
    expect(structuralViolations(out)).toEqual([]);
    expect(JSON.stringify(out)).toContain('"x-kubernetes-int-or-string":true');
    expect(JSON.stringify(out)).not.toContain('additionalProperties');
  });

  it('catches what the API server would refuse', () => {
    expect(structuralViolations({ type: 'object', properties: { a: {} } })).toEqual([
      '$.a: every node needs a type (found undefined)',
    ]);
    expect(
      structuralViolations({
        type: 'object',
        properties: { a: { type: 'string' } },
        additionalProperties: false,
      }),
    ).toContain('$: properties and additionalProperties are mutually exclusive');
    expect(structuralViolations({ type: 'string', $ref: '#/x' })).toContain(
      '$: "$ref" is not allowed in a structural schema',
    );
  });

  it('carries the CEL rules of the zod schemas', () => {
    const route = JSON.stringify(allCrds().find((c) => c.info.kind === 'ModelRoute')?.crd);
    expect(route).toContain('has(self.url) != has(self.service)');
    const canary = JSON.stringify(allCrds().find((c) => c.info.kind === 'Canary')?.crd);
    expect(canary).toContain('steps must end at 100');
  });
});
