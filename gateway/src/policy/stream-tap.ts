// What the policy sees of a streamed response: every SSE text written to the client, kept for settle (the
// delivered tokens, when the upstream reports no usage: an aborted stream is billed for what it delivered)
// and, after a cache miss, recorded frame by frame so a stream that completes can be stored for the next
// hit — by the pipeline, once it knows which backend answered.
import { StreamUsageCounter, type PromptEstimate } from '../accounting/usage.js';
import type { CacheEntry } from '../cache/entry.js';
import type { StreamRecorder } from '../cache/response-cache.js';

export class StreamTap {
  readonly meter: StreamUsageCounter;
  private complete = false;

  /** `recorder`: set when the stream may fill a cache miss. */
  constructor(
    promptEstimate: PromptEstimate,
    private readonly recorder: StreamRecorder | undefined,
  ) {
    this.meter = new StreamUsageCounter(promptEstimate);
  }

  write(sse: string): void {
    this.meter.push(sse);
    this.recorder?.push(sse);
  }

  /** `complete`: the upstream stream ended normally (not broken, not aborted by the client). */
  end(complete: boolean): void {
    this.complete = complete;
  }

  /** The recorded stream as a cache entry: only for a complete stream that ended with [DONE]. */
  cacheEntry(): CacheEntry | undefined {
    return this.complete ? this.recorder?.entry() : undefined;
  }
}
