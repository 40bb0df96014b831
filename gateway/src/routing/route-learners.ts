// The learning routers of a gateway, one per quality/cost route that declares `learning`: created when a
// config asks for one, kept across configs while the route's learner identity (its backends, router model
// and target quality) is the same, dropped with the route. Every `syncMs` each one adds what it counted to
// the shared store and plans from the sum (all replicas' traffic); a learner new to this process reads the
// store first, so a restart starts from what was learnt. A store that fails leaves the counts to go next
// time, and the learner plans from what it has.
import type { CompiledRoute, GatewayConfig } from '../../../api/v1alpha1/index.js';
import type { Logger } from '../log.js';
import type { LearnerStore } from './learner-store.js';
import { LearningRouter, type Arm, type CellView } from './router-learner.js';
import { bandEdgesOf, type RouterModel } from './router-model.js';

/** Bands of the static router's score per prompt domain (bench:router chose it, docs/router.md). */
export const LEARNER_BANDS = 4;

export interface LearnerState {
  route: string;
  /** The store key: what the learner is the learner of. */
  key: string;
  targetQuality: number;
  exploration: number;
  summary: ReturnType<LearningRouter['summary']>;
  cells: readonly CellView[];
  lastSync: { at: number; ok: boolean; error?: string } | undefined;
}

interface Entry {
  key: string;
  learner: LearningRouter;
  route: CompiledRoute;
  lastSync?: { at: number; ok: boolean; error?: string };
}

export interface RouteLearnersDeps {
  store: LearnerStore;
  log: Logger;
  now: () => number;
  syncMs?: number;
}

const routeKey = (namespace: string, name: string): string => `${namespace}/${name}`;

export class RouteLearners {
  private entries = new Map<string, Entry>();
  private prefix = 'bm';
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;

  constructor(private readonly deps: RouteLearnersDeps) {}

  /** Follows a config: learners for the routes that declare learning, with the router model they use. */
  apply(config: GatewayConfig, routerModel: (route: CompiledRoute) => RouterModel): void {
    this.prefix = `bm:${config.gateway.namespace}/${config.gateway.name}`;
    const next = new Map<string, Entry>();
    for (const route of config.routes) {
      const qc = route.selection.qualityCost;
      if (qc?.learning === undefined || qc.targetQuality === undefined) continue;
      const id = routeKey(route.namespace, route.name);
      const model = routerModel(route);
      const key = `${this.prefix}:learner:${id}:${qc.strongBackend}>${qc.weakBackend}:${model.version}:${qc.targetQuality}`;
      const known = this.entries.get(id);
      if (
        known !== undefined &&
        known.key === key &&
        known.route.selection.qualityCost?.learning?.exploration === qc.learning.exploration
      ) {
        next.set(id, { ...known, route });
        continue;
      }
      const learner = new LearningRouter({
        targetQuality: qc.targetQuality,
        exploration: qc.learning.exploration,
        bandEdges: bandEdgesOf(model, LEARNER_BANDS, qc.targetQuality),
      });
      // Same identity, new exploration: what was learnt still holds, and what was not shared yet goes next.
      if (known !== undefined && known.key === key) {
        learner.restore(known.learner.snapshot());
        learner.requeue(known.learner.drain());
      }
      next.set(id, { key, learner, route });
    }
    const hadLearners = this.entries.size > 0;
    this.entries = next;
    if (next.size === 0 && !hadLearners) return;
    if (next.size > 0 && this.timer === undefined && this.deps.syncMs !== 0) {
      this.timer = setInterval(() => void this.sync(), this.deps.syncMs ?? 5000);
      this.timer.unref();
    }
    // New learners read what the store holds (other replicas', or before a restart) right away.
    void this.sync();
  }

  /** The learner of a route, when it has one. */
  of(route: CompiledRoute): LearningRouter | undefined {
    return this.entries.get(routeKey(route.namespace, route.name))?.learner;
  }

  /** An outcome of a request a learner decided: `good` for a good answer, false for a bad one or a failure. */
  observe(namespace: string, name: string, cell: string, arm: Arm, good: boolean): void {
    this.entries.get(routeKey(namespace, name))?.learner.observe(cell, arm, good);
  }

  /** A feedback score on an answer a learner decided, judged by the route's goodScore. */
  feedback(namespace: string, name: string, cell: string, arm: Arm, score: number): boolean | undefined {
    const e = this.entries.get(routeKey(namespace, name));
    const goodScore = e?.route.selection.qualityCost?.learning?.goodScore;
    if (e === undefined || goodScore === undefined) return undefined;
    const good = score >= goodScore;
    e.learner.observe(cell, arm, good);
    return good;
  }

  routes(): string[] {
    return [...this.entries.keys()].sort();
  }

  state(route: string): LearnerState | undefined {
    const e = this.entries.get(route);
    if (e === undefined) return undefined;
    const qc = e.route.selection.qualityCost;
    e.learner.replan(); // from the latest counts
    return {
      route,
      key: e.key,
      targetQuality: qc?.targetQuality ?? 0,
      exploration: qc?.learning?.exploration ?? 0,
      summary: e.learner.summary(),
      cells: e.learner.cells(),
      lastSync: e.lastSync,
    };
  }

  /** Forgets what a route's learner learnt, here and in the shared store; false for an unknown route. */
  async reset(route: string): Promise<boolean> {
    const e = this.entries.get(route);
    if (e === undefined) return false;
    e.learner.reset();
    await this.deps.store.clear(e.key);
    return true;
  }

  /** One exchange with the store for every learner (one at a time: a slow store never piles up). */
  async sync(): Promise<void> {
    if (this.syncing !== undefined) return this.syncing;
    this.syncing = (async () => {
      for (const e of this.entries.values()) {
        const delta = e.learner.drain();
        try {
          e.learner.restore(await this.deps.store.exchange(e.key, delta));
          if (e.lastSync?.ok === false)
            this.deps.log.log('info', 'Learner counts shared again', { key: e.key });
          e.lastSync = { at: this.deps.now(), ok: true };
        } catch (err) {
          e.learner.requeue(delta);
          const error = err instanceof Error ? err.message : String(err);
          if (e.lastSync?.ok !== false)
            this.deps.log.log('warn', 'Learner counts not shared; learning from this replica alone', {
              key: e.key,
              error,
            });
          e.lastSync = { at: this.deps.now(), ok: false, error };
        }
      }
    })().finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  /** Stops syncing after a last exchange. */
  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.sync();
  }
}
