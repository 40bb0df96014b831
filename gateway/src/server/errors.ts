// OpenAI-style error responses: every error the gateway answers is `{"error":{message,type,param,code}}`
// with the right status, so the official clients raise their typed errors.
import type { ServerResponse } from 'node:http';
import type { OpenAIErrorObject } from '../providers/types.js';

export interface GatewayError {
  status: number;
  error: OpenAIErrorObject;
  retryAfterSeconds?: number | undefined;
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
  param: string | null = null,
  retryAfterSeconds?: number,
): GatewayError {
  const type = TYPE_BY_STATUS[status] ?? (status >= 500 ? 'server_error' : 'invalid_request_error');
  return { status, error: { message, type, param, code }, retryAfterSeconds };
}

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
  res.end(body);
}
