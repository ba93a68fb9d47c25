// Logs written to files before logs moved to the database (`log_store` `file`): read from this
// instance's log directory while they are there, and imported into the database on start, each run's
// pieces, bytes and SHA-256 as a run that wrote them now would have (docs/engine.md §6.5). The file
// is left where it was; nothing is lost if an import stops half-way (it starts again and skips the
// pieces it already stored).
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { sql } from 'drizzle-orm';
import type { LogStream } from '../adapters/types.ts';
import type { EngineDeps } from '../model/deps.ts';
import { executePrepared } from '../store/statements.ts';
import { FILE_LOG_STORE, type LogChunk, LOG_STORE, writeLogChunks } from './run-log.ts';

const PIECE_MAX_BYTES = 64 * 1024;
const PIECES_PER_WRITE = 64;

/** The path of a file log inside `logDir`, or null for a reference that would leave it. */
function fileOf(logDir: string, logRef: string): string | null {
  const path = join(logDir, logRef);
  return path.startsWith(join(logDir, '/')) ? path : null;
}

/** A file log as text, optionally one stream only; '' when it has no file (it printed nothing), null when unreadable. */
export async function readFileRunLog(logDir: string, logRef: string, stream: LogStream | null): Promise<string | null> {
  const path = fileOf(logDir, logRef);
  if (!path) return null;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? '' : null;
  }
  let log = '';
  for (const line of text.split('\n')) {
    if (!line) continue;
    const entry = JSON.parse(line) as { stream: LogStream; chunk: string };
    if (!stream || entry.stream === stream) log += entry.chunk;
  }
  return log;
}

/** Imports one run's file log; false when its file is not on this instance. */
async function importRun(deps: EngineDeps, run: { id: string; company_id: string; log_ref: string }): Promise<boolean> {
  const path = fileOf(deps.settings.logDir, run.log_ref);
  if (!path || !existsSync(path)) return false;
  const hash = createHash('sha256');
  const streamBytes = { stdout: 0, stderr: 0 };
  let bytes = 0;
  let pieces: LogChunk[] = [];
  const flush = async () => {
    await writeLogChunks(deps.db, pieces, { ofSettledRuns: true });
    pieces = [];
  };
  for await (const line of createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity })) {
    if (!line) continue;
    const { stream, chunk } = JSON.parse(line) as { stream: LogStream; chunk: string };
    const size = Buffer.byteLength(chunk);
    if (size === 0) continue;
    const last = pieces.at(-1);
    if (last && last.stream === stream && last.bytes + size <= PIECE_MAX_BYTES) {
      last.text += chunk;
      last.bytes += size;
    } else {
      if (pieces.length >= PIECES_PER_WRITE) await flush();
      pieces.push({ runId: run.id, companyId: run.company_id, stream, logOffset: bytes, streamOffset: streamBytes[stream], text: chunk, bytes: size });
    }
    hash.update(chunk);
    bytes += size;
    streamBytes[stream] += size;
  }
  await flush();
  await executePrepared(deps.db, sql`
    update heartbeat_runs set log_store = ${LOG_STORE}, log_bytes = ${bytes}, log_sha256 = ${hash.digest('hex')}
    where id = ${run.id}::uuid and log_store = ${FILE_LOG_STORE}`);
  return true;
}

/**
 * Imports the file logs in this instance's log directory into the database, 50 runs a read; the
 * runs whose file is on another host are left to it. Returns how many were imported.
 */
export async function importFileLogs(deps: EngineDeps, shouldStop: () => boolean = () => false): Promise<number> {
  let after = '00000000-0000-0000-0000-000000000000';
  let imported = 0;
  while (!shouldStop()) {
    const runs = await executePrepared<{ id: string; company_id: string; log_ref: string }>(deps.db, sql`
      select id, company_id, log_ref from heartbeat_runs
      where log_store = ${FILE_LOG_STORE} and log_ref is not null and settled_at is not null and id > ${after}::uuid
      order by id limit 50`);
    if (runs.length === 0) break;
    for (const run of runs) {
      if (shouldStop()) break;
      if (await importRun(deps, run)) imported += 1;
    }
    after = runs.at(-1)!.id;
  }
  return imported;
}
