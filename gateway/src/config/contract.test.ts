// The contract between the operator's rendering of a gateway (operator/src/render/gateway.ts) and the
// gateway process (main.ts, config/deployment.ts) and image (Dockerfile): the Deployment's arguments and
// environment parse, name the ConfigMap the operator writes, the keys file, the Redis URL file and every
// backend credential are where their Secrets are mounted, ports and probes match what the gateway serves,
// the Role grants no Secret, and the example keys.yaml parses with the gateway's parser.
import { jest } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { ModelGateway, ModelRoute } from '../../../api/v1alpha1/index.js';
import { GATEWAY_CONFIG_KEY } from '../../../api/v1alpha1/index.js';
import { GATEWAY_PORT, gatewayConfigMapName } from '../../../operator/src/render/gateway.js';
import { translateGateway } from '../../../operator/src/render/translate.js';
import { parseKeysFile, KEYS_FILE_KEY } from '../auth/keys-file.js';
import { createLogger } from '../log.js';
import { main as launch } from '../../../cli/main.js';
import { parseFlags } from '../main.js';
import { startGateway } from '../server/gateway.js';
import { authKeysProblem, ENV, KEYS_FILE_NAME, keysFileFor, redisUrlFrom } from './deployment.js';
import { credentialUses } from './secrets.js';

const root = process.cwd();

const gateway: ModelGateway = {
  apiVersion: 'beastmode.dev/v1alpha1',
  kind: 'ModelGateway',
  metadata: { name: 'main', namespace: 'llm', uid: 'u1' },
  spec: {
    auth: { apiKeysSecretRef: { name: 'gateway-keys' } },
    redis: { urlSecretRef: { name: 'redis', key: 'url' }, failurePolicy: 'local' },
  },
} as ModelGateway;

const route: ModelRoute = {
  apiVersion: 'beastmode.dev/v1alpha1',
  kind: 'ModelRoute',
  metadata: { name: 'chat', namespace: 'llm', uid: 'r1', creationTimestamp: '2025-01-01T00:00:00Z' },
  spec: {
    gatewayRef: { name: 'main' },
    model: 'chat',
    backends: [
      {
        name: 'a',
        url: 'https://a.example.com/v1',
        credentialsSecretRef: { name: 'openai', key: 'apiKey' },
        weight: 1,
      },
    ],
  },
} as unknown as ModelRoute;

function render() {
  const t = translateGateway(
    {
      namespace: 'llm',
      gatewayName: 'main',
      gateway,
      routes: [route],
      canaries: [],
      serviceExists: () => true,
      deployment: undefined,
      autoscaled: false,
    },
    { now: new Date(0), defaultImage: 'ghcr.io/beastmode/beastmode:test' },
  );
  return { config: t.config, objs: t.objects };
}

interface Container {
  args: string[];
  env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  ports: { name: string; containerPort: number }[];
  readinessProbe: { httpGet: { path: string; port: string } };
  livenessProbe: { httpGet: { path: string; port: string } };
  volumeMounts: { name: string; mountPath: string }[];
  securityContext: { readOnlyRootFilesystem?: boolean };
}

function podOf(objs: ReturnType<typeof render>['objs']) {
  const spec = (objs.deployment.spec as { template: { spec: Record<string, unknown> } }).template.spec;
  const container = (spec.containers as Container[])[0] as Container;
  const volumes = spec.volumes as {
    name: string;
    secret?: { secretName: string; optional?: boolean };
    emptyDir?: unknown;
  }[];
  return { container, volumes };
}

/** The Secret volume mounted where `file` lies, if any. */
function secretVolumeOf(objs: ReturnType<typeof render>['objs'], file: string) {
  const { container, volumes } = podOf(objs);
  const mount = container.volumeMounts.find((m) => file.startsWith(`${m.mountPath}/`));
  return { mount, volume: volumes.find((v) => v.name === mount?.name)?.secret };
}

