// Plain types shared by the policy modules (auth, limits, cache, accounting, feedback) and their facade.

/** Who is calling: the API key's name (never the key itself), its team and model scopes. */
export interface Caller {
  /** The key's name from keys.yaml; "anonymous" when the gateway has no auth configured. */
  key: string;
  team?: string;
  /** Client-facing model names the key may call; undefined = every model. */
  models?: readonly string[];
  anonymous: boolean;
}

/** Milliseconds since the epoch; injected so tests control time. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Token usage as OpenAI reports it. */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

/** The parsed JSON body of a chat completion request; read defensively, never trusted. */
export type ChatRequest = Record<string, unknown> & { model?: unknown; messages?: unknown };

/** Where a refusal comes from, as the `reason` label of beastmode_refusals_total. */
export type RefusalReason = 'unauthenticated' | 'forbidden' | 'rate-limited' | 'budget-exhausted' | 'invalid';

/** An OpenAI-style error response the server sends as is. */
export interface PolicyRefusal {
  status: number;
  headers: Record<string, string>;
  body: { error: { message: string; type: string; code: string; param: null } };
  reason: RefusalReason | 'unavailable';
}
