// Property tests of the gateway's config loading: any text is a GatewayConfig or an Error saying the config
// is empty, not JSON/YAML or fails validation (never another kind of throw); any value is a GatewayConfig or
// a validation error; a config that loads survives JSON and YAML; manifests of routes become a config or an
// error naming their file. fuzz/corpus/gateway-config is replayed first.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { stringify as stringifyYaml } from 'yaml';
import { anyJson, anyString } from '../../../fuzz/arbitraries.js';
import { corpus, fuzzParams, FUZZ_TIMEOUT_MS } from '../../../fuzz/harness.js';
import { modelRoute } from '../../../fuzz/kube-arbitraries.js';
import type { GatewayConfig } from '../../../api/v1alpha1/index.js';
import {
  compileRuntime,
  gatewayConfigFromManifests,
  parseGatewayConfig,
  validateGatewayConfig,
} from './load.js';

const CLEAN = /^config (is empty|is not valid JSON\/YAML: |fails validation: )/;

/** The config in the text, or undefined after checking the error is a clean one. */
function load(text: string): GatewayConfig | undefined {
  try {
    return parseGatewayConfig(text);
  } catch (err) {
    assert.ok(err instanceof Error, `threw ${String(err)}`);
    assert.equal(err.constructor, Error, `threw a ${err.constructor.name}: ${err.message}`);
    assert.match(err.message, CLEAN);
    return undefined;
  }
}

function checkText(text: string): void {
  const config = load(text);
  if (config === undefined) return;
  assert.equal(JSON.stringify(load(JSON.stringify(config))), JSON.stringify(config), 'through JSON');
  assert.equal(JSON.stringify(load(stringifyYaml(config))), JSON.stringify(config), 'through YAML');
  compileRuntime(config);
}

/** YAML's punctuation, tags, anchors and the config's own words, in any order. */
const yamlSoup = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        ...[
          'a',
          'b',
          ':',
          ': ',
          ' ',
          '\n',
          '\r\n',
          '  ',
          '\t',
          '- ',
          '? ',
          '{',
          '}',
          '[',
          ']',
          ',',
          '"',
          "'",
          '#',
        ],
        ...[
          '&x ',
          '*x',
          '*y',
          '<<: ',
          '!!binary ',
          '!!set ',
          '!!omap ',
          '!!str ',
          '!!int ',
          '!x ',
          '|',
          '>-',
        ],
        ...[
          '---',
          '...',
          '%YAML 1.1\n',
          'null',
          '~',
          'true',
          'yes',
          'on',
          '1e999',
          '0x1F',
          '.inf',
          '-0',
          '1_000',
        ],
        ...['apiVersion', 'beastmode.dev/v1alpha1', 'kind', 'GatewayConfig', 'routes', 'limits', '__proto__'],
      ),
      anyString(4),
    ),
    { maxLength: 40 },
  )
  .map((parts) => parts.join(''));

/** A valid config's text, JSON or YAML, with a few characters cut, replaced or inserted. */
const damaged = fc
  .tuple(
    fc.constantFrom(...corpus('gateway-config').filter((f) => f.name.startsWith('valid-'))),
    fc.boolean(),
    fc.array(fc.tuple(fc.nat(), fc.nat(3), anyString(3)), { minLength: 1, maxLength: 3 }),
  )
  .map(([f, asYaml, edits]) => {
    let text = asYaml ? stringifyYaml(load(f.text)) : f.text;
    for (const [at, cut, insert] of edits) {
      const i = at % (text.length + 1);
      text = text.slice(0, i) + insert + text.slice(i + cut);
    }
    return text;
  });

describe('gateway config loading (corpus)', () => {
  test.each(corpus('gateway-config').map((f) => [f.name, f] as const))('%s', (name, f) => {
    checkText(f.text);
    // The valid-* files are configs the gateway loads; the others are not, or only just.
    if (name.startsWith('valid-')) expect(load(f.text)).toBeDefined();
  });

  test('YAML that fails only when resolved is reported as invalid YAML', () => {
    // Found by the properties: an alias of no anchor, or more aliases than a document may expand, threw a
    // ReferenceError out of parseGatewayConfig (and out of gatewayConfigFromManifests without the file name).
    expect(() => parseGatewayConfig('apiVersion: *nope\n')).toThrow(
      /^config is not valid JSON\/YAML: Unresolved alias/,
    );
    expect(() => gatewayConfigFromManifests([{ name: 'r.yaml', text: 'kind: *nope\n' }])).toThrow(
      /^r\.yaml: /,
    );
  });
});

describe('gateway config loading (properties)', () => {
  test(
    'any text: a config that survives JSON and YAML, or a clean error',
    () => {
      fc.assert(
        fc.property(fc.oneof(yamlSoup, damaged, anyString(40)), (text) => checkText(text)),
        fuzzParams(200),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  test(
    'any value: a config or a validation error',
    () => {
      fc.assert(
        fc.property(anyJson, (value) => {
          try {
            validateGatewayConfig(value);
          } catch (err) {
            assert.ok(err instanceof Error);
            assert.match(err.message, /^config fails validation: /);
          }
        }),
        fuzzParams(300),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  test(
    'route manifests, valid or not, in YAML or JSON: a config that loads, or an error naming the file',
    () => {
      const manifests = fc.array(
        fc.tuple(
          fc.oneof(modelRoute('r', 'llm', 'gw'), anyJson),
          fc.boolean(),
          fc.option(fc.tuple(fc.nat(), anyString(3)), { nil: undefined }),
        ),
        { minLength: 1, maxLength: 3 },
      );
      fc.assert(
        fc.property(manifests, (docs) => {
          const files = docs.map(([doc, asYaml, edit], i) => {
            let text = asYaml ? stringifyYaml(doc) : (JSON.stringify(doc) ?? '');
            if (edit)
              text =
                text.slice(0, edit[0] % (text.length + 1)) +
                edit[1] +
                text.slice(edit[0] % (text.length + 1));
            return { name: `route-${i}.yaml`, text };
          });
          let config: GatewayConfig;
          try {
            config = gatewayConfigFromManifests(files);
          } catch (err) {
            assert.ok(err instanceof Error);
            assert.match(err.message, /^(route-\d\.yaml: |config fails validation: )/);
            return;
          }
          compileRuntime(config);
        }),
        fuzzParams(120),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});