describe('the Deployment the operator renders runs the gateway', () => {
  const { config, objs } = render();
  const { container, volumes } = podOf(objs);

  test('the image entrypoint is the launcher, which dispatches the first argument to the gateway', async () => {
    const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    expect(container.args[0]).toBe('gateway');
    expect(dockerfile).toMatch(/ENTRYPOINT \["\/nodejs\/bin\/node", "\/app\/dist\/cli\/main\.js"\]/);
    // tsconfig.build.json compiles cli/ and gateway/src into dist/.
    const build = JSON.parse(readFileSync(path.join(root, 'tsconfig.build.json'), 'utf8')) as {
      include: string[];
    };
    expect(build.include).toEqual(expect.arrayContaining(['cli', 'gateway/src']));
    const written: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    try {
      expect(await launch([container.args[0]!, '--help'])).toBe(0);
    } finally {
      write.mockRestore();
    }
    expect(written.join('')).toContain('Usage: beastmode gateway');
  });

  test('its arguments and environment parse, and name the ConfigMap the operator writes', () => {
    const env: Record<string, string> = {};
    for (const e of container.env) env[e.name] = e.value ?? `from-secret:${e.valueFrom?.secretKeyRef?.key}`;
    // Every variable the Deployment sets is one the gateway reads (or the pod's identity, or Node's own).
    const known = new Set<string>([...Object.values(ENV), 'POD_NAME', 'POD_NAMESPACE', 'NODE_OPTIONS']);
    for (const name of Object.keys(env)) expect(known).toContain(name);
    // No Secret value in the environment: the Redis URL is the file of its mounted Secret's key.
    expect(container.env.some((e) => e.valueFrom?.secretKeyRef !== undefined)).toBe(false);
    const redisFile = env[ENV.redisUrlFile] ?? '';
    const redis = secretVolumeOf(objs, redisFile);
    expect(redis.volume).toEqual({ secretName: 'redis', defaultMode: 0o440 });
    expect(redisFile).toBe(`${redis.mount?.mountPath}/url`);

    const parsed = parseFlags(container.args.slice(1), env);
    if (!parsed.ok) throw new Error('error' in parsed ? parsed.error : 'unexpected --help');
    const f = parsed.flags;
    expect(f.configmap).toBe(`llm/${gatewayConfigMapName('main')}`);
    expect(objs.configMap.metadata.name).toBe(gatewayConfigMapName('main'));
    expect(Object.keys(objs.configMap.data as object)).toEqual([GATEWAY_CONFIG_KEY]);
    expect(f.kubeconfig).toBeUndefined(); // in-cluster credentials
    expect(f.port).toBe(GATEWAY_PORT);
    expect(f.host).toBe('0.0.0.0');
    expect(f['log-level']).toBe('info');

    // keys.yaml is read where the Secret of auth.apiKeysSecretRef is mounted.
    const keysFile = keysFileFor(config, { apiKeysFile: f['api-keys-file'], secretsDir: f['secrets-dir'] });
    expect(keysFile).toBeDefined();
    const mount = container.volumeMounts.find((m) => keysFile?.startsWith(`${m.mountPath}/`));
    const volume = volumes.find((v) => v.name === mount?.name);
    expect(volume?.secret?.secretName).toBe('gateway-keys');
    expect(keysFile).toBe(`${mount?.mountPath}/${KEYS_FILE_NAME}`);
    expect(KEYS_FILE_NAME).toBe(KEYS_FILE_KEY);
  });

  test('ports and probes match what the gateway serves', async () => {
    const http = container.ports.find((p) => p.name === 'http');
    expect(http?.containerPort).toBe(GATEWAY_PORT);
    expect(container.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 'http' });
    expect(container.livenessProbe.httpGet).toMatchObject({ path: '/healthz', port: 'http' });
    const svc = objs.service.spec as { ports: { targetPort: string }[] };
    expect(svc.ports[0]?.targetPort).toBe('http');
    // The canary provider scrapes the port named "metrics", else "http": /metrics is on the http port.
    const gw = await startGateway({ source: { config }, port: 0, logger: createLogger('info', true) });
    try {
      for (const p of ['/healthz', '/readyz', '/metrics'])
        expect((await fetch(`${gw.url}${p}`)).status).toBe(200);
    } finally {
      await gw.close();
    }
  });

  test('the root filesystem is read-only and /tmp is writable', () => {
    expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
    const tmp = container.volumeMounts.find((m) => m.mountPath === '/tmp');
    expect(volumes.find((v) => v.name === tmp?.name)?.emptyDir).toBeDefined();
  });

  test('every credential is a file of its mounted Secret where --secrets-dir looks, optional', () => {
    const parsed = parseFlags(container.args.slice(1), {});
    if (!parsed.ok) throw new Error('the arguments do not parse');
    const dir = parsed.flags['secrets-dir'];
    const uses = credentialUses(config);
    expect(uses.map((u) => u.ref)).toEqual([{ namespace: 'llm', name: 'openai', key: 'apiKey' }]);
    for (const { ref } of uses) {
      const file = [dir, ref.namespace, ref.name, ref.key].join('/');
      const { mount, volume } = secretVolumeOf(objs, file);
      // Optional: a missing Secret must not keep the pods (and the other routes) from starting.
      expect(volume).toEqual({ secretName: ref.name, defaultMode: 0o440, optional: true });
      expect(mount).toMatchObject({ readOnly: true });
    }
    // The API keys and the Redis URL are required: without them nothing can be served.
    expect(volumes.flatMap((v) => (v.secret ? [v.secret] : []))).toEqual([
      { secretName: 'gateway-keys', defaultMode: 0o440 },
      { secretName: 'openai', defaultMode: 0o440, optional: true },
      { secretName: 'redis', defaultMode: 0o440 },
    ]);
  });

  test('the Role lets the pods read their own ConfigMap and no Secret', () => {
    expect(objs.role.rules).toEqual([
      {
        apiGroups: [''],
        resources: ['configmaps'],
        resourceNames: [gatewayConfigMapName('main')],
        verbs: ['get', 'list', 'watch'],
      },
    ]);
  });

  test('auth on without a readable keys file is refused with a message saying what to set', () => {
    expect(authKeysProblem(config, {})).toMatch(/--api-keys-file or BEASTMODE_API_KEYS_FILE/);
    expect(authKeysProblem(config, { apiKeysFile: '/nonexistent/keys.yaml' })).toMatch(
      /keys file \/nonexistent\/keys.yaml cannot be read \(ENOENT\)/,
    );
    const examples = path.join(root, 'manifests', 'examples');
    expect(authKeysProblem(config, { apiKeysFile: path.join(examples, '00-secrets.yaml') })).toBeUndefined();
    // Standalone: the secrets-dir derivation still works when no file is given.
    expect(keysFileFor(config, { secretsDir: '/s' })).toBe('/s/llm/gateway-keys/keys.yaml');
    expect(keysFileFor(config, { secretsDir: '/s', apiKeysFile: '/k.yaml' })).toBe('/k.yaml');
    expect(authKeysProblem({ ...config, auth: undefined }, {})).toBeUndefined();
  });
});

