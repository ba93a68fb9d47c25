// Silent runs (docs/engine.md §17), evaluated by the periodic loop: one statement a pass finds the
// running runs whose output-silence level would change, or whose agent's silence limit is reached;
// the first are written (runs/silence-level.ts), the others cancelled through the engine's cancel
// (so the process is killed and the issue released as any cancel does).
import { sql } from 'drizzle-orm';
import { agents } from '../../db/schema.ts';
import type { EngineDeps } from '../model/deps.ts';
import type { RunRow } from '../model/runs.ts';
import { readSilenceTimeoutSec } from '../rules/heartbeat-policy.ts';
import {
  normalizeThresholds,
  OUTPUT_SILENCE_STOP_REASON,
  type SilenceRun,
  silenceCancelReason,
  silenceLimitReached,
  silentSince,
} from '../rules/silence.ts';
import { executePrepared, runRowFromDriver, uuidArray } from '../store/statements.ts';
import { type SilenceLevelChange, updateSilenceLevels } from '../runs/silence-level.ts';

/** Agents' silence limits are read again at most this often (they change with an agent's policy). */
export const SILENCE_LIMITS_REFRESH_MS = 30_000;

/** The engine's cancel (Engine.cancelRun): true when it cancelled the run. */
export type SilenceCancel = (input: {
  companyId: string;
  runId: string;
  reason: string;
  stopReason: string;
  /** Checked on the locked row: the run is still silent past its limit. */
  onlyIf: (run: RunRow) => boolean;
}) => Promise<boolean>;

export interface SilencePassResult {
  /** Runs the pass's statement answered: those whose level would change or whose limit is reached. */
  candidates: number;
  /** Level changes written (each published once). */
  changes: SilenceLevelChange[];
  /** Runs cancelled for their agent's silence limit. */
  cancelled: string[];
}

type Candidate = SilenceRun & { id: string; companyId: string; agentId: string; silenceTimeoutSec: number };

/** The per-instance state of the evaluation: the agents' silence limits, read now and then. */
export class SilenceWatch {
  private limits: { at: number; byAgent: Map<string, number> } | null = null;

  constructor(
    private readonly deps: EngineDeps,
    private readonly cancel: SilenceCancel,
  ) {}

  /** Forgets the agents' limits: the next pass reads them again (an agent's policy changed here). */
  invalidateLimits(): void {
    this.limits = null;
  }

  /** One pass: cancels the runs past their agent's silence limit, then writes the changes of level. */
  async evaluate(): Promise<SilencePassResult> {
    const now = this.deps.clock.now();
    const limits = await this.agentLimits(now);
    const candidates = await silenceCandidates(this.deps, now, limits);
    const cancelled: string[] = [];
    const rest: string[] = [];
    for (const run of candidates) {
      if (silenceLimitReached(run, now, run.silenceTimeoutSec)) {
        const seconds = Math.floor((now.getTime() - silentSince(run).getTime()) / 1000);
        const done = await this.cancel({
          companyId: run.companyId,
          runId: run.id,
          reason: silenceCancelReason(seconds, run.silenceTimeoutSec),
          stopReason: OUTPUT_SILENCE_STOP_REASON,
          onlyIf: (row) => silenceLimitReached(row, this.deps.clock.now(), run.silenceTimeoutSec),
        });
        if (done) {
          cancelled.push(run.id);
          continue;
        }
      }
      rest.push(run.id);
    }
    const changes = await updateSilenceLevels(this.deps, rest);
    return { candidates: candidates.length, changes, cancelled };
  }

  /** Agent id -> silenceTimeoutSec, for the agents that set one (read when older than 30 s). */
  private async agentLimits(now: Date): Promise<Map<string, number>> {
    if (this.limits && now.getTime() - this.limits.at < SILENCE_LIMITS_REFRESH_MS && now.getTime() >= this.limits.at) return this.limits.byAgent;
    const rows = await this.deps.db
      .select({ id: agents.id, runtimeConfig: agents.runtimeConfig })
      .from(agents)
      .where(sql`jsonb_typeof(${agents.runtimeConfig} -> 'heartbeat' -> 'silenceTimeoutSec') = 'number'`);
    const byAgent = new Map<string, number>();
    for (const row of rows) {
      const heartbeat = (row.runtimeConfig as { heartbeat?: { silenceTimeoutSec?: unknown } } | null)?.heartbeat;
      const limit = readSilenceTimeoutSec(heartbeat?.silenceTimeoutSec);
      if (limit > 0) byAgent.set(row.id, limit);
    }
    this.limits = { at: now.getTime(), byAgent };
    return byAgent;
  }
}

