// The HTTP edges of the pipeline: which paths it serves, the request id, and the JSON answers it writes
// itself (errors and small bodies), each naming no backend. Every answer carries the request id and the
// config revision it was served under; they are written with the answer's other headers (one writeHead,
// nothing set on the response while the request is on its way upstream), so each answer writer names them.
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { HEADERS } from '../../../api/v1alpha1/index.js';
import type { Endpoint } from '../providers/types.js';
import { headerString } from './attempt-plan.js';
import { sendError, type GatewayError } from './errors.js';

export const MODEL_ENDPOINTS: Record<string, Endpoint> = {
  '/v1/chat/completions': 'chat',
  '/v1/completions': 'completions',
  '/v1/embeddings': 'embeddings',
};

/** Whether the pipeline serves a path (everything else goes to the express app). */
export const servesPath = (path: string): boolean =>
  MODEL_ENDPOINTS[path] !== undefined || path === '/v1/models' || path === '/v1/feedback';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A valid incoming x-request-id, else a fresh one. */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  const incoming = headerString(headers[HEADERS.requestId]);
  return incoming !== undefined && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** A response of the pipeline, with what every answer to it names. */
export interface Answering {
  res: ServerResponse;
  requestId: string;
  /** The config revision the request was served under ("none" before a config was loaded). */
  revision: string;
}

export function sendErrorWithServedHeaders(a: Answering, e: GatewayError): void {
  const { res } = a;
  if (!res.headersSent) {
    res.setHeader(HEADERS.requestId, a.requestId);
    res.setHeader(HEADERS.configRevision, a.revision);
    if (!res.hasHeader(HEADERS.backend)) res.setHeader(HEADERS.backend, 'none');
    if (!res.hasHeader(HEADERS.variant)) res.setHeader(HEADERS.variant, 'none');
  }
  sendError(res, e);
}

export function sendJson(a: Answering, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  a.res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    [HEADERS.requestId]: a.requestId,
    [HEADERS.configRevision]: a.revision,
    [HEADERS.backend]: 'none',
    [HEADERS.variant]: 'none',
  });
  a.res.end(body);
}
