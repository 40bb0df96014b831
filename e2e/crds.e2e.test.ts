// The generated CRDs against a real API server: each installs and becomes Established, every example in
// manifests/examples is accepted, and every manifest in manifests/examples/invalid is refused with the message
// its leading comment promises (`# expect: <substring of the API server's error>`). Files are globbed, so new CRDs
// and examples are picked up without touching this suite.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { helm, kubectl, repoRoot, type CommandResult } from './harness/env.js';

// jest 30 ignores the project-level testTimeout of jest.config.js, and `jest` is no global under ESM.
const TIMEOUT_MS = 180_000;

const crdDir = join(repoRoot, 'crds');
const examplesDir = join(repoRoot, 'manifests', 'examples');
const invalidDir = join(examplesDir, 'invalid');
const ns = `e2e-crds-${Date.now().toString(36)}`;
// Examples are checked with what a user runs (`kubectl apply -f`), on the server without persisting:
// kubectl's default strict field validation makes unknown fields errors (`unknown field "spec.x"`), and the
// schemas and CEL rules of the CRDs apply.
const createdNamespaces: string[] = [];

function yamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => join(dir, e.name))
    .sort();
}

const crdFiles = yamlFiles(crdDir);
const exampleFiles = yamlFiles(examplesDir);
const invalidFiles = yamlFiles(invalidDir);
const rel = (file: string): string => relative(repoRoot, file);

function expectSuccess(res: CommandResult, what: string): void {
  if (res.code !== 0) throw new Error(`${what} failed (exit code ${res.code}):\n${res.stderr}${res.stdout}`);
}

interface KubeObject {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
}

function documentsOf(file: string): KubeObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((doc) => {
      if (doc.errors.length > 0)
        throw new Error(`${rel(file)}: ${doc.errors.map((e) => e.message).join('; ')}`);
      return doc.toJS() as KubeObject | null;
    })
    .filter((obj): obj is KubeObject => obj !== null && typeof obj === 'object');
}

/**
 * kubectl arguments that apply the file as it is, byte for byte (re-serialising it would hide YAML 1.1
 * surprises such as an unquoted `on:` key, which kubectl reads as `true`): into the suite's namespace, or,
 * when the file names namespaces itself, into those (created first).
 */
async function applyDryRunArgs(file: string): Promise<string[]> {
  const named = [
    ...new Set(
      documentsOf(file)
        .map((d) => d.metadata?.namespace)
        .filter((n): n is string => n !== undefined),
    ),
  ];
  for (const namespace of named) {
    if ((await kubectl(['get', 'namespace', namespace])).code !== 0) {
      expectSuccess(
        await kubectl(['create', 'namespace', namespace]),
        `kubectl create namespace ${namespace}`,
      );
      createdNamespaces.push(namespace);
    }
  }
  return ['apply', '--dry-run=server', ...(named.length > 0 ? [] : ['-n', ns]), '-f', file];
}

/** The `# expect: <substring>` lines of the file's leading comment block. */
function expectedErrors(file: string): string[] {
  const expected: string[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith('#')) break;
    const match = /^#\s*expect:\s*(.+?)\s*$/.exec(line);
    if (match?.[1]) expected.push(match[1]);
  }
  return expected;
}

async function installCrd(file: string): Promise<string[]> {
  const names = documentsOf(file)
    .filter((d) => d.kind === 'CustomResourceDefinition')
    .map((d) => d.metadata?.name ?? '');
  expectSuccess(
    await kubectl([
      'apply',
      '--server-side',
      '--force-conflicts',
      '--field-manager=beastmode-e2e',
      '-f',
      file,
    ]),
    `kubectl apply -f ${rel(file)}`,
  );
  return names;
}

beforeAll(async () => {
  expectSuccess(await kubectl(['create', 'namespace', ns]), `kubectl create namespace ${ns}`);
}, TIMEOUT_MS);

afterAll(async () => {
  await kubectl(['delete', 'namespace', ns, ...createdNamespaces, '--wait=false']);
}, TIMEOUT_MS);

describe('CRDs', () => {
  if (crdFiles.length === 0) {
    it.skip('crds/ has no *.yaml yet (generate them with npm run gen)', () => undefined);
  } else {
    it.each(crdFiles.map((f) => [rel(f), f]))(
      '%s installs and becomes Established',
      async (_name, file) => {
        const names = await installCrd(file);
        expect(names.length).toBeGreaterThan(0);
        for (const name of names) {
          expectSuccess(
            await kubectl(['wait', '--for=condition=Established', `crd/${name}`, '--timeout=60s']),
            `waiting for CRD ${name} to become Established`,
          );
          const crd = JSON.parse((await kubectl(['get', 'crd', name, '-o', 'json'])).stdout) as {
            status: { conditions: { type: string; status: string; message?: string }[] };
          };
          const namesAccepted = crd.status.conditions.find((c) => c.type === 'NamesAccepted');
          expect(namesAccepted).toMatchObject({ status: 'True' });
        }
      },
      TIMEOUT_MS,
    );
  }
});

