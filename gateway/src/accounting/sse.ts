// Splits a server-sent-event byte stream into frames without altering a byte: joining the frames gives
// back the input, which is what lets the cache replay a stream byte-identically.
export class SseFramer {
  private buffer = '';

  /** Feeds a chunk; returns the frames it completed (each ends with its blank-line terminator). */
  push(chunk: string): string[] {
    this.buffer += chunk;
    const frames: string[] = [];
    for (;;) {
      const m = /\r\n\r\n|\n\n|\r\r/.exec(this.buffer);
      if (m === null) break;
      const end = m.index + m[0].length;
      frames.push(this.buffer.slice(0, end));
      this.buffer = this.buffer.slice(end);
    }
    return frames;
  }

  /** Bytes received after the last complete frame (a truncated stream). */
  get rest(): string {
    return this.buffer;
  }
}

/** The `data:` payload of a frame (multi-line data joined by \n), or undefined for comments/other fields. */
export function frameData(frame: string): string | undefined {
  const lines = frame.split(/\r\n|\n|\r/);
  const data: string[] = [];
  for (const line of lines) {
    if (line.startsWith('data:')) data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
  }
  return data.length === 0 ? undefined : data.join('\n');
}
