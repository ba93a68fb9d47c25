// The time a request has to be answered (HEARTBEAT_REQUEST_TIMEOUT_MS), and what happens to its
// database work when that time is up.
//
// The HTTP server (or, over WebSocket, each operation's execution) runs the request in an
// AsyncLocalStorage context holding its RequestDeadline. When the time is up, the request is
// answered 503 SERVICE_UNAVAILABLE at once (server/hardening.ts and server/yoga.ts race its key
// check and its execution against the deadline), and from then on the work it left running may
// not write any more: every transaction (drizzle's, so `transact`'s, through db/client.ts; the
// pipelined one, engine/store/pipelined-transaction.ts) checks the deadline before it starts and as the
// last thing before COMMIT, and a write statement is refused before it is handed to the driver
// (db/client.ts). Whatever the request had not committed rolls back, even when the database comes
// back later: a refused request is not carried out behind the client's back. (One case remains: a
// single statement outside a transaction that was handed to the driver before the time was up,
// and that the driver sends, or the database carries out, only after it.)
//
// Only work started inside a request's context has a deadline; the engine's own loop (timers,
// lease, run execution started by it) never does, and retries on its own. Work a request hands to
// the engine (a run it claimed, a claim it asked for) runs in the request's context, but is
// unaffected once the request was answered in time (`release`), or once any transaction of the
// request committed: what follows a committed change (executing the run it claimed, the later
// steps of a mutation of several transactions) goes on, and the answer says that part of the
// request was carried out.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { StatementGuard } from '../../db/client.ts';
import { HeartbeatError } from '../model/errors.ts';

/** HEARTBEAT_REQUEST_TIMEOUT_MS unless set. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/**
 * A COMMIT already sent when the time is up may take this long to be confirmed before the request
 * is answered anyway (saying that whether it was carried out is not known).
 */
export const COMMIT_GRACE_MS = 1_000;

/** The request's time is up: it is answered 503 and the work it left may not commit any more. */
export class RequestTimeoutError extends HeartbeatError {
  constructor(message: string) {
    super('SERVICE_UNAVAILABLE', message);
  }
}

/** Statements that only read: they stay allowed after the deadline (other requests may share them, e.g. batched key checks). */
const READ_ONLY_STATEMENT = /^\s*(select|show|values|explain)\b/i;

export class RequestDeadline {
  private at = Number.POSITIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private state: 'pending' | 'released' | 'expired' = 'pending';
  /** Some transaction of the request committed: its follow-up work may still write. */
  private committed = false;
  private commitsInFlight = 0;
  /** The time is up, but a COMMIT is in flight: the answer waits for it (at most COMMIT_GRACE_MS). */
  private holding = false;
  private rejectExpired!: (error: RequestTimeoutError) => void;
  private readonly expired: Promise<never>;

  constructor(readonly timeoutMs: number) {
    this.expired = new Promise<never>((_, reject) => (this.rejectExpired = reject));
    this.expired.catch(() => {}); // raced by those who wait; nobody may be
  }

  /** Starts the clock (once): from the request's first database work, not from its arrival. */
  arm(): void {
    if (this.state !== 'pending' || this.at !== Number.POSITIVE_INFINITY) return;
    this.at = performance.now() + this.timeoutMs;
    this.timer = setTimeout(() => this.timeUp(), this.timeoutMs).unref();
  }

  /** The request was answered in time: nothing of its context is bounded any more. */
  release(): void {
    if (this.state !== 'pending') return;
    this.state = 'released';
    clearTimeout(this.timer);
  }

  get isReleased(): boolean {
    return this.state === 'released';
  }

  /** The time ran out before the request was answered. */
  get isExpired(): boolean {
    return this.state === 'expired';
  }

  /** Whether the work of this request may no longer write: its time is up and nothing of it was committed. */
  get refusing(): boolean {
    if (this.state === 'released' || this.committed) return false;
    return this.state === 'expired' || performance.now() >= this.at;
  }

  /** Throws (so that the transaction around it rolls back) once the request may no longer write. */
  assertMayWrite(): void {
    if (this.refusing) throw this.timeoutError();
  }

