// The claim statement (docs/engine.md §6.3 step 3): the runs a claim round took, claimed and started
// in one statement, which also takes the issue lock, checks the issue out, writes what each run is
// told (§15) and its session (§12.3), claims its wakeup and writes `run started`. The round that
// chooses them (the agents' locks, the order, the gates) is claim.ts; a run queued and claimed in one
// transaction comes here through claim.ts claimNewRun.
import { runnableConfig } from '../agents/runnable-config.ts';
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { agents } from '../../db/schema.ts';
import { hashApiKey, RUN_TOKEN_PREFIX } from '../access/api-keys.ts';
import { wantsCheckout } from '../rules/claim-gates.ts';
import type { EngineDeps } from '../model/deps.ts';
import { type IssueReadiness } from '../model/issues.ts';
import type { LiveEvent } from '../live/live-events.ts';
import { LOG_STORE, logRefFor } from './output.ts';
import { executePrepared, type StatementTarget, uuidArray } from '../store/statements.ts';
import { agentNameKey, issueLockEvent, type IssueRow, type RunRow, runStatusEvent } from '../model/runs.ts';
import { liveRunEvent, type NewRunEvent, payloadText } from './events.ts';
import { sessionLabel } from '../rules/sessions.ts';
import { type RunSessionStart, SESSION_CONTEXT_KEYS, sessionContext } from './task-sessions.ts';
import { RENDERED_WAKE_KEYS } from '../rules/wake-context.ts';
import { wakeContextOf, type WakeMaterial } from './wake-material.ts';

export interface ClaimedRun {
  run: RunRow;
  /** Plaintext bearer token for the agent; only its digest is stored. */
  runToken: string;
  /** The agent row as the claim read it, under the agent's lock. */
  agent?: Agent;
  /** Set when the claim also started the run (every run whose adapter config parses): its context and log file. */
  started?: { context: Record<string, unknown>; logRef: string };
}

export type Agent = typeof agents.$inferSelect;

export interface RunStart {
  run: RunRow;
  agent: Agent;
  context: Record<string, unknown>;
  logRef: string;
}

/** The `run started` event of a run (written by its claim, claim.ts). */
export function runStartedEvent(item: RunStart): NewRunEvent {
  return {
    runId: item.run.id,
    eventType: 'lifecycle',
    level: 'info',
    message: 'run started',
    payload: { adapterType: item.agent.adapterType, invocationSource: item.run.invocationSource, wakeReason: item.context.wakeReason ?? null },
  };
}

/** A queued run the claim takes, with what it read of its issue. */
export interface ClaimItem {
  agent: Agent;
  run: RunRow;
  issue: IssueRow | null;
  readiness: IssueReadiness | null;
  /** The session it is given (runs/task-sessions.ts), decided from a read made before the claim. */
  session: RunSessionStart;
  /** What the claim read for the wakes of its runs (runs/wake-material.ts), to tell each of its issue. */
  material: WakeMaterial;
}

/**
 * The context keys the claim decides for each run it starts, written afresh over what was queued:
 * the session (§12.3) and what the run is told (§15), which is rendered again when wakes coalesce.
 */
const CLAIM_CONTEXT_KEYS: readonly string[] = [...SESSION_CONTEXT_KEYS, ...RENDERED_WAKE_KEYS];
/** The statuses a checkout moves to `in_progress` (§6.3 step 3). */
const CHECKOUT_FROM: readonly string[] = ['todo', 'backlog', 'blocked'];
const CHECKOUT_FROM_SQL = sql.raw(CHECKOUT_FROM.map((status) => `'${status}'`).join(', '));

const withoutClaimKeys = (context: Record<string, unknown>) => {
  const rest = { ...context };
  for (const key of CLAIM_CONTEXT_KEYS) delete rest[key];
  return rest;
};

/**
 * §6.3 step 3, the claim itself, for any number of runs locked by this transaction (so each guarded
 * update matches), in one statement: each run turns running with a fresh run token, its wakeup is
 * claimed, and the issue lock is stamped with it when its issue is assigned to its agent and the
 * lock is free or already its own. The runs whose adapter config parses are also started (§6.4
 * steps 2-3; a run whose config does not parse is failed by execution/execute-run.ts before it
 * would start): the issue checked out where wanted, the log file, the agent running, `run
 * started`. The row is not read back: the candidate is current and the update sets known values,
 * so the claimed row is the candidate with them applied (the start's columns included).
 */