describe('example manifests', () => {
  // Best effort: a CRD that does not install fails its own test above; the examples then fail with the API
  // server's own message about their kind.
  beforeAll(async () => {
    for (const file of crdFiles) {
      await installCrd(file).catch(() => undefined);
      await kubectl(['wait', '--for=condition=Established', '-f', file, '--timeout=60s']);
    }
  }, TIMEOUT_MS);

  if (exampleFiles.length === 0) {
    it.skip('manifests/examples/ has no *.yaml yet', () => undefined);
  } else {
    it.each(exampleFiles.map((f) => [rel(f), f]))(
      '%s is accepted by the API server',
      async (_name, file) => {
        const res = await kubectl(await applyDryRunArgs(file));
        expectSuccess(res, `kubectl apply --dry-run=server -f ${rel(file)}`);
      },
      TIMEOUT_MS,
    );
  }

  if (invalidFiles.length === 0) {
    it.skip('manifests/examples/invalid/ has no *.yaml yet', () => undefined);
  } else {
    it.each(invalidFiles.map((f) => [rel(f), f]))(
      '%s is refused with the message its `# expect:` line promises',
      async (_name, file) => {
        const expected = expectedErrors(file);
        if (expected.length === 0) {
          throw new Error(
            `${rel(file)} must start with a comment line "# expect: <substring of the API server's error>"`,
          );
        }
        const res = await kubectl(await applyDryRunArgs(file));
        expect(res.code).not.toBe(0);
        for (const substring of expected) expect(res.stderr).toContain(substring);
      },
      TIMEOUT_MS,
    );
  }
});

describe('the chart', () => {
  // What `helm install` would create, checked by the API server itself under strict field validation (an
  // unknown or misplaced field is an error, not a warning), for the default values and the optional parts.
  const valueSets: [string, string[]][] = [
    ['default values', []],
    [
      'external metrics, namespace-scoped RBAC, NetworkPolicy peers',
      [
        '--set',
        'externalMetrics.enabled=true',
        '--set',
        `operator.watchNamespaces={${ns}}`,
        '--set',
        'networkPolicy.apiServerCIDRs={10.0.0.1/32}',
        '--set-json',
        'networkPolicy.metricsFrom=[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"monitoring"}}}]',
      ],
    ],
    ['NetworkPolicy off', ['--set', 'networkPolicy.enabled=false']],
    [
      'embeddings server with NetworkPolicy peers',
      [
        '--set',
        'embeddings.enabled=true',
        '--set-json',
        'embeddings.from=[{"namespaceSelector":{"matchLabels":{"beastmode.dev/gateways":"true"}}}]',
      ],
    ],
    [
      'dashboard with a token Secret and NetworkPolicy peers',
      [
        '--set',
        'dashboard.enabled=true',
        '--set',
        'dashboard.tokenSecret.name=dashboard-token',
        '--set-json',
        'dashboard.from=[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"ops"}}}]',
      ],
    ],
    [
      'dashboard with tokenreview auth, namespace-scoped RBAC',
      [
        '--set',
        'dashboard.enabled=true',
        '--set',
        'dashboard.auth=tokenreview',
        '--set',
        `operator.watchNamespaces={${ns}}`,
        '--set',
        'dashboard.prometheus.url=http://prometheus.monitoring:9090',
      ],
    ],
  ];
  it.each(valueSets)(
    'renders objects the API server accepts under strict validation: %s',
    async (_name, values) => {
      const rendered = await helm([
        'template',
        'beastmode',
        join(repoRoot, 'charts', 'beastmode'),
        '--namespace',
        ns,
        '--skip-crds',
        ...values,
      ]);
      expectSuccess(rendered, 'helm template');
      const kinds = parseAllDocuments(rendered.stdout).map((d) => (d.toJS() as KubeObject | null)?.kind);
      expect(kinds.includes('NetworkPolicy')).toBe(!values.includes('networkPolicy.enabled=false'));
      const res = await kubectl(
        // Each object names its namespace (the release's, or kube-system for the external metrics API's
        // reader binding).
        ['apply', '--dry-run=server', '--validate=strict', '-f', '-'],
        rendered.stdout,
      );
      expectSuccess(res, 'kubectl apply --dry-run=server --validate=strict');
    },
    TIMEOUT_MS,
  );
});
