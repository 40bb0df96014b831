// Turning configuration text into a validated GatewayConfig, and a GatewayConfig into the runtime form
// the request path reads (routes by model name, provider adapters, upstream origins). Pure apart from
// reading the routes directory in `loadRoutesDir`.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments, type Document } from 'yaml';
import { z } from 'zod';
import {
  GatewayConfig,
  ModelGateway,
  ModelRoute,
  compileGatewaySettings,
  compileRoute,
  finishGatewayConfig,
  type CompiledBackend,
  type CompiledRoute,
} from '../../../api/v1alpha1/index.js';
import { producerOf } from '../cache/producer.js';
import { providerAdapter, type ProviderAdapter } from '../providers/provider.js';
import { runtimeShadow, type RuntimeShadow } from '../shadow/runtime.js';
import { runtimeExperiment, type RuntimeExperiment } from '../experiments/runtime.js';

export interface RuntimeBackend {
  spec: CompiledBackend;
  adapter: ProviderAdapter;
  /** scheme://host:port, the key of the connection pool. */
  origin: string;
  /** The URL path prefix, e.g. "/v1". */
  basePath: string;
  /** namespace/route/backend/variant: the key of its breaker and statistics. */
  key: string;
  /** Its metric labels: one object per config, so the metrics reuse their labelled series by identity. */
  labels: MetricLabels;
  /** Who its answers are cached as (cache/producer.ts). */
  producer: string;
  /** The labels of answers it produced that the cache served: backend "cache", its variant. */
  cacheLabels: MetricLabels;
}

export interface RuntimeRoute {
  spec: CompiledRoute;
  backends: Map<string, RuntimeBackend>;
  /** The route's labels with no backend: requests refused or failed before one was chosen. */
  labels: MetricLabels;
  /** Where a share of its requests is mirrored (shadow/mirror.ts). */
  shadow?: RuntimeShadow | undefined;
  /** Its experiment's variants, weights and metric labels (experiments/runtime.ts). */
  experiment?: RuntimeExperiment | undefined;
}

/** namespace, route, backend, variant: the labels of every per-backend metric. */
export interface MetricLabels {
  readonly namespace: string;
  readonly route: string;
  readonly backend: string;
  readonly variant: string;
}

export interface RuntimeConfig {
  config: GatewayConfig;
  routes: Map<string, RuntimeRoute>;
}

/**
 * A YAML document's value. Some YAML fails only when resolved (an alias of no anchor, more aliases than a
 * document may expand): that is an invalid document too, reported after `prefix`, not a ReferenceError.
 */
function documentValue(doc: Document.Parsed, prefix: string): unknown {
  try {
    return doc.toJS() as unknown;
  } catch (err) {
    throw new Error(`${prefix}${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Parses JSON or YAML text (JSON is YAML) into a validated GatewayConfig; throws with readable issues. */
export function parseGatewayConfig(text: string): GatewayConfig {
  const docs = parseAllDocuments(text);
  const first = Array.isArray(docs) ? docs[0] : docs;
  if (first === undefined) throw new Error('config is empty');
  if (first.errors.length > 0) throw new Error(`config is not valid JSON/YAML: ${first.errors[0]?.message}`);
  return validateGatewayConfig(documentValue(first, 'config is not valid JSON/YAML: '));
}

export function validateGatewayConfig(value: unknown): GatewayConfig {
  const r = GatewayConfig.safeParse(value);
  if (!r.success) throw new Error(`config fails validation: ${z.prettifyError(r.error)}`);
  return r.data;
}

/** Builds the runtime form; throws for a backend whose provider has no adapter or whose URL is invalid. */
export function compileRuntime(config: GatewayConfig): RuntimeConfig {
  const routes = new Map<string, RuntimeRoute>();
  for (const route of config.routes) {
    const labels = Object.freeze({ namespace: route.namespace, route: route.name, backend: '', variant: '' });
    const cacheLabels = {
      stable: Object.freeze({ ...labels, backend: 'cache', variant: 'stable' }),
      canary: Object.freeze({ ...labels, backend: 'cache', variant: 'canary' }),
    };
    const backends = new Map<string, RuntimeBackend>();
    for (const b of route.backends) {
      const url = new URL(b.url);
      const key = `${route.namespace}/${route.name}/${b.name}/${b.variant}`;
      backends.set(`${b.name}/${b.variant}`, {
        spec: b,
        adapter: providerAdapter(b.provider),
        origin: url.origin,
        basePath: url.pathname.replace(/\/+$/, ''),
        key,
        labels: Object.freeze({
          namespace: route.namespace,
          route: route.name,
          backend: b.name,
          variant: b.variant,
        }),
        producer: producerOf(route, b),
        cacheLabels: cacheLabels[b.variant],
      });
    }
    routes.set(route.model, {
      spec: route,
      backends,
      labels,
      ...runtimeShadow(route),
      ...runtimeExperiment(route),
    });
  }
  return { config, routes };
}

/**
 * Builds a GatewayConfig from ModelRoute manifests (and optionally one ModelGateway for limits), as
 * texts keyed by file name. Every document must be valid; other kinds are ignored.
 */
export function gatewayConfigFromManifests(files: { name: string; text: string }[]): GatewayConfig {
  const routes: CompiledRoute[] = [];
  let base = compileGatewaySettings({ namespace: 'default', name: 'standalone' });
  for (const f of files) {
    for (const doc of parseAllDocuments(f.text)) {
      if (doc.errors.length > 0) throw new Error(`${f.name}: ${doc.errors[0]?.message}`);
      const obj = documentValue(doc, `${f.name}: `);
      if (obj === null || typeof obj !== 'object') continue;
      const kind = (obj as { kind?: unknown }).kind;
      if (kind === 'ModelRoute') {
        const r = ModelRoute.safeParse(obj);
        if (!r.success)
          throw new Error(`${f.name}: ModelRoute fails validation: ${z.prettifyError(r.error)}`);
        routes.push(compileRoute(r.data));
      } else if (kind === 'ModelGateway') {
        const g = ModelGateway.safeParse(obj);
        if (!g.success)
          throw new Error(`${f.name}: ModelGateway fails validation: ${z.prettifyError(g.error)}`);
        base = compileGatewaySettings(
          { namespace: g.data.metadata.namespace ?? 'default', name: g.data.metadata.name },
          g.data.spec,
        );
      }
    }
  }
  routes.sort((a, b) => a.model.localeCompare(b.model));
  return validateGatewayConfig(finishGatewayConfig({ ...base, routes }));
}

/** Reads every *.yaml, *.yml and *.json file of a directory (not recursive) into a GatewayConfig. */
export async function loadRoutesDir(dir: string): Promise<GatewayConfig> {
  const names = (await readdir(dir)).filter((n) => /\.(ya?ml|json)$/.test(n)).sort();
  const files = await Promise.all(
    names.map(async (name) => ({ name, text: await readFile(path.join(dir, name), 'utf8') })),
  );
  return gatewayConfigFromManifests(files);
}
