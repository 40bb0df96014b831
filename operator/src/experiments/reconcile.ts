// One reconcile of an Experiment, pure: the experiment (spec parsed), what the controller sees of its route,
// and, on a due tick, one scrape of the route's gateway pods go in; the next status (phase, cumulative
// moments, comparisons, verdict, split, kstatus conditions), the Events to record and the tally memory come
// out. The controller writes exactly this. Phases:
//
//   Pending ──(route and backends exist, no older experiment on the route)──► Running
//   Running ──winner, promotion auto (or manual with spec.promote = winner)──► Promoted
//   Running ──winner (manual or none), no difference, guardrail breach──────► Concluded
//   Concluded ──spec.promote = the winner (manual)──────────────────────────► Promoted
//   any ──spec.abort──► Aborted;  a changed design (specHashOf) resets the moments and starts again.
//
// Only Running and Promoted put an overlay on the route (experimentOverlayFor): otherwise the control, as the
// route is written, serves everyone.
import {
  EXPERIMENT_METRICS,
  Reason,
  durationMs,
  type Experiment,
  type ExperimentStatus,
} from '../../../api/v1alpha1/index.js';
import { buildConditions, healthOf, type Health } from '../render/conditions.js';
import { decideExperiment, type ExperimentDecision } from './decision.js';
import { designOf, nextSplit, specHashOf, type MomentsByVariant } from './design.js';
import { addMoments, meanOf } from './sequential.js';
import { splitCounterKey, tallyDelta, type ScrapeResult, type TallyMemory } from './tally.js';

/** What the controller sees of the experiment's route. */
export interface ExperimentView {
  /** The route's backend names; undefined when the route does not exist. */
  routeBackends: string[] | undefined;
  /** An older Experiment naming the same route, which owns it. */
  conflictWith?: string;
  /** A Canary of the route rolling out (or shadowing) one of its backends. */
  canary?: { name: string; backend: string };
}

export interface ExperimentEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface ExperimentTick {
  status: ExperimentStatus;
  events: ExperimentEvent[];
  memory: TallyMemory | undefined;
  /** When to reconcile again (the next tick); undefined when nothing is due until the spec changes. */
  requeueAfterMs?: number;
}

export interface ExperimentInput {
  experiment: Experiment;
  view: ExperimentView;
  now: Date;
  /** One scrape of the route's gateway pods, present on a due tick (wantsScrape). */
  scrape?: ScrapeResult;
  memory?: TallyMemory;
  random: () => number;
}

const ACTIVE = new Set<string | undefined>([undefined, 'Pending', 'Running']);
const KNOWN_METRICS = new Set<string>(EXPERIMENT_METRICS);
const MAX_LINE = 512;

const fmt = (v: number): number => Number(v.toPrecision(6));
const line = (s: string): string => (s.length > MAX_LINE ? `${s.slice(0, MAX_LINE - 1)}…` : s);

/** Why the experiment cannot run on its route now; undefined when it can. */
export function refProblem(
  experiment: Experiment,
  view: ExperimentView,
): { reason: Reason; message: string } | undefined {
  const route = experiment.spec.routeRef.name;
  if (view.routeBackends === undefined)
    return { reason: Reason.RouteNotFound, message: `ModelRoute ${route} not found` };
  if (view.conflictWith !== undefined) {
    return {
      reason: Reason.ExperimentConflict,
      message: `the older Experiment ${view.conflictWith} already splits route ${route}`,
    };
  }
  const rolling = view.canary;
  if (rolling !== undefined && experiment.spec.variants.some((v) => v.backend === rolling.backend)) {
    return {
      reason: Reason.CanaryInProgress,
      message: `Canary ${rolling.name} is rolling out backend ${rolling.backend} of route ${route}; the experiment waits for it to end (a variant would otherwise mix two revisions)`,
    };
  }
  const missing = experiment.spec.variants.filter((v) => !view.routeBackends?.includes(v.backend));
  if (missing.length > 0) {
    return {
      reason: Reason.BackendNotFound,
      message: `route ${route} has no backend ${missing.map((v) => `${v.backend} (variant ${v.name})`).join(', ')}`,
    };
  }
  return undefined;
}

