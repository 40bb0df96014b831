// An incremental Server-Sent Events parser: bytes in, whole events out. Handles events split across
// chunks, CRLF line ends, multi-line data and comments.

export interface SseEvent {
  event?: string;
  data: string;
}

export class SseParser {
  private buf = '';
  private readonly decoder = new TextDecoder();
  /** The last chunk ended in CR: a LF starting the next one ends the same line (one CRLF split in two). */
  private afterCR = false;

  /** Feeds a chunk and returns the events it completed. */
  push(chunk: Uint8Array | string): SseEvent[] {
    let text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    if (text !== '') {
      const lfOfCRLF = this.afterCR && text.charCodeAt(0) === 10;
      this.afterCR = text.charCodeAt(text.length - 1) === 13;
      if (lfOfCRLF) text = text.slice(1);
    }
    this.buf += text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
    const out: SseEvent[] = [];
    let idx: number;
    while ((idx = this.buf.indexOf('\n\n')) >= 0) {
      const block = this.buf.slice(0, idx);
      this.buf = this.buf.slice(idx + 2);
      const ev = parseBlock(block);
      if (ev !== undefined) out.push(ev);
    }
    return out;
  }

  /**
   * Whatever is left when the stream ends, as a last event if it is one: read as if a blank line followed
   * (its values not trimmed, bytes of a cut-off character as U+FFFD, as the decoder gives them).
   */
  end(): SseEvent[] {
    const rest = this.buf + this.decoder.decode();
    this.buf = '';
    this.afterCR = false;
    const ev = parseBlock(rest);
    return ev === undefined ? [] : [ev];
  }
}

function parseBlock(block: string): SseEvent | undefined {
  let event: string | undefined;
  let data: string | undefined;
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data = data === undefined ? value : `${data}\n${value}`;
  }
  if (data === undefined && event === undefined) return undefined;
  return event === undefined ? { data: data ?? '' } : { event, data: data ?? '' };
}

/** One SSE data event as written to the client. */
export const sseData = (data: string): string => `data: ${data}\n\n`;
