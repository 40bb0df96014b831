// The plain types of the policy layer, shared by its stages (auth, limits, cache, accounting, feedback) and
// the request pipeline that calls them.
import type { Usage } from '../providers/types.js';

export type { Usage } from '../providers/types.js';

/** Who is calling: the API key's name (never the key itself), its team and model scopes. */
export interface Caller {
  /** The key's name from keys.yaml; "anonymous" when the gateway has no auth configured. */
  key: string;
  team?: string;
  /** Client-facing model names the key may call; undefined = every model. */
  models?: readonly string[];
  anonymous: boolean;
}

/** Every request's caller while auth is not configured. */
export const ANONYMOUS: Caller = Object.freeze({ key: 'anonymous', anonymous: true });

/** Milliseconds since the epoch; injected so tests control time. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** The parsed JSON body of a request; read defensively, never trusted, never logged. */
export type ChatRequest = Record<string, unknown> & { model?: unknown; messages?: unknown };

export const NO_USAGE: Usage = Object.freeze({ input: 0, output: 0 });
