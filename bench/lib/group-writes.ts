// Group commit for handlers that get one job each: the items asked for in the same turn of the
// event loop are written by one call, and each caller resumes once that call has committed. What a
// graphile-worker user does to write set-based: its local queue starts the jobs it fetched
// together, so their handlers arrive together (as its completions are batched, with
// completeJobBatchDelay 0).

/** Returns `add(item)`, which resolves once `write` has written a group that held `item`. */
export function groupWrites<T>(write: (items: T[]) => Promise<unknown>): (item: T) => Promise<void> {
  let waiting: { item: T; resolve: () => void; reject: (error: unknown) => void }[] = [];
  const flush = () => {
    const group = waiting;
    waiting = [];
    write(group.map((entry) => entry.item)).then(
      () => group.forEach((entry) => entry.resolve()),
      (error: unknown) => group.forEach((entry) => entry.reject(error)),
    );
  };
  return (item) =>
    new Promise<void>((resolve, reject) => {
      // setImmediate, not a microtask: the handlers of one fetch start over several microtask turns.
      if (waiting.length === 0) setImmediate(flush);
      waiting.push({ item, resolve, reject });
    });
}
