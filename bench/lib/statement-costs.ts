// Where a drain's database time goes, statement by statement (`npm run bench -- --statements`).
// pg_stat_statements (preloaded in the embedded cluster, or already in BENCH_DATABASE_URL's) is
// reset when a drain starts and read when it ends: per job, how often each statement ran, the time
// the server spent executing and planning it, and the WAL it wrote. The statements of every
// database but the bench's own maintenance one count, as only the drain's database is busy then.
import type postgres from 'postgres';

export interface StatementCost {
  /** The statement as pg_stat_statements normalised it, whitespace collapsed, cut short. */
  query: string;
  callsPerJob: number;
  execMsPerJob: number;
  planMsPerJob: number;
  walBytesPerJob: number;
  /** Rows it returned or changed, per call: how many runs one call of a batched statement took. */
  rowsPerCall: number;
}

export interface StatementLedger {
  reset(): Promise<void>;
  /** The `top` statements by time (execution and planning), per job. */
  read(jobs: number, top?: number): Promise<StatementCost[]>;
}

/** The settings that load pg_stat_statements into an embedded cluster, planning time included. */
export const STATEMENT_SETTINGS = {
  shared_preload_libraries: 'pg_stat_statements',
  'pg_stat_statements.track_planning': 'on',
  'pg_stat_statements.max': '10000',
};

/** The ledger over `admin` (the maintenance connection), or null when the extension cannot be used. */
export async function statementLedger(admin: postgres.Sql, log: (line: string) => void): Promise<StatementLedger | null> {
  try {
    await admin`create extension if not exists pg_stat_statements`;
    await admin`select 1 from pg_stat_statements limit 1`;
  } catch (error) {
    log(`--statements: pg_stat_statements cannot be used here (${error instanceof Error ? error.message : String(error)}); no statement costs`);
    return null;
  }
  const [{ oid }] = await admin<{ oid: number }[]>`select oid::int as oid from pg_database where datname = current_database()`;
  return {
    reset: async () => {
      await admin`select pg_stat_statements_reset()`;
    },
    read: async (jobs, top = 12) => {
      const rows = await admin<{ query: string; calls: string; exec: number; plan: number; wal: string; rows: string }[]>`
        select query, calls, total_exec_time as exec, total_plan_time as plan, wal_bytes::text as wal, rows
        from pg_stat_statements where dbid <> ${oid}
        order by total_exec_time + total_plan_time desc limit ${top}`;
      return rows.map((row) => ({
        query: row.query.replace(/\s+/g, ' ').trim().slice(0, 110),
        callsPerJob: Number(row.calls) / jobs,
        execMsPerJob: row.exec / jobs,
        planMsPerJob: row.plan / jobs,
        walBytesPerJob: Number(row.wal) / jobs,
        rowsPerCall: Number(row.rows) / Math.max(1, Number(row.calls)),
      }));
    },
  };
}

/** The statements of one drain as lines for the bench's log. */
export function describeStatements(label: string, costs: StatementCost[]): string {
  const header = `${label}: statements by server time, per job (calls, exec ms, plan ms, WAL bytes; rows per call)`;
  const lines = costs.map(
    (c) =>
      `  ${c.callsPerJob.toFixed(3).padStart(7)} ${c.execMsPerJob.toFixed(3).padStart(6)} ${c.planMsPerJob.toFixed(3).padStart(6)} ` +
      `${c.walBytesPerJob.toFixed(0).padStart(6)}  ${c.rowsPerCall.toFixed(0).padStart(4)}  ${c.query}`,
  );
  return [header, ...lines].join('\n');
}
