// The router models a gateway's routes decide with: the bundled one, or the model file a route names in a
// ConfigMap of its namespace (`qualityCost.model.configMapRef`), and the router on prompt embeddings a route
// with an embeddings server names (`qualityCost.embeddings.routerModel`). Each named ConfigMap is watched
// while a route names it; a change that holds a valid model replaces the route's model at once (hot swap), one that
// does not is refused and the last good model kept (until a first good one, the bundled model decides).
// The watch is injected: through the API server in a cluster (the gateway's Role names the ConfigMap),
// none for a gateway that reads its config from a file.
import { routerModelRefs, type CompiledRoute, type GatewayConfig } from '../../../api/v1alpha1/index.js';
import type { Logger } from '../log.js';
import { loadEmbeddingRouterModel, type EmbeddingRouterModel } from './router-embeddings.js';
import { bundledRouterModel, loadRouterModel, type RouterModel } from './router-model.js';

type Holds = 'features' | 'embeddings';
type Loaded =
  { holds: 'features'; model: RouterModel } | { holds: 'embeddings'; model: EmbeddingRouterModel };

/** Watches one ConfigMap: `onData` with its data on every change (undefined once deleted); returns stop. */
export type ConfigMapWatch = (
  namespace: string,
  name: string,
  onData: (data: Record<string, string> | undefined) => void,
) => () => void;

export interface RouterModelsDeps {
  watch: ConfigMapWatch | undefined;
  log: Logger;
  /** A model was loaded or replaced: the routes that use it decide with it from now on. */
  changed: () => void;
  /** Counts each load by result (applied|refused). */
  loaded?: (result: 'applied' | 'refused') => void;
}

const refOf = (route: CompiledRoute, holds: Holds) => {
  const ref = routerModelRefs(route.selection).find((r) => r.holds === holds);
  return ref === undefined ? undefined : { namespace: route.namespace, name: ref.name, key: ref.key };
};
const modelKey = (ns: string, name: string, key: string) => `${ns}/${name}/${key}`;

export class RouterModels {
  /** Watched ConfigMaps by namespace/name: the keys routes read from them, and how to stop watching. */
  private readonly watches = new Map<string, { keys: Map<string, Holds>; stop: () => void }>();
  /** The last good model of each namespace/name/key, and the text it was read from. */
  private readonly models = new Map<string, Loaded>();
  private readonly texts = new Map<string, string>();
  private warnedNoWatch = false;

  constructor(private readonly deps: RouterModelsDeps) {}

  /** Follows a config: watches the ConfigMaps its routes name, stops watching the others. */
  apply(config: GatewayConfig): void {
    const wanted = new Map<string, { namespace: string; name: string; keys: Map<string, Holds> }>();
    for (const r of config.routes)
      for (const ref of routerModelRefs(r.selection)) {
        const id = `${r.namespace}/${ref.name}`;
        const w = wanted.get(id) ?? {
          namespace: r.namespace,
          name: ref.name,
          keys: new Map<string, Holds>(),
        };
        w.keys.set(ref.key, ref.holds);
        wanted.set(id, w);
      }
    for (const [id, w] of this.watches)
      if (!wanted.has(id)) {
        w.stop();
        this.watches.delete(id);
        for (const k of [...this.models.keys()])
          if (k.startsWith(`${id}/`)) {
            this.models.delete(k);
            this.texts.delete(k);
          }
      }
    for (const [id, w] of wanted) {
      const known = this.watches.get(id);
      if (known !== undefined) {
        known.keys = w.keys;
        continue;
      }
      if (this.deps.watch === undefined) {
        if (!this.warnedNoWatch)
          this.deps.log.log(
            'warn',
            'A route names a router model ConfigMap, but this gateway reads none; the bundled model decides',
            {
              configMap: id,
            },
          );
        this.warnedNoWatch = true;
        continue;
      }
      const entry: { keys: Map<string, Holds>; stop: () => void } = { keys: w.keys, stop: () => undefined };
      this.watches.set(id, entry);
      entry.stop = this.deps.watch(w.namespace, w.name, (data) => this.update(w.namespace, w.name, data));
    }
  }

  /** The model of built-in features a route decides with. */
  modelFor(route: CompiledRoute): RouterModel {
    const ref = refOf(route, 'features');
    const loaded = ref && this.models.get(modelKey(ref.namespace, ref.name, ref.key));
    return loaded?.holds === 'features' ? loaded.model : bundledRouterModel();
  }

  /** The router on embeddings a route names, once loaded (the built-in model decides until then). */
  embeddingModelFor(route: CompiledRoute): EmbeddingRouterModel | undefined {
    const ref = refOf(route, 'embeddings');
    const loaded = ref && this.models.get(modelKey(ref.namespace, ref.name, ref.key));
    return loaded?.holds === 'embeddings' ? loaded.model : undefined;
  }

  close(): void {
    for (const w of this.watches.values()) w.stop();
    this.watches.clear();
  }

  private update(namespace: string, name: string, data: Record<string, string> | undefined): void {
    const w = this.watches.get(`${namespace}/${name}`);
    if (w === undefined) return;
    const configMap = `${namespace}/${name}`;
    if (data === undefined) {
      this.deps.log.log('warn', 'Router model ConfigMap deleted, keeping the last good model', { configMap });
      return;
    }
    let changed = false;
    for (const [key, holds] of w.keys) {
      const id = modelKey(namespace, name, key);
      const text = data[key];
      try {
        if (text === undefined) throw new Error(`the ConfigMap has no key ${key}`);
        if (this.texts.get(id) === text) continue;
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          throw new Error(`key ${key} is not JSON`);
        }
        const loaded: Loaded =
          holds === 'features'
            ? { holds, model: loadRouterModel(json) }
            : { holds, model: loadEmbeddingRouterModel(json) };
        const model = loaded.model;
        this.models.set(id, loaded);
        this.texts.set(id, text);
        changed = true;
        this.deps.loaded?.('applied');
        this.deps.log.log('info', 'Router model loaded', { configMap, key, version: model.version });
      } catch (err) {
        this.deps.loaded?.('refused');
        const reason = err instanceof Error ? err.message : String(err);
        const last = this.models.get(id)?.model.version;
        const keeping =
          last ?? (holds === 'features' ? `the bundled ${bundledRouterModel().version}` : 'none');
        this.deps.log.log('warn', 'Router model refused, keeping the last good one', {
          configMap,
          key,
          keeping,
          reason,
        });
      }
    }
    if (changed) this.deps.changed();
  }
}
