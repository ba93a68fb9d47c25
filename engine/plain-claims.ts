// Claims of runs without an issue (spec §6.3 step 3; no gate applies to them) while the canInvoke
// port is the default: set-based, many runs of many agents in one statement, and, with `start`,
// started in the same statement (execute.ts's run start, for the runs whose adapter config parses).
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { agents } from '../db/schema.ts';
import { hashApiKey, RUN_TOKEN_PREFIX } from './api-keys.ts';
import type { ClaimedRun } from './claim.ts';
import { allowAll, type EngineDeps } from './deps.ts';
import type { LiveEvent } from './live-events.ts';
import { payloadText, type RunStart, runStartedEvent } from './run-batches.ts';
import { liveRunEvent } from './run-events.ts';
import { logRefFor } from './run-output.ts';
import { executePrepared, type StatementTarget, uuidArray } from './run-rows.ts';
import { type RunRow, runStatusEvent } from './runs.ts';

type Agent = typeof agents.$inferSelect;

/** Runs without an issue pass no gate (claimGate): nothing about them needs a per-run look. */
export const isPlain = (runs: RunRow[]) => runs.every((run) => run.issueId === null && typeof run.contextSnapshot.issueId !== 'string');

/**
 * §6.3 step 3 for runs without an issue (no gate applies) while the canInvoke port is the default
 * (it allows everything): every agent's runs claimed in two statements, whatever their number.
 * The rows are locked by this transaction, so each guarded update matches. With `start`, the runs
 * whose adapter config parses are also started in the same statement (see ClaimOptions).
 */
export async function claimPlainRuns(
  deps: EngineDeps,
  tx: StatementTarget,
  events: LiveEvent[],
  plans: Array<{ agent: Agent; runs: RunRow[] }>,
  start: boolean,
): Promise<ClaimedRun[][]> {
  const runs = plans.flatMap((plan) => plan.runs.map((run) => ({ run, agent: plan.agent })));
  if (runs.length === 0) return plans.map(() => []);
  const now = deps.clock.now();
  const at = now.toISOString();
  const tokens = runs.map(() => RUN_TOKEN_PREFIX + randomBytes(32).toString('base64url'));
  const startable = new Map<string, boolean>();
  const starts = runs.map(({ run, agent }) => {
    if (!start) return null;
    if (!startable.has(agent.id)) startable.set(agent.id, configParses(deps, agent));
    if (!startable.get(agent.id)) return null;
    const item: RunStart = { run, agent, context: { ...run.contextSnapshot }, logRef: logRefFor(run) };
    const event = runStartedEvent(item);
    return { item, event, payload: payloadText(event.payload) };
  });
  const startedAgents = [...new Set(runs.flatMap(({ agent }, i) => (starts[i] ? [agent.id] : [])))];
  const input = runs.map(({ run }, i) => ({
    id: run.id,
    token_hash: hashApiKey(tokens[i]),
    start: starts[i] !== null,
    log_ref: starts[i]?.item.logRef ?? null,
    payload: starts[i]?.payload.text ?? null,
  }));
  const ids = uuidArray(runs.map(({ run }) => run.id));
  const wakeIds = runs.flatMap(({ run }) => (run.wakeupRequestId ? [run.wakeupRequestId] : []));
  const rows = await executePrepared<{ id: string; started_seq: number | null; agent_heartbeat: string | null; agent_running: boolean }>(tx, sql`
      with input as (
        select * from jsonb_to_recordset(${JSON.stringify(input)}::jsonb) as t(id uuid, token_hash text, start boolean, log_ref text, payload text)
      ), claimed as (
        update heartbeat_runs r
        set status = 'running', started_at = coalesce(r.started_at, ${at}::timestamptz), owner_instance_id = ${deps.settings.instanceId},
            owner_host = ${deps.settings.host}, run_token_hash = t.token_hash, updated_at = ${at}::timestamptz,
            log_store = case when t.start then 'file' else r.log_store end,
            log_ref = case when t.start then t.log_ref else r.log_ref end,
            last_event_seq = r.last_event_seq + case when t.start then 1 else 0 end
        from input t
        where r.id = t.id and r.id = any(${ids}::uuid[]) and r.status = 'queued'
        returning r.id, r.company_id, r.agent_id, r.last_event_seq, t.start as claim_started
      ), agent_locks as (
        select a.id from agents a
        where a.id = any(${uuidArray(startedAgents)}::uuid[]) and a.status in ('active', 'idle', 'running', 'error')
        order by a.id for no key update
      ), running as (
        update agents a set status = 'running', updated_at = ${at}::timestamptz
        from agent_locks l where a.id = l.id
        returning a.id, a.last_heartbeat_at::text as last_heartbeat_at
      ), started as (
        insert into heartbeat_run_events (company_id, run_id, agent_id, seq, event_type, level, message, payload, created_at)
        select c.company_id, c.id, c.agent_id, c.last_event_seq, 'lifecycle', 'info', 'run started', t.payload::jsonb, ${at}::timestamptz
        from claimed c join input t on t.id = c.id
        where c.claim_started
        returning run_id, seq
      ), wakes as (
        update agent_wakeup_requests set status = 'claimed', updated_at = ${at}::timestamptz, claimed_at = ${at}::timestamptz
        where id = any(${uuidArray(wakeIds)}::uuid[])
      )
      select c.id, s.seq as started_seq, a.last_heartbeat_at as agent_heartbeat, a.id is not null as agent_running
      from claimed c left join started s on s.run_id = c.id left join running a on a.id = c.agent_id`);
  const claimed = new Map(rows.map((raw) => [raw.id, raw]));
  if (claimed.size !== runs.length) throw new Error('A queued run locked for claiming was no longer queued');
  let next = 0;
  return plans.map((plan) =>
    plan.runs.map((candidate) => {
      const i = next++;
      const raw = claimed.get(candidate.id)!;
      // The claim as the per-run path returns it: the start's own columns are not part of it. The
      // row is not read back: the candidate is current (locked, or inserted, by this transaction)
      // and the update sets known values, so the claimed row is the candidate with them applied.
      const run: RunRow = { ...candidate, ...claimedColumns(candidate, now, deps, input[i].token_hash) };
      events.push(runStatusEvent(run));
      const started = starts[i];
      if (!started) return { run, runToken: tokens[i], agent: plan.agent };
      if (raw.agent_running) {
        const heartbeat = raw.agent_heartbeat;
        events.push({ type: 'agent.status', companyId: plan.agent.companyId, agentId: plan.agent.id, status: 'running', lastHeartbeatAt: heartbeat ? new Date(heartbeat).toISOString() : null, outcome: 'running' });
      }
      events.push(liveRunEvent(run, Number(raw.started_seq), started.event, started.payload.bounded));
      return { run, runToken: tokens[i], agent: plan.agent, started: { context: started.item.context, logRef: started.item.logRef } };
    }),
  );
}