/** Whether this reconcile is a tick that reads the gateways: active, runnable, and due (or just (re)started). */
export function wantsScrape(experiment: Experiment, view: ExperimentView, now: Date): boolean {
  const { spec, status } = experiment;
  if (spec.abort || refProblem(experiment, view) !== undefined) return false;
  const changed = status?.specHash !== undefined && status.specHash !== specHashOf(spec);
  if (status?.phase === 'Aborted' || changed) return true;
  if (!ACTIVE.has(status?.phase)) return false;
  if (status?.phase !== 'Running' || status.lastTickAt === undefined) return true;
  return now.getTime() - Date.parse(status.lastTickAt) >= durationMs(spec.interval);
}

function momentsFromStatus(status: ExperimentStatus): MomentsByVariant {
  const out: MomentsByVariant = {};
  for (const v of status.variants ?? []) out[v.name] = { ...(v.moments ?? {}) };
  return out;
}

/** Everything that belongs to one run of the design, cleared when it restarts. */
function restarted(status: ExperimentStatus): ExperimentStatus {
  const {
    startedAt: _s,
    lastTickAt: _l,
    plannedSamplesPerVariant: _p,
    variants: _v,
    comparisons: _c,
    verdict: _verdict,
    winner: _w,
    promotedVariant: _pv,
    reasons: _r,
    decidedAt: _d,
    ...rest
  } = status;
  return { ...rest, phase: 'Pending' };
}

function comparisonsOf(decision: ExperimentDecision): NonNullable<ExperimentStatus['comparisons']> {
  return decision.treatments.map((t) => ({
    variant: t.variant,
    standing: t.standing,
    ...(t.primary
      ? {
          improvement: fmt(t.primary.improvement),
          lower: fmt(t.primary.improvementLower),
          upper: fmt(t.primary.improvementUpper),
          pValue: Math.min(1, Math.max(0, fmt(t.primary.pValue))),
        }
      : {}),
    ...(t.breaches.length > 0 ? { breaches: t.breaches.slice(0, 8).map(line) } : {}),
  }));
}

function variantsOf(
  experiment: Experiment,
  moments: MomentsByVariant,
  weights: Record<string, number>,
): NonNullable<ExperimentStatus['variants']> {
  return experiment.spec.variants.map((v) => {
    const m = moments[v.name] ?? {};
    const mean = Object.fromEntries(
      Object.entries(m).flatMap(([k, x]) => (x.count > 0 ? [[k, fmt(meanOf(x))]] : [])),
    );
    return {
      name: v.name,
      weight: Math.round((weights[v.name] ?? 0) * 10_000) / 10_000,
      ...(Object.keys(m).length > 0 ? { moments: m } : {}),
      ...(Object.keys(mean).length > 0 ? { mean } : {}),
    };
  });
}

const VERDICT_REASON = {
  winner: 'Winner',
  'no-difference': 'NoDifference',
  'guardrail-breach': 'GuardrailBreach',
} as const;

/** Health of a concluded or promoted experiment, from its status. */
function settledHealth(experiment: Experiment, st: ExperimentStatus): Health {
  const { spec } = experiment;
  if (st.phase === 'Promoted')
    return healthOf('ready', Reason.Promoted, `${st.promotedVariant ?? '?'} promoted: every subject gets it`);
  if (st.verdict === 'guardrail-breach')
    return healthOf(
      'stalled',
      Reason.GuardrailBreach,
      `guardrail breach, the control serves: ${st.reasons?.[0] ?? ''}`,
    );
  if (st.verdict === 'winner' && spec.promotion === 'manual') {
    const wrong =
      spec.promote !== undefined && spec.promote !== st.winner
        ? ` (spec.promote names ${spec.promote}, not the winner)`
        : '';
    return healthOf(
      'waiting',
      Reason.AwaitingPromotion,
      `winner ${st.winner ?? '?'}: set spec.promote to ${st.winner ?? '?'} to serve it to everyone${wrong}`,
    );
  }
  if (st.verdict === 'winner')
    return healthOf(
      'ready',
      Reason.Concluded,
      `winner ${st.winner ?? '?'}, reported only: the control serves`,
    );
  return healthOf('ready', Reason.Concluded, `no difference: the control serves (${st.reasons?.[0] ?? ''})`);
}

