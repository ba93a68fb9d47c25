// A run's output while it executes (docs/engine.md §6.5): every chunk is sanitised, counted (bytes
// and SHA-256 of the log's text), kept as a UTF-8-safe excerpt per stream, published live, and held
// until the executor writes it to the database (runs/run-log.ts), a batch of pieces at a time, with
// other runs'. Progress columns are written a second after the first chunk, then at most once a
// minute: a run that ends sooner has them written by its finish alone.
import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { heartbeatRuns } from '../../db/schema.ts';
import type { LogStream } from '../adapters/types.ts';
import { appendExcerpt, liveLogChunk, sanitizeLogChunk } from '../rules/bounding.ts';
import type { EngineDeps } from '../model/deps.ts';
import type { RunRow } from '../model/runs.ts';
import { type LogChunk, LOG_STORE } from './run-log.ts';

const PROGRESS_INTERVAL_MS = 60_000;
/**
 * The first progress write waits this long after the first chunk. Most runs end sooner, and their
 * finish writes the columns anyway; a write of the run's row of its own, while its events and
 * finish are written in batches, costs far more than the columns are worth for a second.
 */
export const FIRST_PROGRESS_DELAY_MS = 1_000;

/** A piece of log held for the database grows to this size at most (bytes): windows read few of them. */
const PIECE_MAX_BYTES = 64 * 1024;

export { LOG_STORE };
/** A run's log reference (in its store: the database, keyed by run; the company first, as file logs were). */
export const logRefFor = (run: Pick<RunRow, 'companyId' | 'id'>) => `${run.companyId}/${run.id}`;

export interface RunOutputSummary {
  logStore: string;
  logRef: string;
  logBytes: number;
  logSha256: string;
  stdoutExcerpt: string | null;
  stderrExcerpt: string | null;
  lastOutputAt: Date | null;
  lastOutputSeq: number;
  lastOutputStream: string | null;
  lastOutputBytes: number | null;
}

export class RunOutput {
  private readonly hash = createHash('sha256');
  /** Bytes of the log so far, and of each stream. */
  private bytes = 0;
  private readonly streamBytes = { stdout: 0, stderr: 0 };
  /** Pieces not yet handed to a write, in order; the last one grows while its stream goes on. */
  private pending: LogChunk[] = [];
  private stdout = '';
  private stderr = '';
  private seq: number;
  private lastAt: Date | null = null;
  private lastStream: string | null = null;
  private persistedAt: number | null = null;
  /** When this executor saw its first chunk (the engine's clock, ms). */
  private firstChunkAt: number | null = null;
  readonly logRef: string;

  constructor(
    private readonly deps: EngineDeps,
    private readonly run: RunRow,
  ) {
    this.logRef = logRefFor(run);
    this.seq = run.lastOutputSeq;
  }

  /** Records one chunk; returns true when the progress columns are due for a write. */
  append(stream: LogStream, raw: string): boolean {
    const chunk = sanitizeLogChunk(raw);
    const now = this.deps.clock.now();
    const size = Buffer.byteLength(chunk);
    if (size > 0) {
      const last = this.pending.at(-1);
      if (last && last.stream === stream && last.bytes + size <= PIECE_MAX_BYTES) {
        last.text += chunk;
        last.bytes += size;
      } else {
        this.pending.push({ runId: this.run.id, companyId: this.run.companyId, stream, logOffset: this.bytes, streamOffset: this.streamBytes[stream], text: chunk, bytes: size });
      }
      this.hash.update(chunk);
      this.bytes += size;
      this.streamBytes[stream] += size;
    }
    if (stream === 'stdout') this.stdout = appendExcerpt(this.stdout, chunk);
    else this.stderr = appendExcerpt(this.stderr, chunk);
    this.seq += 1;
    this.lastAt = now;
    this.lastStream = stream;
    const live = liveLogChunk(chunk);
    this.deps.bus.publish([
      {
        type: 'heartbeat.run.log',
        companyId: this.run.companyId,
        runId: this.run.id,
        agentId: this.run.agentId,
        ts: now.toISOString(),
        stream,
        chunk: live.chunk,
        truncated: live.truncated,
      },
    ]);
    this.firstChunkAt ??= now.getTime();
    return this.progressDue(now.getTime());
  }

  /** Whether the progress columns are due for a write (see FIRST_PROGRESS_DELAY_MS). */
  progressDue(now = this.deps.clock.now().getTime()): boolean {
    if (this.firstChunkAt === null) return false;
    return this.persistedAt === null ? now - this.firstChunkAt >= FIRST_PROGRESS_DELAY_MS : now - this.persistedAt >= PROGRESS_INTERVAL_MS;
  }

  /** Bytes of log held and not yet handed to a write (the executor's backpressure counts them). */
  get pendingBytes(): number {
    return this.pending.reduce((sum, piece) => sum + piece.bytes, 0);
  }

  /** The pieces held so far, which the caller now writes (runs/run-log.ts writeLogChunks). */
  takePending(): LogChunk[] {
    const pieces = this.pending;
    this.pending = [];
    return pieces;
  }

  /** Whether output came and no progress write was queued yet (the executor's timer asks). */
  get firstProgressPending(): boolean {
    return this.firstChunkAt !== null && this.persistedAt === null;
  }

  /**
   * The write of last_output_*, so observers can tell a silent run from a chatty one. The columns
   * count as written from now: the executor queues the write behind the run's others, and another
   * one queued meanwhile would add nothing. It writes the values as they are when it runs.
   */
  progressWrite(): () => Promise<void> {
    this.persistedAt = this.deps.clock.now().getTime();
    return async () => {
      await this.deps.db
        .update(heartbeatRuns)
        .set({ lastOutputAt: this.lastAt, lastOutputSeq: this.seq, lastOutputStream: this.lastStream, lastOutputBytes: this.bytes })
        .where(eq(heartbeatRuns.id, this.run.id));
    };
  }

  /** The summary written with the run's final status; the caller has written every piece. */
  finish(): RunOutputSummary {
    if (this.pending.length > 0) throw new Error(`run ${this.run.id}: its log was not all written before its finish`);
    return {
      logStore: LOG_STORE,
      logRef: this.logRef,
      logBytes: this.bytes,
      logSha256: this.hash.copy().digest('hex'),
      stdoutExcerpt: this.stdout || null,
      stderrExcerpt: this.stderr || null,
      lastOutputAt: this.lastAt,
      lastOutputSeq: this.seq,
      lastOutputStream: this.lastStream,
      lastOutputBytes: this.seq > this.run.lastOutputSeq ? this.bytes : null,
    };
  }
}