/** The columns the claim's update sets (claimed above), as the row holds them after it. */
function claimedColumns(candidate: RunRow, now: Date, deps: EngineDeps, tokenHash: string) {
  return {
    status: 'running',
    startedAt: candidate.startedAt ?? now,
    ownerInstanceId: deps.settings.instanceId,
    ownerHost: deps.settings.host,
    runTokenHash: tokenHash,
    updatedAt: now,
  } satisfies Partial<RunRow>;
}

/**
 * enqueueWakeup's shortcut for the engine: a run just created by this transaction, under its
 * agent's lock, is claimed and started in the same transaction when nothing else is queued for the
 * agent and a slot is free, which is exactly what startNextQueuedRunForAgent would do right after
 * the commit. The caller has checked the counts; null when the run is not plain or cannot start.
 * Its statements are sent at once (pipelined behind the caller's inserts of the run).
 */
export function claimNewRun(deps: EngineDeps, tx: StatementTarget, events: LiveEvent[], agent: Agent, run: RunRow): Promise<ClaimedRun> | null {
  if (deps.canInvoke !== allowAll || !isPlain([run]) || !configParses(deps, agent)) return null;
  return claimPlainRuns(deps, tx, events, [{ agent, runs: [run] }], true).then(([[claimed]]) => claimed);
}

/** Whether the agent's adapter accepts its config: if not, execute.ts fails the run before starting it. */
function configParses(deps: EngineDeps, agent: Agent): boolean {
  try {
    deps.adapters[agent.adapterType].parseConfig(agent.adapterConfig);
    return true;
  } catch {
    return false;
  }
}
