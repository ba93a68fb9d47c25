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

/** A result that fails one item of a batch, not the others. */
export class ItemFailure {
  constructor(readonly error: unknown) {}
}

/** What a batch answers for an item it left to the per-item path. */
export const PER_ITEM = Symbol('per-item');

/**
 * Writes the batch with `all`; the items it answers PER_ITEM for, and every item if it fails,
 * are written on their own with `one`, so that one bad item fails alone. `onBatchFailure` hears
 * why a whole batch fell back to per-item writes.
 */
export async function eachOnFailure<I, O>(
  items: I[],
  all: (items: I[]) => Promise<Array<O | typeof PER_ITEM>>,
  one: (item: I) => Promise<O>,
  onBatchFailure?: (error: unknown) => void,
): Promise<Array<O | ItemFailure>> {
  let results: Array<O | typeof PER_ITEM>;
  try {
    results = await all(items);
  } catch (error) {
    onBatchFailure?.(error);
    results = items.map(() => PER_ITEM);
  }
  return Promise.all(
    results.map((result, i) => (result === PER_ITEM ? one(items[i]).catch((error: unknown) => new ItemFailure(error)) : result)),
  );
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

  /**
   * `flush` gets a batch and returns one result per item, in order; an ItemFailure rejects its
   * item only. Throwing rejects every item of the batch.
   */
  constructor(
    private readonly flush: (items: I[]) => Promise<Array<O | ItemFailure>>,
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
          for (let i = 0; i < batch.length; i++) {
            const result = results[i];
            if (result instanceof ItemFailure) batch[i].reject(result.error);
            else batch[i].resolve(result);
          }
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
