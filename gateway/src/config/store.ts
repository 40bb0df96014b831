// The config being served, swapped atomically. A request reads `current()` once at its start and keeps
// that object, so a swap never changes a request in flight. A candidate that fails validation is refused
// and the last good config keeps serving.
import type { GatewayConfig } from '../../../api/v1alpha1/index.js';
import { compileRuntime, validateGatewayConfig, type RuntimeConfig } from './load.js';

export type LoadResult = 'applied' | 'refused' | 'unchanged';

export interface ConfigEvents {
  /** Counts a load by result (beastmode_config_loads_total). */
  loaded(result: LoadResult, revision: string | undefined): void;
  /** Logs a load: never the config's secrets, there are none in it; only revision and reason. */
  log(level: 'info' | 'warn', msg: string, fields: Record<string, unknown>): void;
}

export class ConfigStore {
  private runtime: RuntimeConfig | undefined;
  private text = '';
  private readonly listeners: ((c: RuntimeConfig) => void)[] = [];

  constructor(private readonly events: ConfigEvents) {}

  current(): RuntimeConfig | undefined {
    return this.runtime;
  }

  onChange(fn: (c: RuntimeConfig) => void): void {
    this.listeners.push(fn);
  }

  /** Validates and applies a candidate (parsed JSON/YAML, or an error found while reading it). */
  apply(candidate: unknown, source: string): LoadResult {
    let config: GatewayConfig;
    let runtime: RuntimeConfig;
    try {
      if (candidate instanceof Error) throw candidate;
      config = validateGatewayConfig(candidate);
      // Compare content, not only the revision: a hand-edited file may keep a stale revision.
      const text = JSON.stringify(config);
      if (text === this.text) {
        this.events.loaded('unchanged', config.revision);
        return 'unchanged';
      }
      runtime = compileRuntime(config);
    } catch (err) {
      this.events.loaded('refused', undefined);
      this.events.log('warn', 'Refused config, keeping the last good one', {
        source,
        servingRevision: this.runtime?.config.revision ?? null,
        reason: err instanceof Error ? err.message : String(err),
      });
      return 'refused';
    }
    const previous = this.runtime?.config.revision ?? null;
    this.runtime = runtime;
    this.text = JSON.stringify(config);
    this.events.loaded('applied', config.revision);
    this.events.log('info', 'Applied config', {
      source,
      revision: config.revision,
      previous,
      routes: config.routes.length,
    });
    for (const l of this.listeners) l(runtime);
    return 'applied';
  }
}
