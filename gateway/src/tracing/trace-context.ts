// W3C Trace Context (https://www.w3.org/TR/trace-context/): reading an incoming `traceparent`, writing the
// one an upstream call carries, and fresh trace and span ids. Pure apart from the random ids.
import { randomBytes } from 'node:crypto';

export interface SpanContext {
  traceId: string;
  spanId: string;
  sampled: boolean;
}

// Version 00 has exactly four fields; a later version may append more after a dash, which we ignore.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** The parent a client sent, or undefined for a missing or malformed header (the request starts a trace). */
export function parseTraceparent(header: string | string[] | undefined): SpanContext | undefined {
  if (typeof header !== 'string' || header.length > 512) return undefined;
  const m = TRACEPARENT.exec(header.trim().toLowerCase());
  if (m === null) return undefined;
  const [, version, traceId, spanId, flags, rest] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string | undefined,
  ];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

export function formatTraceparent(traceId: string, spanId: string, sampled: boolean): string {
  return `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`;
}

// Ids come from a pool of random bytes refilled 4 KiB at a time: one syscall for hundreds of spans.
let pool = Buffer.alloc(0);
let at = 0;

function randomHex(bytes: number): string {
  if (at + bytes > pool.length) {
    pool = randomBytes(4096);
    at = 0;
  }
  const hex = pool.toString('hex', at, at + bytes);
  at += bytes;
  // An all-zero id is invalid; with 64 random bits it never comes, but the rule costs nothing.
  return hex === '0'.repeat(bytes * 2) ? randomHex(bytes) : hex;
}

export const newTraceId = (): string => randomHex(16);
export const newSpanId = (): string => randomHex(8);