/** Promotes a concluded winner when the spec allows it now (auto, or manual with spec.promote = winner). */
function promoteIfAllowed(experiment: Experiment, st: ExperimentStatus, events: ExperimentEvent[]): void {
  const { spec } = experiment;
  if (st.verdict !== 'winner' || st.winner === undefined) return;
  if (spec.promotion === 'auto' || (spec.promotion === 'manual' && spec.promote === st.winner)) {
    st.phase = 'Promoted';
    st.promotedVariant = st.winner;
    events.push({
      type: 'Normal',
      reason: Reason.Promoted,
      message: `promoted ${st.winner}: every subject of route ${spec.routeRef.name} gets it`,
    });
  }
}

function progressMessage(experiment: Experiment, st: ExperimentStatus, scrapeError?: string): string {
  const metric = experiment.spec.primary.metric;
  const counts = (st.variants ?? []).map((v) => `${v.name} ${v.moments?.[metric]?.count ?? 0}`).join(', ');
  const plan = st.plannedSamplesPerVariant !== undefined ? ` of ~${st.plannedSamplesPerVariant}` : '';
  const error = scrapeError !== undefined ? `; metrics unavailable: ${scrapeError}` : '';
  return line(`collecting ${metric}: ${counts}${plan} per variant${error}`);
}

function finish(experiment: Experiment, st: ExperimentStatus, health: Health, now: Date): ExperimentStatus {
  const generation = experiment.metadata.generation;
  return {
    ...st,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    message: health.ready.message,
    conditions: buildConditions(health, experiment.status?.conditions, generation, now),
  };
}

/** A due tick of a running experiment: add the scrape's deltas, decide, split, conclude. */
function tick(
  input: ExperimentInput,
  st: ExperimentStatus,
  events: ExperimentEvent[],
  hash: string,
): { memory: TallyMemory | undefined; scrapeError?: string } {
  const { experiment, now, scrape } = input;
  const moments = momentsFromStatus(st);
  let memory = input.memory;
  if (scrape !== undefined) {
    const names = new Set(experiment.spec.variants.map((v) => v.name));
    const r = tallyDelta(memory, hash, scrape);
    memory = r.memory;
    for (const [key, d] of r.delta) {
      const { variant, metric } = splitCounterKey(key);
      if (!names.has(variant) || !KNOWN_METRICS.has(metric) || !(d.count > 0)) continue;
      const byMetric = (moments[variant] ??= {});
      const cur = byMetric[metric];
      byMetric[metric] = cur === undefined ? d : addMoments(cur, d);
    }
    st.lastTickAt = now.toISOString();
  }
  const { design, planned } = designOf(experiment.spec, moments);
  const started = Date.parse(st.startedAt ?? now.toISOString());
  const decision = decideExperiment(design, { elapsedMs: now.getTime() - started, moments });
  if (planned !== undefined) st.plannedSamplesPerVariant = planned;
  st.comparisons = comparisonsOf(decision);
  st.reasons = decision.reasons.slice(0, 16).map(line);
  st.verdict = decision.verdict;
  const weights =
    decision.verdict === 'continue'
      ? nextSplit(experiment.spec, moments, input.random)
      : Object.fromEntries((st.variants ?? []).map((v) => [v.name, v.weight]));
  st.variants = variantsOf(experiment, moments, weights);
  if (decision.verdict !== 'continue') {
    st.phase = 'Concluded';
    st.decidedAt = now.toISOString();
    if (decision.winner !== undefined) st.winner = decision.winner;
    events.push({
      type: decision.verdict === 'guardrail-breach' ? 'Warning' : 'Normal',
      reason: VERDICT_REASON[decision.verdict],
      message: line(
        `${decision.verdict}${decision.winner !== undefined ? ` ${decision.winner}` : ''}: ${decision.reasons.join('; ')}`,
      ),
    });
    promoteIfAllowed(experiment, st, events);
  }
  return { memory, ...(scrape?.error !== undefined ? { scrapeError: scrape.error } : {}) };
}

