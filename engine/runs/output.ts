// A run's output while it executes (spec §6.5): every chunk is sanitised, appended to the run's
// log file (NDJSON: ts, stream, chunk) with a running byte count and SHA-256, kept as a UTF-8-safe
// excerpt per stream, and published live. Progress columns are written at most once a minute.
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { eq } from 'drizzle-orm';
import { heartbeatRuns } from '../../db/schema.ts';
import type { LogStream } from '../adapters/types.ts';
import { appendExcerpt, liveLogChunk, sanitizeLogChunk } from '../rules/bounding.ts';
import type { EngineDeps } from '../model/deps.ts';
import type { RunRow } from '../model/runs.ts';

const PROGRESS_INTERVAL_MS = 60_000;

export const LOG_STORE = 'file';
export const logRefFor = (run: Pick<RunRow, 'companyId' | 'id'>) => `${run.companyId}/${run.id}.ndjson`;

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

/** Directories known to exist: a run's log directory is its company's, created once. */
const createdDirs = new Set<string>();

export class RunOutput {
  /** Opened with the first chunk: a run that prints nothing costs no file (readRunLog reads it as ''). */
  private file: WriteStream | null = null;
  private readonly hash = createHash('sha256');
  private bytes = 0;
  private stdout = '';
  private stderr = '';
  private seq: number;
  private lastAt: Date | null = null;
  private lastStream: string | null = null;
  private persistedAt: number | null = null;
  readonly logRef: string;

  constructor(
    private readonly deps: EngineDeps,
    private readonly run: RunRow,
  ) {
    this.logRef = logRefFor(run);
    this.seq = run.lastOutputSeq;
  }

  private open(): WriteStream {
    const path = join(this.deps.settings.logDir, this.logRef);
    const dir = dirname(path);
    if (!createdDirs.has(dir)) {
      mkdirSync(dir, { recursive: true });
      createdDirs.add(dir);
    }
    const file = createWriteStream(path, { flags: 'a' });
    file.on('error', (error) => this.deps.logger.error({ err: error, runId: this.run.id }, 'run log write failed'));
    return file;
  }

  /** Records one chunk; returns true when the progress columns are due for a write. */
  append(stream: LogStream, raw: string): boolean {
    const chunk = sanitizeLogChunk(raw);
    const now = this.deps.clock.now();
    const line = `${JSON.stringify({ ts: now.toISOString(), stream, chunk })}\n`;
    (this.file ??= this.open()).write(line);
    this.hash.update(line);
    this.bytes += Buffer.byteLength(line);
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
    return this.persistedAt === null || now.getTime() - this.persistedAt >= PROGRESS_INTERVAL_MS;
  }

  /** Writes last_output_* so observers can tell a silent run from a chatty one. */
  async persistProgress(): Promise<void> {
    this.persistedAt = this.deps.clock.now().getTime();
    await this.deps.db
      .update(heartbeatRuns)
      .set({ lastOutputAt: this.lastAt, lastOutputSeq: this.seq, lastOutputStream: this.lastStream, lastOutputBytes: this.bytes })
      .where(eq(heartbeatRuns.id, this.run.id));
  }

  /** Closes the log file; the summary is written with the run's final status. */
  async finish(): Promise<RunOutputSummary> {
    const file = this.file;
    if (file) await new Promise<void>((resolve) => file.end(resolve));
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

/** A run's stored log as text, optionally one stream only and only its last `tailBytes`. */
export async function readRunLog(
  logDir: string,
  logRef: string,
  options: { stream?: LogStream | null; tailBytes?: number | null } = {},
): Promise<string | null> {
  const path = join(logDir, logRef);
  if (!path.startsWith(join(logDir, '/'))) return null; // never leave the log directory
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    // A run that printed nothing has no file: its log is empty.
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? '' : null;
  }
  let log = '';
  for (const line of text.split('\n')) {
    if (!line) continue;
    const entry = JSON.parse(line) as { stream: LogStream; chunk: string };
    if (!options.stream || entry.stream === options.stream) log += entry.chunk;
  }
  if (options.tailBytes && Buffer.byteLength(log) > options.tailBytes) {
    return appendExcerpt('', log, options.tailBytes);
  }
  return log;
}