  /**
   * Right before COMMIT: throws when the request may no longer write; otherwise counts the commit
   * as in flight until `settle` says how it ended.
   */
  beginCommit(): { settle(committed: boolean): void } {
    this.assertMayWrite();
    this.commitsInFlight += 1;
    let settled = false;
    return {
      settle: (committed: boolean) => {
        if (settled) return;
        settled = true;
        this.commitsInFlight -= 1;
        if (committed) this.committed = true;
        // Nothing committed after all: the answer need not wait any longer.
        if (this.holding && this.commitsInFlight === 0 && !this.committed) this.expire();
      },
    };
  }

  /** `work`, unless the time is up first: then a RequestTimeoutError. */
  race<T>(work: Promise<T>): Promise<T> {
    if (this.state === 'expired') {
      work.catch(() => {});
      return Promise.reject(this.timeoutError());
    }
    return Promise.race([work, this.expired]);
  }

  private timeUp(): void {
    if (this.state !== 'pending') return;
    if (this.commitsInFlight > 0) {
      this.holding = true;
      this.timer = setTimeout(() => this.expire(), COMMIT_GRACE_MS).unref();
      return;
    }
    this.expire();
  }

  private expire(): void {
    if (this.state !== 'pending') return;
    this.state = 'expired';
    clearTimeout(this.timer);
    this.rejectExpired(this.timeoutError());
  }

  timeoutError(): RequestTimeoutError {
    const base = `The database did not answer within ${this.timeoutMs} ms`;
    if (this.commitsInFlight > 0) {
      return new RequestTimeoutError(`${base}; whether this request's changes were made is not known: read the current state before trying again.`);
    }
    if (this.committed) {
      return new RequestTimeoutError(`${base}; part of this request was already carried out: read the current state before trying again.`);
    }
    return new RequestTimeoutError(`${base}; try again shortly.`);
  }
}

const deadlines = new AsyncLocalStorage<RequestDeadline>();

/** Runs `fn` (and everything it starts) under `deadline`. */
export function runWithRequestDeadline<T>(deadline: RequestDeadline, fn: () => T): T {
  return deadlines.run(deadline, fn);
}

/** The deadline of the request this code runs for; undefined outside requests and once it was answered in time. */
export function currentRequestDeadline(): RequestDeadline | undefined {
  const deadline = deadlines.getStore();
  return deadline?.isReleased ? undefined : deadline;
}

/**
 * For the database client: runs a transaction, `begin(body)` (postgres.js `begin`, under drizzle's
 * `db.transaction` and so `transact`), bounded by the deadline of the request it runs for, if any:
 * checked before it starts, once it has begun (BEGIN may have waited for a connection) and as the
 * last thing before COMMIT (the driver sends COMMIT as soon as `body` resolves, with nothing awaited
 * in between). A request whose time is up rolls back instead of committing.
 */
export async function boundedTransaction<Tx, T>(begin: (body: (tx: Tx) => unknown) => Promise<T>, body: (tx: Tx) => unknown): Promise<T> {
  const deadline = currentRequestDeadline();
  if (!deadline) return begin(body);
  deadline.assertMayWrite();
  let commit: { settle(committed: boolean): void } | undefined;
  try {
    const result = await begin(async (tx) => {
      deadline.assertMayWrite();
      const returned = body(tx);
      // As postgres.js itself does with what the callback returns: an array of statements is awaited.
      const value = await (Array.isArray(returned) ? Promise.all(returned) : returned);
      commit = deadline.beginCommit();
      return value;
    });
    commit?.settle(true);
    return result;
  } catch (error) {
    commit?.settle(false);
    throw error;
  }
}

/**
 * For the database client: refuses a statement that writes, once the request it runs for may no
 * longer write (its time is up and nothing of it committed). Reads stay allowed.
 */
export function assertStatementAllowed(text: string): void {
  const deadline = deadlines.getStore();
  if (!deadline?.refusing || READ_ONLY_STATEMENT.test(text)) return;
  throw deadline.timeoutError();
}

/** The deadline as db/client.ts's statement guard: the server's connections are made with it. */
export const requestDeadlineGuard: StatementGuard = { statement: assertStatementAllowed, transaction: boundedTransaction };
