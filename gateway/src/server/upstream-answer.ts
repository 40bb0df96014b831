// Helpers of an upstream attempt: waiting for a slow client, and reading an upstream answer cheaply (JSON
// sanity, usage, the outcome of a status).
import type { ServerResponse } from 'node:http';
import type { Usage } from '../providers/types.js';
import type { AttemptFailure } from '../resilience/retry.js';

/** Resolves when the response can take more data, or when it closed. */
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
