// Reading a client's request body on bare node:http, bounded three ways before anything downstream sees it:
// in size (a larger body is refused without being buffered), in time (a body trickled in is refused before
// it holds one of limits.maxConcurrentRequests for long) and in nesting depth (parsed as JSON no deeper than
// the recursive code after it can take). Used by the model endpoints and by feedback.
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import { gatewayError, type GatewayError } from './errors.js';

/**
 * How fast a body must arrive: a request holds a concurrency slot while its body is read, so a client that
 * sends a byte now and then would hold it until limits.requestTimeoutSeconds (600 s by default) and a few
 * hundred such clients would shut everyone else out. A body gets `patienceMs` and then one more second
 * for every `bytesPerSecond` it has sent: a large body on a slow link still arrives, a trickle does not.
 */
export interface BodyPace {
  patienceMs: number;
  bytesPerSecond: number;
}

/** The pace of a request that did not come through an http.Server (whose headers timeout sets it). */
export const DEFAULT_BODY_PACE: BodyPace = { patienceMs: 30_000, bytesPerSecond: 65_536 };

/** The pace of the last server timeout seen (bodyPaceOf). */
let lastPace: BodyPace = DEFAULT_BODY_PACE;

/**
 * A body gets the patience its headers got: the server's headersTimeout (limits.headersTimeoutSeconds,
 * which the gateway keeps on the server as the config changes).
 */
export function bodyPaceOf(req: IncomingMessage): BodyPace {
  const server = (req.socket as Socket & { server?: Partial<Server> }).server;
  const headersTimeout = server?.headersTimeout;
  if (typeof headersTimeout !== 'number' || headersTimeout <= 0) return DEFAULT_BODY_PACE;
  // The timeout changes only with the config: every request until then shares one pace.
  if (lastPace.patienceMs !== headersTimeout) lastPace = { ...DEFAULT_BODY_PACE, patienceMs: headersTimeout };
  return lastPace;
}

/** Requests whose body readBody gave up on because it came too slowly. */
const tooSlow = new WeakSet<IncomingMessage>();

/** A body being read: how much has come, since when, and how to give it up. */
interface Reading {
  readonly startedAt: number;
  readonly pace: BodyPace;
  size: number;
  giveUp(): void;
}

/**
 * How often the bodies being read are held to their pace. One timer checks them all (a timer a request
 * cost a Timeout and a list insertion on every request), so a body is given up at most this much later
 * than its pace allows.
 */
const PACE_CHECK_MS = 100;

const reading = new Set<Reading>();
let paceTimer: NodeJS.Timeout | undefined;

function checkPaces(): void {
  const now = performance.now();
  for (const r of reading) {
    if (now - r.startedAt > r.pace.patienceMs + (r.size / r.pace.bytesPerSecond) * 1000) r.giveUp();
  }
  if (reading.size === 0) {
    clearInterval(paceTimer);
    paceTimer = undefined;
  }
}

function watch(r: Reading): void {
  reading.add(r);
  // Unref'd: a body being read keeps its socket, not the process, alive.
  paceTimer ??= setInterval(checkPaces, PACE_CHECK_MS).unref();
}

/**
 * Reads the body up to `max` bytes at `pace`; undefined when it is larger or comes too slowly (the caller
 * answers `slowBodyRefusal(req)` or else 413, and closes the connection).
 */
export function readBody(
  req: IncomingMessage,
  max: number,
  pace: BodyPace = bodyPaceOf(req),
): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > max) return resolve(undefined);
    const chunks: Buffer[] = [];
    // The listeners stay on the request (it ends with its exchange); once settled they do nothing.
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      reading.delete(r);
      req.off('data', onData);
      return true;
    };
    const r: Reading = {
      startedAt: performance.now(),
      pace,
      size: 0,
      giveUp: () => {
        if (!settle()) return;
        tooSlow.add(req);
        resolve(undefined);
      },
    };
    const onData = (c: Buffer): void => {
      r.size += c.length;
      if (r.size <= max) chunks.push(c);
      else if (settle()) resolve(undefined);
    };
    watch(r);
    req.on('data', onData);
    req.on('end', () => {
      if (settle()) resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    });
    req.on('error', (err) => {
      if (settle()) reject(err);
    });
    req.on('close', () => {
      if (!req.complete && settle()) reject(new Error('client closed the request while sending it'));
    });
  });
}

/** The 408 for a request whose body readBody gave up on as too slow; undefined for any other request. */
export function slowBodyRefusal(req: IncomingMessage): GatewayError | undefined {
  return tooSlow.has(req)
    ? gatewayError(408, 'the request body arrived too slowly; send it without pauses', 'request_timeout')
    : undefined;
}

/**
 * Deepest nesting of arrays and objects a body may have (serde_json's default). JSON.parse takes any depth,
 * but the recursive code after it (JSON.stringify of the upstream body, cache keys) overflows the stack on
 * a few thousand levels; the attempt would then fail as if the backend had, tripping its breaker and its
 * canary analysis on a healthy backend for one client's input.
 */
export const MAX_JSON_DEPTH = 128;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;

/** Where the string opened at `open` closes (its closing quote), or -1 when it never does. */
function stringEnd(raw: Buffer, open: number): number {
  for (let q = raw.indexOf(QUOTE, open + 1); q >= 0; q = raw.indexOf(QUOTE, q + 1)) {
    let backslashes = 0;
    while (raw[q - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return q;
  }
  return -1;
}

/**
 * Whether the JSON text nests arrays and objects no deeper than `max`. Brackets inside strings do not count;
 * strings are skipped with indexOf, so the scan costs a fraction of JSON.parse.
 */
export function nestsWithin(raw: Buffer, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === QUOTE) {
      i = stringEnd(raw, i);
      if (i < 0) return true; // unterminated: JSON.parse refuses it
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > max) return false;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) depth--;
  }
  return true;
}

/**
 * The JSON in a body, or undefined when there is none (undefined is not a JSON value) or it nests deeper
 * than MAX_JSON_DEPTH. Invalid UTF-8 is read as U+FFFD, as TextDecoder does.
 */
export function parseJson(raw: Buffer): unknown {
  if (!nestsWithin(raw, MAX_JSON_DEPTH)) return undefined;
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** A JSON object body (what every model endpoint takes), or undefined. */
export function jsonObject(raw: Buffer): Record<string, unknown> | undefined {
  const v = parseJson(raw);
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}
