// Group commit in the engine: writes that many runs make at about the same time (claims, run
// starts, events, finishes) are collected and written together, one transaction for the lot, so a
// busy engine pays one round trip and one commit per batch instead of per run. An idle engine
// pays nothing extra: a lone item is flushed on the next turn of the event loop.
export interface BatcherOptions {
  /** Largest batch handed to `flush` at once. */
  maxBatch: number;
  /** Batches being written at the same time (each holds a pool connection while it runs). */
  maxInFlight: number;
}

interface Pending<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

export class Batcher<I, O> {
  private queue: Pending<I, O>[] = [];
  private inFlight = 0;
  private scheduled = false;

  /** `flush` gets a batch and returns one result per item, in order (or throws for the batch). */
  constructor(
    private readonly flush: (items: I[]) => Promise<O[]>,
    private readonly options: BatcherOptions,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.options.maxInFlight || this.queue.length === 0) return;
    this.scheduled = true;
    // One turn of the event loop lets the items submitted by the same wave join the batch.
    setImmediate(() => {
      this.scheduled = false;
      this.run();
    });
  }

  private run(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.inFlight += 1;
      this.flush(batch.map((p) => p.item)).then(
        (results) => {
          for (let i = 0; i < batch.length; i++) batch[i].resolve(results[i]);
        },
        (error: unknown) => {
          for (const p of batch) p.reject(error);
        },
      ).finally(() => {
        this.inFlight -= 1;
        this.schedule();
      });
    }
  }
}
