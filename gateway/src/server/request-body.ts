// Reading a client's request body on bare node:http: bounded in size (a larger body is refused without
// being buffered) and parsed as JSON. Used by the model endpoints and by feedback.
import type { IncomingMessage } from 'node:http';

/** Reads the body up to `max` bytes; undefined when it is larger (the caller answers 413). */
export function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > max) return resolve(undefined);
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.off('data', onData);
        resolve(undefined);
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    req.once('error', reject);
    req.once('close', () => {
      if (!req.complete) reject(new Error('client closed the request while sending it'));
    });
  });
}

/** The JSON in a body, or undefined when there is none (undefined is not a JSON value). */
export function parseJson(raw: Buffer): unknown {
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
