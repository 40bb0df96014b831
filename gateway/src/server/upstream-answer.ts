// Helpers of the proxy: waiting for a slow client, reading an upstream answer (usage, JSON sanity), pricing
// it, and turning the last failed attempt into the client's error.
import type { ServerResponse } from 'node:http';
import type { RuntimeBackend } from '../config/load.js';
import type { OpenAIErrorObject, Usage } from '../providers/types.js';
import type { AttemptFailure } from '../resilience/retry.js';
import { gatewayError, type GatewayError } from './errors.js';

export function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** A cheap sanity check in place of parsing: the body is braced like a JSON object. */
export function looksLikeJsonObject(text: string): boolean {
  let i = 0;
  let j = text.length - 1;
  while (i < j && text.charCodeAt(i) <= 32) i++;
  while (j > i && text.charCodeAt(j) <= 32) j--;
  return text[i] === '{' && text[j] === '}';
}

/** Usage from an OpenAI-format body without parsing all of it: the last "usage" object's token counts. */
export function scanUsage(text: string): Usage | undefined {
  const at = text.lastIndexOf('"usage"');
  if (at < 0) return undefined;
  const tail = text.slice(at, at + 400);
  const input = /"prompt_tokens"\s*:\s*(\d+)/.exec(tail)?.[1];
  const output = /"completion_tokens"\s*:\s*(\d+)/.exec(tail)?.[1];
  if (input === undefined && output === undefined) return undefined;
  return { input: Number(input ?? 0), output: Number(output ?? 0) };
}

export function outcomeForStatus(status: number): AttemptFailure['outcome'] {
  return status === 429 ? '429' : status >= 500 ? '5xx' : '4xx';
}

export function costOf(b: RuntimeBackend, u: Usage | undefined): number {
  if (u === undefined) return 0;
  return (
    (u.input * b.spec.pricing.inputPerMillionTokens + u.output * b.spec.pricing.outputPerMillionTokens) / 1e6
  );
}

/** The client-facing error after the last failed attempt. */
export function finalError(f: AttemptFailure, e: OpenAIErrorObject): GatewayError {
  switch (f.outcome) {
    case '4xx':
    case '429':
    case '5xx':
      return {
        status: f.status ?? 502,
        error: e,
        retryAfterSeconds: f.retryAfterMs === undefined ? undefined : f.retryAfterMs / 1000,
      };
    case 'timeout':
      return gatewayError(504, `upstream timed out: ${f.message}`, 'upstream_timeout');
    case 'aborted':
      return gatewayError(499, 'client closed the request', 'client_closed_request');
    case 'connect-error':
    case 'stream-error':
      return gatewayError(502, `upstream unavailable: ${f.message}`, 'upstream_unavailable');
    default: {
      const never: never = f.outcome;
      throw new Error(`unknown outcome ${String(never)}`);
    }
  }
}
