// What the policy sees of a streamed response: every SSE text written to the client, kept for settle (the
// delivered tokens, when the upstream reports no usage: an aborted stream is billed for what it delivered)
// and, after a cache miss, recorded frame by frame so a stream that completes is stored for the next hit.
import { StreamUsageCounter, type PromptEstimate } from '../accounting/usage.js';
import type { CacheLookup, ResponseCache, StreamRecorder } from '../cache/response-cache.js';

/** A cache miss this stream may fill. */
export interface CacheFill {
  cache: ResponseCache;
  miss: CacheLookup;
}

export class StreamTap {
  readonly meter: StreamUsageCounter;
  private readonly recorder: StreamRecorder | undefined;

  constructor(
    promptEstimate: PromptEstimate,
    private readonly fill: CacheFill | undefined,
  ) {
    this.meter = new StreamUsageCounter(promptEstimate);
    this.recorder = fill?.cache.recorder();
  }

  write(sse: string): void {
    this.meter.push(sse);
    this.recorder?.push(sse);
  }

  /** `complete`: the upstream stream ended normally (not broken, not aborted by the client). */
  end(complete: boolean): void {
    if (!complete || this.fill === undefined) return;
    const entry = this.recorder?.entry();
    // The store never throws: an unreachable store is a skipped entry.
    if (entry !== undefined) void this.fill.cache.store(this.fill.miss, entry);
  }
}