export async function claimRuns(deps: EngineDeps, tx: StatementTarget, events: LiveEvent[], items: ClaimItem[]): Promise<ClaimedRun[]> {
  if (items.length === 0) return [];
  // Nothing is awaited before the claim statement is sent: a caller that pipelines it (claimNewRun)
  // sends its COMMIT right behind it.
  const now = deps.clock.now();
  const at = now.toISOString();
  const tokens = items.map(() => RUN_TOKEN_PREFIX + randomBytes(32).toString('base64url'));
  const parses = new Map<string, boolean>();
  // The `run started` event of each run that starts (its payload depends on nothing the claim changes).
  const startEvents = items.map(({ agent, run }) => {
    if (!parses.has(agent.id)) parses.set(agent.id, configParses(deps, agent));
    if (!parses.get(agent.id)) return null;
    const event = runStartedEvent({ run, agent, context: run.contextSnapshot, logRef: '' });
    return { event, payload: payloadText(event.payload) };
  });
  const input = items.map(({ agent, run, issue, readiness, session, material }, i) => {
    const starts = startEvents[i] !== null;
    const locks = !!issue && issue.assigneeAgentId === agent.id && (issue.executionRunId === null || issue.executionRunId === run.id);
    const checkout = starts && wantsCheckout(run, issue, readiness, agent.id);
    // The run is told of its issue as this statement leaves it (checked out: in progress).
    const told = issue && checkout && CHECKOUT_FROM.includes(issue.status) ? { ...issue, status: 'in_progress' as const } : issue;
    const added = { ...sessionContext(session), ...wakeContextOf(run, told, readiness, material) };
    return {
      id: run.id,
      token_hash: hashApiKey(tokens[i]),
      start: starts,
      checkout,
      log_ref: starts ? logRefFor(run) : null,
      payload: startEvents[i]?.payload.text ?? null,
      issue_id: locks || checkout ? issue!.id : null,
      lock: locks,
      agent_name_key: agentNameKey(agent.name),
      session_id_before: sessionLabel(session.session),
      context_add: Object.keys(added).length > 0 ? added : null,
    };
  });
  // The context part of the statement only when some run gets a session or is told of its issue, or
  // has such keys to clear.
  const rewritesContext = input.some((row) => row.context_add !== null) || items.some(({ run }) => CLAIM_CONTEXT_KEYS.some((key) => key in run.contextSnapshot));
  const startedAgents = [...new Set(items.flatMap(({ agent }, i) => (input[i].start ? [agent.id] : [])))];
  const issueIds = [...new Set(input.flatMap((row) => (row.issue_id ? [row.issue_id] : [])))];
  // The issue part of the statement (lock, checkout, the context's issueCheckedOut) only when some
  // run has issue work: the common claim of runs without an issue stays the smaller statement.
  const onIssues = issueIds.length > 0;
  const issueWrites = onIssues
    ? sql`, issue_writes as (
        update issues i set
          execution_run_id = case when t.lock and (i.execution_run_id is null or i.execution_run_id = t.id) then t.id else i.execution_run_id end,
          execution_agent_name_key = case when t.lock and (i.execution_run_id is null or i.execution_run_id = t.id) then t.agent_name_key else i.execution_agent_name_key end,
          execution_locked_at = case when t.lock and (i.execution_run_id is null or i.execution_run_id = t.id) then ${at}::timestamptz else i.execution_locked_at end,
          status = case when t.checkout and i.status in (${CHECKOUT_FROM_SQL}) then 'in_progress'::issue_status else i.status end,
          checkout_run_id = case when t.checkout and i.status in (${CHECKOUT_FROM_SQL}) then t.id else i.checkout_run_id end,
          updated_at = ${at}::timestamptz
        from input t
        where i.id = t.issue_id and i.id = any(${uuidArray(issueIds)}::uuid[])
          and ((t.lock and (i.execution_run_id is null or i.execution_run_id = t.id)) or (t.checkout and i.status in (${CHECKOUT_FROM_SQL})))
        returning i.id, i.company_id, t.id as run_id, i.execution_run_id = t.id as locked, i.checkout_run_id = t.id and i.status = 'in_progress' as checked_out
      )`
    : sql``;
  const cleared = sql.raw(`array[${CLAIM_CONTEXT_KEYS.map((key) => `'${key}'`).join(', ')}]`);
  const stored = rewritesContext ? sql`((r.context_snapshot - ${cleared}) || coalesce(t.context_add, '{}'::jsonb))` : sql`r.context_snapshot`;
  const context = onIssues
    ? sql`case when t.checkout
              then ${stored} || jsonb_build_object('issueCheckedOut', exists (select 1 from issue_writes w where w.run_id = r.id and w.checked_out))
              else ${stored} end`
    : stored;
  const issueColumns = onIssues
    ? sql`w.checked_out, w.locked, w.id as issue_id, w.company_id as issue_company_id`
    : sql`null::boolean as checked_out, null::boolean as locked, null::uuid as issue_id, null::uuid as issue_company_id`;
  const wakeIds = items.flatMap(({ run }) => (run.wakeupRequestId ? [run.wakeupRequestId] : []));
  const rows = await executePrepared<{
    id: string;
    started_seq: number | null;
    checked_out: boolean | null;
    locked: boolean | null;
    issue_id: string | null;
    issue_company_id: string | null;
    agent_heartbeat: string | null;
    agent_running: boolean;
  }>(tx, sql`
      with input as (
        select * from jsonb_to_recordset(${JSON.stringify(input)}::jsonb)
          as t(id uuid, token_hash text, start boolean, checkout boolean, log_ref text, payload text, issue_id uuid, lock boolean, agent_name_key text,
            session_id_before text, context_add jsonb)
      )${issueWrites}, claimed as (
        update heartbeat_runs r
        set status = 'running', started_at = coalesce(r.started_at, ${at}::timestamptz), owner_instance_id = ${deps.settings.instanceId},
            owner_host = ${deps.settings.host}, run_token_hash = t.token_hash, updated_at = ${at}::timestamptz,
            context_snapshot = ${context},${rewritesContext ? sql` session_id_before = t.session_id_before,` : sql``}
            log_store = case when t.start then ${LOG_STORE} else r.log_store end,
            log_ref = case when t.start then t.log_ref else r.log_ref end,
            last_event_seq = r.last_event_seq + case when t.start then 1 else 0 end
        from input t
        where r.id = t.id and r.id = any(${uuidArray(items.map(({ run }) => run.id))}::uuid[]) and r.status = 'queued'
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
      select c.id, s.seq as started_seq, ${issueColumns}, a.last_heartbeat_at as agent_heartbeat, a.id is not null as agent_running
      from claimed c
      left join started s on s.run_id = c.id
      left join running a on a.id = c.agent_id
      ${onIssues ? sql`left join issue_writes w on w.run_id = c.id` : sql``}`);
  const claimed = new Map(rows.map((raw) => [raw.id, raw]));
  if (claimed.size !== items.length) throw new Error('A queued run locked for claiming was no longer queued');
  const agentAnnounced = new Set<string>();
  return items.map(({ agent, run: candidate }, i) => {
    const raw = claimed.get(candidate.id)!;
    const run: RunRow = {
      ...candidate,
      status: 'running',
      startedAt: candidate.startedAt ?? now,
      ownerInstanceId: deps.settings.instanceId,
      ownerHost: deps.settings.host,
      runTokenHash: input[i].token_hash,
      updatedAt: now,
      sessionIdBefore: input[i].session_id_before ?? candidate.sessionIdBefore,
    };
    events.push(runStatusEvent(run));
    if (raw.locked && raw.issue_id && raw.issue_company_id) events.push(issueLockEvent({ id: raw.issue_id, companyId: raw.issue_company_id }, run.id));
    if (!input[i].start) return { run, runToken: tokens[i], agent };
    const base = { ...withoutClaimKeys(candidate.contextSnapshot), ...input[i].context_add };
    const context = input[i].checkout ? { ...base, issueCheckedOut: raw.checked_out === true } : base;
    const item: RunStart = { run, agent, context, logRef: input[i].log_ref! };
    // The start's columns, as stored.
    Object.assign(run, { contextSnapshot: context, logStore: LOG_STORE, logRef: item.logRef, lastEventSeq: Number(raw.started_seq) } satisfies Partial<RunRow>);
    if (raw.agent_running && !agentAnnounced.has(agent.id)) {
      agentAnnounced.add(agent.id);
      const heartbeat = raw.agent_heartbeat;
      events.push({ type: 'agent.status', companyId: agent.companyId, agentId: agent.id, status: 'running', lastHeartbeatAt: heartbeat ? new Date(heartbeat).toISOString() : null, outcome: 'running' });
    }
    const started = startEvents[i]!;
    events.push(liveRunEvent(run, Number(raw.started_seq), started.event, started.payload.bounded));
    return { run, runToken: tokens[i], agent, started: { context, logRef: item.logRef } };
  });
}

/**
 * Whether the agent may run as it is stored (its adapter accepts its config, the host-adapter
 * settings allow it): if not, execution/execute-run.ts fails the run, saying why, before starting it.
 */
export function configParses(deps: EngineDeps, agent: Agent): boolean {
  try {
    runnableConfig(deps, agent);
    return true;
  } catch {
    return false;
  }
}