test("the example Secret's keys.yaml parses with the gateway's parser", () => {
  const text = readFileSync(path.join(root, 'manifests', 'examples', '00-secrets.yaml'), 'utf8');
  const docs = parseAllDocuments(text).map(
    (d) => d.toJS() as { kind?: string; stringData?: Record<string, string> },
  );
  const keys = docs.find((d) => d.kind === 'Secret' && d.stringData?.[KEYS_FILE_KEY] !== undefined);
  const parsed = parseKeysFile(keys?.stringData?.[KEYS_FILE_KEY] ?? '');
  expect(parsed.map((k) => k.caller.key)).toEqual(['search-service', 'support-bot']);
});

test('the Redis URL: the variable first, else the mounted file, and a named file that cannot be read is refused', () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'redis-')), 'url');
  writeFileSync(file, 'redis://r:6379\n');
  expect(redisUrlFrom({ [ENV.redisUrlFile]: file })).toEqual({ url: 'redis://r:6379' });
  expect(redisUrlFrom({ [ENV.redisUrl]: 'redis://direct', [ENV.redisUrlFile]: file })).toEqual({
    url: 'redis://direct',
  });
  expect(redisUrlFrom({})).toEqual({});
  expect(redisUrlFrom({ [ENV.redisUrlFile]: `${file}-missing` }).problem).toMatch(
    /Redis URL file .*-missing cannot be read \(ENOENT\): does the Secret .* exist with that key\?/,
  );
});