const at = (ms: number) => new Date(ms).toISOString();

/**
 * The one statement of a pass. It reads only (1) running runs silent at least the suspicious
 * threshold, through `runs_running_silence_idx` (its key, coalesce(last_output_at, started_at,
 * created_at), is never after the silence's start, so the range holds every such run); (2) running
 * runs flagged now (`runs_running_silence_flagged_idx`), which may go back to ok; (3) running runs
 * of the agents with a silence limit, silent at least the smallest of those limits. Of these it
 * answers those whose level (the rule of rules/silence.ts, in SQL) differs from the stored one, or
 * whose agent's limit is reached. With nothing silent and nothing flagged, it reads no row.
 */
async function silenceCandidates(deps: EngineDeps, now: Date, limits: Map<string, number>): Promise<Candidate[]> {
  const { silenceSuspiciousSec, silenceCriticalSec } = normalizeThresholds(deps.settings);
  const ms = now.getTime();
  const agentIds = [...limits.keys()];
  const timeouts = agentIds.map((id) => limits.get(id)!);
  // No agent with a limit: the third branch's range is empty (whichever index a generic plan uses).
  const limitBefore = timeouts.length > 0 ? at(ms - Math.min(...timeouts) * 1000) : '-infinity';
  const since = sql.raw('coalesce(r.last_output_at, r.process_started_at, r.started_at, r.created_at)');
  // Each branch reads its rows' columns itself (no join back to the table, which a planner
  // guessing the branches' sizes would make a scan of every running run).
  const columns = sql.raw(
    'id, company_id, agent_id, status, created_at, started_at, process_started_at, last_output_at, output_silence_level, output_silence_snoozed_until, output_silence_dismissed_at',
  );
  const rows = await executePrepared<Record<string, unknown> & { silence_timeout_sec: number | null }>(deps.db, sql`
    with limits as (
      select * from unnest(${uuidArray(agentIds)}::uuid[], ${`{${timeouts.join(',')}}`}::int[]) as l(agent_id, timeout_sec)
    ), candidates as (
      select ${columns} from heartbeat_runs
        where status = 'running' and coalesce(last_output_at, started_at, created_at) <= ${at(ms - silenceSuspiciousSec * 1000)}::timestamptz
      union
      select ${columns} from heartbeat_runs where status = 'running' and output_silence_level is not null
      union
      select ${columns} from heartbeat_runs
        where status = 'running' and agent_id = any(${uuidArray(agentIds)}::uuid[])
          and coalesce(last_output_at, started_at, created_at) <= ${limitBefore}::timestamptz
    )
    select r.*, l.timeout_sec as silence_timeout_sec
    from candidates r
    left join limits l on l.agent_id = r.agent_id
    where (case
        when r.output_silence_snoozed_until > ${at(ms)}::timestamptz then 'snoozed'
        when r.output_silence_dismissed_at >= ${since} then null
        when ${since} <= ${at(ms - silenceCriticalSec * 1000)}::timestamptz then 'critical'
        when ${since} <= ${at(ms - silenceSuspiciousSec * 1000)}::timestamptz then 'suspicious'
      end) is distinct from r.output_silence_level
      or ${since} <= ${at(ms)}::timestamptz - make_interval(secs => l.timeout_sec)
    order by r.id`);
  return rows.map((raw) => {
    const run = runRowFromDriver(raw);
    return {
      id: run.id,
      companyId: run.companyId,
      agentId: run.agentId,
      status: run.status,
      createdAt: run.createdAt,
      startedAt: run.startedAt,
      processStartedAt: run.processStartedAt,
      lastOutputAt: run.lastOutputAt,
      outputSilenceSnoozedUntil: run.outputSilenceSnoozedUntil,
      outputSilenceDismissedAt: run.outputSilenceDismissedAt,
      silenceTimeoutSec: raw.silence_timeout_sec == null ? 0 : Number(raw.silence_timeout_sec),
    };
  });
}
