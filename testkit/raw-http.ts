// HTTP/1.1 spoken byte by byte over node:net, for tests that send what no HTTP client library would: bodies
// larger than declared, conflicting framing headers, bare CRs and NULs, headers trickled a byte at a time.
// `exchange` writes bytes and reads back every response the server sent (parsed by their own framing, so a
// second, smuggled response shows up as a second entry) until the server closes or goes quiet.
import net from 'node:net';

export interface RawResponse {
  status: number;
  /** Header names lower-cased, in the order received. */
  headers: [string, string][];
  body: Buffer;
}

export interface RawResult {
  responses: RawResponse[];
  /** Whether the server closed the connection before `exchange` stopped waiting. */
  closed: boolean;
  /** Every byte the server sent. */
  raw: Buffer;
  /** Milliseconds from connecting to the close (or to giving up). */
  elapsedMs: number;
}

export const header = (r: RawResponse, name: string): string | undefined =>
  r.headers.find(([n]) => n === name.toLowerCase())?.[1];

const HEAD_END = Buffer.from('\r\n\r\n');

/** One response framed by Content-Length or chunked encoding, and the bytes after it; undefined if incomplete. */
function parseOne(buf: Buffer): { response: RawResponse; rest: Buffer } | undefined {
  const end = buf.indexOf(HEAD_END);
  if (end < 0) return undefined;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? NaN);
  const headers = lines.slice(1).map((l): [string, string] => {
    const i = l.indexOf(':');
    return [l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim()];
  });
  const get = (n: string) => headers.find(([k]) => k === n)?.[1];
  let at = end + 4;
  const length = get('content-length');
  if (length !== undefined) {
    const n = Number(length);
    if (buf.length < at + n) return undefined;
    return { response: { status, headers, body: buf.subarray(at, at + n) }, rest: buf.subarray(at + n) };
  }
  if (get('transfer-encoding')?.toLowerCase() === 'chunked') {
    const parts: Buffer[] = [];
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', at);
      if (lineEnd < 0) return undefined;
      const size = parseInt(buf.subarray(at, lineEnd).toString('latin1'), 16);
      if (Number.isNaN(size)) return undefined;
      if (size === 0) {
        const trailerEnd = buf.indexOf('\r\n', lineEnd + 2);
        if (trailerEnd < 0) return undefined;
        return {
          response: { status, headers, body: Buffer.concat(parts) },
          rest: buf.subarray(trailerEnd + 2),
        };
      }
      if (buf.length < lineEnd + 2 + size + 2) return undefined;
      parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
  }
  // Neither: the body runs to the close (or there is none, e.g. node's bare 400 on a parse error).
  return { response: { status, headers, body: buf.subarray(at) }, rest: Buffer.alloc(0) };
}

/** Every complete response in what the server sent. */
export function parseResponses(raw: Buffer): RawResponse[] {
  const out: RawResponse[] = [];
  let buf = raw;
  while (buf.length > 0) {
    const one = parseOne(buf);
    if (one === undefined) break;
    out.push(one.response);
    if (one.rest.length === buf.length) break;
    buf = one.rest;
  }
  return out;
}

/** A connection the test writes to at its own pace. */
export class RawConnection {
  readonly socket: net.Socket;
  readonly openedAt = Date.now();
  private chunks: Buffer[] = [];
  /** Resolves with the time of the close, once the server (or the test) closes the connection. */
  readonly closed: Promise<number>;
  private isClosed = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (c: Buffer) => this.chunks.push(c));
    // A write racing the server's close fails with EPIPE/ECONNRESET: that is a close, not a test failure.
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        resolve(Date.now());
      }),
    );
  }

  static open(port: number, host = '127.0.0.1'): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host });
      s.once('connect', () => resolve(new RawConnection(s)));
      s.once('error', reject);
    });
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  get received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  responses(): RawResponse[] {
    return parseResponses(this.received);
  }

  /** Writes unless the connection is gone; resolves false when it is. */
  write(bytes: string | Buffer): Promise<boolean> {
    if (this.isClosed || this.socket.destroyed || !this.socket.writable) return Promise.resolve(false);
    return new Promise((resolve) => this.socket.write(bytes, (err) => resolve(err == null)));
  }

  /** Resolves once `n` responses are in, or the connection closed, or after `timeoutMs`. */
  async waitFor(n: number, timeoutMs: number): Promise<RawResponse[]> {
    const until = Date.now() + timeoutMs;
    while (this.responses().length < n && this.isOpen && Date.now() < until)
      await new Promise((r) => setTimeout(r, 10));
    return this.responses();
  }

  /** Resolves true if the server closes the connection within `timeoutMs`. */
  async waitClosed(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((r) => (timer = setTimeout(r, timeoutMs, false)));
    const closed = await Promise.race([this.closed.then(() => true as const), timeout]);
    clearTimeout(timer);
    return closed;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export interface ExchangeOptions {
  /** Give up after this long (default 3 s). */
  timeoutMs?: number;
  /** Once a response is in, stop when nothing more has come for this long (default 150 ms). */
  quietMs?: number;
  /** Stop as soon as this many responses are in (no quiet wait for more). */
  responses?: number;
  host?: string;
}

/**
 * Sends `bytes` on a fresh connection, then reads until the server closes it, or `responses` responses are
 * in, or nothing has arrived for `quietMs` after at least one response, or `timeoutMs` passed; the
 * connection is then closed.
 */
export async function exchange(
  port: number,
  bytes: string | Buffer,
  { timeoutMs = 3000, quietMs = 150, responses, host }: ExchangeOptions = {},
): Promise<RawResult> {
  const c = await RawConnection.open(port, host);
  await c.write(bytes);
  const until = Date.now() + timeoutMs;
  let seen = -1;
  let quietSince = Date.now();
  while (c.isOpen && Date.now() < until) {
    const size = c.received.length;
    const got = c.responses().length;
    if (responses !== undefined && got >= responses) break;
    if (size !== seen) {
      seen = size;
      quietSince = Date.now();
    } else if (got > 0 && Date.now() - quietSince >= quietMs) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  const closed = !c.isOpen;
  const elapsedMs = Date.now() - c.openedAt;
  c.destroy();
  return { responses: c.responses(), closed, raw: c.received, elapsedMs };
}
