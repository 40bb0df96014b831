// Where configs come from: a file (JSON or YAML, re-read on change), a directory of ModelRoute manifests
// (standalone use), or the gateway's own ConfigMap watched through the API server. Each source feeds the
// ConfigStore, which validates and swaps.
import { watch, watchFile, unwatchFile, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { GATEWAY_CONFIG_KEY } from '../../../api/v1alpha1/index.js';
import { loadRoutesDir } from './load.js';
import type { ConfigStore } from './store.js';

export interface ConfigSource {
  /** Resolves after the first load attempt (applied or refused). */
  ready: Promise<void>;
  stop(): void;
}

function parseText(text: string): unknown {
  const docs = parseAllDocuments(text);
  const first = Array.isArray(docs) ? docs[0] : docs;
  if (first === undefined) return new Error('config is empty');
  if (first.errors.length > 0) return new Error(`not valid JSON/YAML: ${first.errors[0]?.message}`);
  return first.toJS() as unknown;
}

/** A single debounced reload at a time; changes during a reload trigger one more. */
function reloader(load: () => Promise<void>, debounceMs: number) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  const run = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = load().finally(() => {
      running = undefined;
      if (again) {
        again = false;
        run();
      }
    });
  };
  return {
    trigger(): void {
      if (timer) clearTimeout(timer);
      timer = setTimeout(run, debounceMs);
    },
    first: (): Promise<void> => {
      run();
      return running ?? Promise.resolve();
    },
    stop(): void {
      if (timer) clearTimeout(timer);
    },
  };
}

/** Watches one GatewayConfig file. Polls its stat too: editors and ConfigMap mounts replace files. */
export function watchConfigFile(file: string, store: ConfigStore, pollMs = 250): ConfigSource {
  const r = reloader(async () => {
    let candidate: unknown;
    try {
      candidate = parseText(await readFile(file, 'utf8'));
    } catch (err) {
      candidate = err instanceof Error ? err : new Error(String(err));
    }
    store.apply(candidate, `file ${file}`);
  }, 50);
  watchFile(file, { interval: pollMs, persistent: false }, () => r.trigger());
  return {
    ready: r.first(),
    stop: () => {
      r.stop();
      unwatchFile(file);
    },
  };
}

/** Watches a directory of ModelRoute (and optionally one ModelGateway) manifests. */
export function watchRoutesDir(dir: string, store: ConfigStore): ConfigSource {
  const r = reloader(async () => {
    let candidate: unknown;
    try {
      candidate = await loadRoutesDir(dir);
    } catch (err) {
      candidate = err instanceof Error ? err : new Error(String(err));
    }
    store.apply(candidate, `routes ${dir}`);
  }, 100);
  let w: FSWatcher | undefined;
  try {
    w = watch(dir, { persistent: false }, () => r.trigger());
  } catch {
    w = undefined;
  }
  return {
    ready: r.first(),
    stop: () => {
      r.stop();
      w?.close();
    },
  };
}

/** Applies the config held in a ConfigMap object's data. */
export function applyConfigMap(store: ConfigStore, obj: unknown, source: string): void {
  const data = (obj as { data?: Record<string, string> } | null)?.data;
  const text = data?.[GATEWAY_CONFIG_KEY];
  store.apply(
    text === undefined ? new Error(`ConfigMap has no key ${GATEWAY_CONFIG_KEY}`) : parseText(text),
    source,
  );
}
