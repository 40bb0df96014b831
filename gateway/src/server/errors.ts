// Every error response the gateway sends, built in one place: an OpenAI-style body
// `{"error":{message,type,param,code}}` with its status, Retry-After when the client should come back later,
// and WWW-Authenticate on a 401, so the official clients raise their typed errors. Policy refusals carry
// the reason they are counted under in beastmode_refusals_total.
import type { ServerResponse } from 'node:http';
import type { OpenAIErrorObject } from '../providers/types.js';

/** Why the policy refused a request: the `reason` label of beastmode_refusals_total. */
export type RefusalReason = 'unauthenticated' | 'forbidden' | 'rate-limited' | 'budget-exhausted' | 'invalid';

export interface GatewayError {
  status: number;
  error: OpenAIErrorObject;
  retryAfterSeconds?: number | undefined;
  /** Set when the policy refused the caller (not when it could not decide, e.g. its store is down). */
  refusal?: RefusalReason | undefined;
}

export interface ErrorDetails {
  param?: string | null;
  /** The OpenAI error type; by default the one the status implies. */
  type?: string;
  retryAfterSeconds?: number;
  refusal?: RefusalReason;
}

const TYPE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'invalid_request_error',
  405: 'invalid_request_error',
  413: 'invalid_request_error',
  429: 'rate_limit_error',
};

export function gatewayError(
  status: number,
  message: string,
  code: string | null = null,
  details: ErrorDetails = {},
): GatewayError {
  const type =
    details.type ?? TYPE_BY_STATUS[status] ?? (status >= 500 ? 'server_error' : 'invalid_request_error');
  return {
    status,
    error: { message, type, param: details.param ?? null, code },
    retryAfterSeconds: details.retryAfterSeconds,
    refusal: details.refusal,
  };
}

export const isGatewayError = (v: object): v is GatewayError =>
  typeof (v as Partial<GatewayError>).status === 'number' && (v as Partial<GatewayError>).error !== undefined;

/** Whole seconds to wait, at least one: what Retry-After says for a wait of `ms`. */
const waitSeconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

// Policy refusals. Their types follow what OpenAI answers in the same situation (clients branch on them).

export const unauthenticated = (message: string): GatewayError =>
  gatewayError(401, message, 'invalid_api_key', {
    type: 'invalid_request_error',
    refusal: 'unauthenticated',
  });

export const modelNotAllowed = (keyName: string, model: string): GatewayError =>
  gatewayError(
    403,
    `API key "${keyName}" may not call model "${model}"; add it to the key's models in keys.yaml`,
    'model_not_allowed',
    { type: 'invalid_request_error', refusal: 'forbidden' },
  );

export const rateLimited = (what: string, retryAfterMs: number): GatewayError => {
  const seconds = waitSeconds(retryAfterMs);
  return gatewayError(429, `Rate limit reached for ${what}; retry after ${seconds}s`, 'rate_limit_exceeded', {
    type: 'rate_limit_error',
    retryAfterSeconds: seconds,
    refusal: 'rate-limited',
  });
};

export const budgetExceeded = (what: string, retryAfterMs: number): GatewayError =>
  gatewayError(
    429,
    `Budget exhausted for ${what}; it renews at the start of the next UTC window`,
    'budget_exceeded',
    { type: 'insufficient_quota', retryAfterSeconds: waitSeconds(retryAfterMs), refusal: 'budget-exhausted' },
  );

/** Not a verdict on the caller: limits cannot be checked (shared store down, failure policy closed). */
export const limiterUnavailable = (): GatewayError =>
  gatewayError(
    503,
    'Rate limits and budgets cannot be checked right now (shared store unreachable); retry shortly',
    'limiter_unavailable',
    { type: 'api_error', retryAfterSeconds: 1 },
  );

// Answers of POST /v1/feedback.

const feedbackError = (status: number, code: string, message: string): GatewayError =>
  gatewayError(status, message, code, { type: 'invalid_request_error' });

export const invalidFeedback = (message: string): GatewayError =>
  feedbackError(400, 'invalid_feedback', message);

export const feedbackRequestNotFound = (requestId: string): GatewayError =>
  feedbackError(404, 'request_not_found', `No recent request with id ${requestId}`);

export const feedbackWindowClosed = (requestId: string, windowMs: number): GatewayError =>
  feedbackError(
    410,
    'feedback_window_closed',
    `Request ${requestId} is past its route's feedback window of ${Math.round(windowMs / 1000)} s`,
  );

export const feedbackNotAllowed = (): GatewayError =>
  feedbackError(
    403,
    'feedback_not_allowed',
    'Feedback is accepted only from the caller who made the request',
  );

export const feedbackAlreadyRecorded = (requestId: string): GatewayError =>
  feedbackError(409, 'feedback_already_recorded', `Feedback for request ${requestId} was already recorded`);

/** Writes an error response unless headers are already out (then it only ends the response). */
export function sendError(res: ServerResponse, e: GatewayError): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = JSON.stringify({ error: e.error });
  res.statusCode = e.status;
  res.setHeader('content-type', 'application/json');
  res.setHeader('content-length', Buffer.byteLength(body));
  if (e.retryAfterSeconds !== undefined) res.setHeader('retry-after', String(Math.ceil(e.retryAfterSeconds)));
  // A 401 names the scheme it wants (RFC 9110 §11.6.1).
  if (e.status === 401) res.setHeader('www-authenticate', 'Bearer');
  res.end(body);
}
