// OpenAI-style error responses for every refusal the policy modules make, in one place so status codes,
// types and codes stay consistent (clients and SDKs branch on `code`).
import type { PolicyRefusal, RefusalReason } from './types.js';

function refusal(
  status: number,
  reason: RefusalReason | 'unavailable',
  type: string,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): PolicyRefusal {
  return { status, reason, headers, body: { error: { message, type, code, param: null } } };
}

export const unauthenticated = (message: string): PolicyRefusal =>
  refusal(401, 'unauthenticated', 'invalid_request_error', 'invalid_api_key', message, {
    'www-authenticate': 'Bearer',
  });

export const modelNotAllowed = (keyName: string, model: string): PolicyRefusal =>
  refusal(
    403,
    'forbidden',
    'invalid_request_error',
    'model_not_allowed',
    `API key "${keyName}" may not call model "${model}"; add it to the key's models in keys.yaml`,
  );

export const rateLimited = (what: string, retryAfterMs: number): PolicyRefusal => {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return refusal(
    429,
    'rate-limited',
    'rate_limit_error',
    'rate_limit_exceeded',
    `Rate limit reached for ${what}; retry after ${seconds}s`,
    { 'retry-after': String(seconds) },
  );
};

export const budgetExceeded = (what: string, retryAfterMs: number): PolicyRefusal => {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return refusal(
    429,
    'budget-exhausted',
    'insufficient_quota',
    'budget_exceeded',
    `Budget exhausted for ${what}; it renews at the start of the next UTC window`,
    { 'retry-after': String(seconds) },
  );
};

export const limiterUnavailable = (): PolicyRefusal =>
  refusal(
    503,
    'unavailable',
    'api_error',
    'limiter_unavailable',
    'Rate limits and budgets cannot be checked right now (shared store unreachable); retry shortly',
    { 'retry-after': '1' },
  );
