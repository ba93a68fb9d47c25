// What a run's output leaves on its row, and the write for runs that had ended already when their
// executor finished (cancelled while their process ran): finish.ts calls both.
import { sql } from 'drizzle-orm';
import type { RunRow } from '../model/runs.ts';
import { executePrepared, iso, json, runRowFromDriver, type StatementTarget, uuidArray } from '../store/statements.ts';
import type { AdapterResult } from '../adapters/types.ts';
import type { RunOutputSummary } from './output.ts';

/** The run's output summary as the columns the terminal write stores. */
export function outputColumns(output: RunOutputSummary | null) {
  return output
    ? {
        logStore: output.logStore,
        logRef: output.logRef,
        logBytes: output.logBytes,
        logSha256: output.logSha256,
        stdoutExcerpt: output.stdoutExcerpt,
        stderrExcerpt: output.stderrExcerpt,
        lastOutputAt: output.lastOutputAt,
        lastOutputSeq: output.lastOutputSeq,
        lastOutputStream: output.lastOutputStream,
        lastOutputBytes: output.lastOutputBytes,
      }
    : {};
}

/**
 * Runs that had ended already (cancelled while their process ran): what the process left is
 * recorded (output, exit code, signal), its run token revoked, and the run settled, unless it is
 * cancelled and an issue's lock still names it: its canceller has not released it (it died first,
 * or has not got there yet). Then its executor releases it before settling it (docs/engine.md
 * §6.13): a settled run is never looked at again, and the deferred wakeups would wait for
 * good. Checked in the statement, under the run's row lock: no lock is given to a cancelled run.
 */
export async function recordEnded(tx: StatementTarget, ended: Array<{ item: { output: RunOutputSummary | null; result: AdapterResult }; row: RunRow }>, now: Date): Promise<RunRow[]> {
  if (ended.length === 0) return [];
  const input = ended.map(({ item, row }) => {
    const kept = { ...row, ...outputColumns(item.output) };
    return {
      id: row.id,
      has_output: item.output !== null,
      log_store: kept.logStore,
      log_ref: kept.logRef,
      log_bytes: kept.logBytes,
      log_sha256: kept.logSha256,
      stdout_excerpt: kept.stdoutExcerpt,
      stderr_excerpt: kept.stderrExcerpt,
      last_output_at: kept.lastOutputAt ? iso(kept.lastOutputAt) : null,
      last_output_seq: kept.lastOutputSeq,
      last_output_stream: kept.lastOutputStream,
      last_output_bytes: kept.lastOutputBytes,
      exit_code: item.result.exitCode ?? null,
      signal: item.result.signal ?? null,
    };
  });
  const keep = (column: string) => sql.raw(`${column} = case when i.has_output then i.${column} else r.${column} end`);
  const rows = await executePrepared(tx, sql`
    update heartbeat_runs r set
      ${keep('log_store')}, ${keep('log_ref')}, ${keep('log_bytes')}, ${keep('log_sha256')}, ${keep('stdout_excerpt')}, ${keep('stderr_excerpt')},
      ${keep('last_output_at')}, ${keep('last_output_seq')}, ${keep('last_output_stream')}, ${keep('last_output_bytes')},
      exit_code = i.exit_code, signal = i.signal, run_token_hash = null,
      settled_at = case when r.status = 'cancelled' and exists (select 1 from issues x where x.execution_run_id = r.id) then null
        else ${iso(now)}::timestamptz end
    from jsonb_to_recordset(${json(input)}::jsonb) as i(id uuid, has_output boolean, log_store text, log_ref text, log_bytes bigint, log_sha256 text,
      stdout_excerpt text, stderr_excerpt text, last_output_at timestamptz, last_output_seq int, last_output_stream text, last_output_bytes bigint,
      exit_code int, signal text)
    where r.id = i.id and r.id = any(${uuidArray(ended.map((e) => e.row.id))}::uuid[]) and r.settled_at is null
    returning r.*`);
  return rows.map(runRowFromDriver);
}