/** The status to start from: everything of the previous run dropped when the design changed or abort was cleared. */
function carriedOver(experiment: Experiment, hash: string, events: ExperimentEvent[]): ExperimentStatus {
  const previous = experiment.status ?? {};
  let st: ExperimentStatus = { ...previous };
  if (previous.specHash !== undefined && previous.specHash !== hash) {
    st = restarted(st);
    events.push({
      type: 'Normal',
      reason: 'Restarted',
      message: 'variants or metrics changed: the moments are reset and the experiment starts again',
    });
  }
  if (st.phase === 'Aborted' && !experiment.spec.abort) {
    st = restarted(st);
    events.push({
      type: 'Normal',
      reason: 'Restarted',
      message: 'abort cleared: the experiment starts again',
    });
  }
  st.specHash = hash;
  return st;
}

/** Aborted, settled (concluded or promoted) or blocked on its route: the whole answer, without a tick. */
function untickable(
  input: ExperimentInput,
  st: ExperimentStatus,
  events: ExperimentEvent[],
  hash: string,
): ExperimentTick | undefined {
  const { experiment, now } = input;
  const { spec } = experiment;
  const memory = input.memory;
  if (spec.abort) {
    if (st.phase !== 'Aborted')
      events.push({
        type: 'Normal',
        reason: Reason.Aborted,
        message: `aborted: route ${spec.routeRef.name} serves every subject as written`,
      });
    st.phase = 'Aborted';
    const health = healthOf('stalled', Reason.Aborted, 'aborted: clear spec.abort to start again');
    return { status: finish(experiment, st, health, now), events, memory };
  }
  if (st.phase === 'Concluded' || st.phase === 'Promoted') {
    if (st.phase === 'Concluded') promoteIfAllowed(experiment, st, events);
    return { status: finish(experiment, st, settledHealth(experiment, st), now), events, memory };
  }
  const problem = refProblem(experiment, input.view);
  if (problem === undefined) return undefined;
  const previous = experiment.status;
  const before = previous?.conditions?.find((c) => c.type === 'Stalled')?.reason;
  if (before !== problem.reason || previous?.specHash !== hash)
    events.push({ type: 'Warning', reason: problem.reason, message: problem.message });
  st.phase = 'Pending';
  // Waiting for a canary needs no change from anyone: it is progress, not a stall.
  const waits = problem.reason === Reason.CanaryInProgress;
  const health = healthOf(waits ? 'reconciling' : 'stalled', problem.reason, problem.message);
  const requeueAfterMs = durationMs(spec.interval);
  return { status: finish(experiment, st, health, now), events, memory, requeueAfterMs };
}

function markRunning(
  experiment: Experiment,
  st: ExperimentStatus,
  now: Date,
  events: ExperimentEvent[],
): void {
  if (st.phase === 'Running') return;
  const { spec } = experiment;
  const fresh = st.startedAt === undefined;
  st.startedAt ??= now.toISOString();
  st.phase = 'Running';
  const names = spec.variants.map((v, i) => (i === 0 ? `${v.name} (control)` : v.name)).join(', ');
  events.push({
    type: 'Normal',
    reason: fresh ? 'Started' : 'Resumed',
    message: `${fresh ? 'started' : 'resumed'} on route ${spec.routeRef.name}: ${names}; primary ${spec.primary.metric}`,
  });
}

export function reconcileExperiment(input: ExperimentInput): ExperimentTick {
  const { experiment, now } = input;
  const hash = specHashOf(experiment.spec);
  const events: ExperimentEvent[] = [];
  const st = carriedOver(experiment, hash, events);
  const settled = untickable(input, st, events, hash);
  if (settled !== undefined) return settled;
  markRunning(experiment, st, now, events);
  const ticks =
    input.scrape !== undefined || st.verdict === undefined || experiment.status?.phase !== 'Running';
  const { memory, scrapeError } = ticks ? tick(input, st, events, hash) : { memory: input.memory };
  if (st.phase !== 'Running')
    return { status: finish(experiment, st, settledHealth(experiment, st), now), events, memory };
  // Between ticks the message stays as the last tick wrote it (a resync writes nothing).
  const message = ticks ? progressMessage(experiment, st, scrapeError) : (st.message ?? '');
  const health = healthOf('reconciling', Reason.Progressing, message);
  const last = Date.parse(st.lastTickAt ?? now.toISOString());
  const requeueAfterMs = Math.max(1000, last + durationMs(experiment.spec.interval) - now.getTime());
  return { status: finish(experiment, st, health, now), events, memory, requeueAfterMs };
}
