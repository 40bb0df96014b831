// A cheap cancellation signal. undici accepts an EventEmitter as `signal`; Node's AbortSignal is an
// EventTarget whose listeners cost measurably on the hot path (two per request), this does not.
import { EventEmitter } from 'node:events';

// No `aborted` property on purpose: undici treats an object with one as an AbortSignal.
export class Cancellation extends EventEmitter {
  cancelled = false;
  reason: Error | undefined;

  abort(reason?: Error): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.reason = reason;
    this.emit('abort');
  }
}
