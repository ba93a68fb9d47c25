// One database read per change, however many subscribers are told about it. A run's state change
// reaches every runStatus subscriber watching the run, and each needs the row as of that change:
// those selecting the same fields share one read instead of each issuing the same statement.
import type { RunStateSnapshot } from '../engine/index.ts';

type Reads = Map<string, Promise<unknown>>;

/**
 * Per database, per change: the snapshot a signal carries is one object for every subscriber of
 * this instance (the hub hands the same signal to all of them), so it identifies the change, and
 * the reads go with it once no subscriber holds the change any more.
 */
const readsByDatabase = new WeakMap<object, WeakMap<RunStateSnapshot, Reads>>();

/**
 * `read()`, or the result of the same query already read for this change. The query is the key:
 * subscribers with the same selection (and tenant, which is in its `where`) share; any other
 * selection reads on its own. A read that fails is not handed on: the next subscriber reads again.
 */
export function readOncePerChange<T>(db: object, change: RunStateSnapshot, query: unknown, read: () => Promise<T>): Promise<T> {
  const key = queryKey(query);
  if (key === null) return read();
  let byChange = readsByDatabase.get(db);
  if (!byChange) readsByDatabase.set(db, (byChange = new WeakMap()));
  let reads = byChange.get(change);
  if (!reads) byChange.set(change, (reads = new Map()));
  const shared = reads.get(key);
  if (shared) return shared as Promise<T>;
  const started = read();
  reads.set(key, started);
  started.catch(() => {
    if (reads.get(key) === started) reads.delete(key);
  });
  return started;
}

/** A counter that orders read starts and wake-ups: a read may serve a caller only if it started after the caller's wake-up. */
let moments = 0;
/** Now, on the order reads and wake-ups share (readOnceInFlight's `notBefore`). */
export const readMoment = () => ++moments;

/** Per database: the reads in flight, by query, with the moment each started. */
const inFlightByDatabase = new WeakMap<object, Map<string, { started: number; read: Promise<unknown> }>>();

/**
 * `read()`, or the same query's read in flight that started after `notBefore`. A run's new events
 * wake all its runEvents subscribers at once, and those at the same position ask the same page:
 * one statement answers them all. A read that started before a caller was woken may miss what woke
 * it, so the caller does not join it; and nothing is kept once a read is done.
 */
export function readOnceInFlight<T>(db: object, query: unknown, notBefore: number, read: () => Promise<T>): Promise<T> {
  const key = queryKey(query);
  return key === null ? read() : readOnceInFlightByKey(db, key, notBefore, read);
}

/** readOnceInFlight for a caller that spelled its query's key itself (queryKey, computed once). */
export function readOnceInFlightByKey<T>(db: object, key: string, notBefore: number, read: () => Promise<T>): Promise<T> {
  let inFlight = inFlightByDatabase.get(db);
  if (!inFlight) inFlightByDatabase.set(db, (inFlight = new Map()));
  const shared = inFlight.get(key);
  if (shared && shared.started > notBefore) return shared.read as Promise<T>;
  // A real promise: a query builder's thenable (drizzle's) runs its statement again at every then().
  const entry = { started: readMoment(), read: Promise.resolve(read()) };
  inFlight.set(key, entry);
  const done = () => {
    if (inFlight.get(key) === entry) inFlight.delete(key);
  };
  entry.read.then(done, done);
  return entry.read as Promise<T>;
}

const UNDEFINED = '\u0000undefined';

/**
 * A string that is equal exactly for equal queries, or null when the query holds a value it cannot
 * spell out faithfully (a function, an SQL object, a date, a bigint, a symbol-keyed property): such
 * a query is never shared.
 */
export function queryKey(query: unknown): string | null {
  let plain = true;
  const key = JSON.stringify(query, function (this: Record<string, unknown>, name: string, value: unknown) {
    // The holder's own value, before JSON.stringify applied any toJSON to it.
    const raw = this[name];
    if (raw === undefined) return UNDEFINED; // kept apart from a missing key, not dropped
    if (raw === null || typeof raw === 'string' || typeof raw === 'boolean') return value;
    if (typeof raw === 'number' && Number.isFinite(raw)) return value;
    if (typeof raw === 'object' && Object.getOwnPropertySymbols(raw).length === 0) {
      const proto = Object.getPrototypeOf(raw);
      if (Array.isArray(raw) || proto === Object.prototype || proto === null) return value;
    }
    plain = false;
    return undefined;
  });
  return plain ? key : null;
}
