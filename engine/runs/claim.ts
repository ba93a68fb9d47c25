// The claim (docs/engine.md §6.2, §6.3): queued runs become running under their agent's limit. One
// transaction for any number of agents, under their advisory locks: count each agent's running
// runs, lock its first queued runs in claim order, cancel those a gate stops, and claim the rest
// in one statement, which also takes the issue lock, checks the issue out and starts the run. No
// instance can claim for the agent meanwhile, so the limit holds exactly across instances. Runs
// with and without an issue go through the same statements.
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Transaction } from '../../db/client.ts';
import type { agents } from '../../db/schema.ts';
import { agentAdvisoryLocks } from '../cluster/agent-locks.ts';
import { hashApiKey, RUN_TOKEN_PREFIX } from '../access/api-keys.ts';
import { claimGate, type Gate, wantsCheckout } from '../rules/claim-gates.ts';
import { lockCandidates } from './claim-order.ts';
import { cancelBeforeStart } from './cancel.ts';
import { withOutageRetry } from '../store/database-retry.ts';
import { isDatabaseUnavailable } from '../store/database-unavailable.ts';
import { type EngineDeps, mayRefuse, transact } from '../model/deps.ts';
import { issueReadiness } from './issue-readiness.ts';
import { type IssueReadiness } from '../model/issues.ts';
import type { LiveEvent } from '../live/live-events.ts';
import { isInvokable, readHeartbeatPolicy } from '../rules/heartbeat-policy.ts';
import { LOG_STORE, logRefFor } from './output.ts';
import { agentRowFromDriver, executePrepared, issueRowFromDriver, type StatementTarget, uuidArray } from '../store/statements.ts';
import { agentNameKey, issueLockEvent, type IssueRow, type RunRow, runStatusEvent } from '../model/runs.ts';
import { liveRunEvent, type NewRunEvent, payloadText } from './events.ts';
import { sessionLabel } from '../rules/sessions.ts';
import { decideRunSession, decideRunSessions, type RunSessionStart, SESSION_CONTEXT_KEYS, sessionContext, type SessionRows } from './task-sessions.ts';
import { RENDERED_WAKE_KEYS } from '../rules/wake-context.ts';
import { NO_WAKE_MATERIAL, readWakeMaterial, wakeContextOf, type WakeMaterial } from './wake-material.ts';
import { recordClaims, stepStart } from '../telemetry/tracing.ts';

export interface ClaimedRun {
  run: RunRow;
  /** Plaintext bearer token for the agent; only its digest is stored. */
  runToken: string;
  /** The agent row as the claim read it, under the agent's lock. */
  agent?: Agent;
  /** Set when the claim also started the run (every run whose adapter config parses): its context and log file. */
  started?: { context: Record<string, unknown>; logRef: string };
}

type Agent = typeof agents.$inferSelect;

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

interface Plan {
  agent: Agent;
  slots: number;
}

/** A queued run the claim takes, with what it read of its issue. */
interface ClaimItem {
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
 * The agents among `agentIds` that have queued runs right now (read without their locks). The
 * engine claims only for those: an agent whose run is queued after this read gets its claim from
 * whoever queued it (they call startNext after their commit, which runs another claim round).
 */
export async function agentsWithQueuedRuns(deps: EngineDeps, agentIds: readonly string[]): Promise<Set<string>> {
  const rows = await executePrepared<{ agent_id: string }>(
    deps.db,
    // One index probe per agent that stops at its first queued run: a deep queue costs nothing here.
    sql`select a.id as agent_id from unnest(${uuidArray(agentIds)}::uuid[]) as a(id)
        where exists (select 1 from heartbeat_runs r where r.agent_id = a.id and r.status = 'queued')`,
  );
  return new Set(rows.map((row) => row.agent_id));
}

export async function claimNextRunsForAgent(deps: EngineDeps, agentId: string): Promise<ClaimedRun[]> {
  return (await claimNextRunsForAgents(deps, [agentId]))[0];
}

/**
 * startNextQueuedRunForAgent for several agents in one transaction (the engine batches the agents
 * whose queues changed at about the same time). Each agent is claimed exactly as on its own: its
 * lock, its running count, its candidates in order, its gates. Returns the claims per agent id given.
 */
export async function claimNextRunsForAgents(
  deps: EngineDeps,
  agentIds: readonly string[],
): Promise<ClaimedRun[][]> {
  const unique = [...new Set(agentIds)];
  const traced = stepStart();
  // What the transaction did, once its work is done: if its COMMIT then gets no answer, whether it
  // committed is read back by the claims' run tokens (claimCommitted).
  let done: { byAgent: Map<string, ClaimedRun[]>; events: LiveEvent[] } | null = null;
  const claim = transact(deps, async (tx, events) => {
    // The locks first, and the reads sent right behind them in the same round trip: the server runs
    // them once the locks are granted, so they see everything committed before.
    const ids = uuidArray(unique);
    const [, agentRows, runningRows] = await Promise.all([
      agentAdvisoryLocks(tx, unique),
      executePrepared(tx, sql`select * from agents where id = any(${ids}::uuid[])`),
      executePrepared<{ agent_id: string; running: number }>(
        tx,
        sql`select agent_id, count(*)::int as running from heartbeat_runs where agent_id = any(${ids}::uuid[]) and status = 'running' group by agent_id`,
      ),
    ]);
    const agentById = new Map(agentRows.map(agentRowFromDriver).map((row) => [row.id, row]));
    const runningByAgent = new Map(runningRows.map((row) => [row.agent_id, Number(row.running)]));
    let plans: Plan[] = [];
    for (const id of unique) {
      const agent = agentById.get(id);
      if (!agent || !isInvokable(agent.status)) continue;
      const { maxConcurrentRuns } = readHeartbeatPolicy(agent.runtimeConfig, deps.settings);
      const slots = maxConcurrentRuns - (runningByAgent.get(id) ?? 0);
      if (slots > 0) plans.push({ agent, slots });
    }
    const claimedByAgent = new Map<string, ClaimedRun[]>(plans.map((plan) => [plan.agent.id, []]));
    // Rounds: each agent's next `slots` candidates; a gate-cancelled one frees its slot for the next round.
    while (plans.length > 0) {
      const candidates = await lockCandidates(tx, plans);
      const sessionItems = plans.flatMap((plan) => candidates.get(plan.agent.id)!.map((run) => ({ run, agent: plan.agent, issueId: issueIdOf(run) })));
      // The issues, the sessions and what the wakes name, read together (one round trip).
      const candidateRuns = [...candidates.values()].flat();
      const issueIds = [...new Set(candidateRuns.flatMap((run) => issueIdOf(run) ?? []))];
      const [{ issues, readiness }, sessionStarts, material] = await Promise.all([
        readIssues(tx, issueIds),
        decideRunSessions(tx, sessionItems),
        readWakeMaterial(tx, candidateRuns, issueIds),
      ]);
      const sessionByRun = new Map(sessionItems.map((item, i) => [item.run.id, sessionStarts[i]]));
      const toClaim: ClaimItem[] = [];
      const next: Plan[] = [];
      for (const plan of plans) {
        const runs = candidates.get(plan.agent.id)!;
        let gated = 0;
        for (const run of runs) {
          const issueId = issueIdOf(run);
          const issue = issueId ? (issues.get(issueId) ?? null) : null;
          const ready = issue ? readiness.get(issue.id)! : null;
          const gate = await gateFor(deps, plan.agent, run, issue, ready);
          if (gate) {
            await cancelBeforeStart(tx, events, run, { ...gate, wakeStatus: 'skipped', payload: { errorCode: gate.code } }, deps.clock.now());
            gated += 1;
          } else {
            toClaim.push({ agent: plan.agent, run, issue, readiness: ready, session: sessionByRun.get(run.id)!, material });
          }
        }
        // All its candidates were taken and some were gated: there may be more queued behind them.
        if (gated > 0 && runs.length === plan.slots) next.push({ agent: plan.agent, slots: gated });
      }
      for (const claimed of await claimRuns(deps, tx, events, toClaim)) {
        claimedByAgent.get(claimed.run.agentId)!.push(claimed);
      }
      plans = next;
    }
    done = { byAgent: claimedByAgent, events };
    return claimedByAgent;
  });
  const byAgent = await claim.catch(async (error: unknown) => {
    const attempted = done as typeof done;
    if (!attempted || !isDatabaseUnavailable(error) || !(await claimCommitted(deps, attempted.byAgent))) throw error;
    deps.bus.publish(attempted.events);
    return attempted.byAgent;
  });
  if (traced !== undefined) recordClaims(traced, [...byAgent.values()].flat().map((claimed) => claimed.run));
  return agentIds.map((id) => byAgent.get(id) ?? []);
}

/**
 * Whether a claim whose COMMIT got no answer (the connection broke as it was sent) committed: its
 * runs carry its run tokens exactly when it did. Without this, runs it did claim would be running
 * with nobody executing them, until reaped as lost; and their retry would count as a failure.
 */
async function claimCommitted(deps: EngineDeps, byAgent: Map<string, ClaimedRun[]>): Promise<boolean> {
  const claims = [...byAgent.values()].flat();
  if (claims.length === 0) return false;
  const rows = await withOutageRetry(
    () =>
      executePrepared<{ n: number }>(
        deps.db,
        sql`select count(*)::int as n from heartbeat_runs where id = any(${uuidArray(claims.map((c) => c.run.id))}::uuid[]) and run_token_hash = any(${`{${claims.map((c) => c.run.runTokenHash).join(',')}}`}::text[])`,
      ),
    deps.settings.databaseOutageMs,
  );
  return Number(rows[0].n) === claims.length;
}

/** The issue a run works on (a run queued for an issue that was deleted keeps its id in its context). */
const issueIdOf = (run: RunRow): string | null => run.issueId ?? (typeof run.contextSnapshot.issueId === 'string' ? run.contextSnapshot.issueId : null);

/** §6.3 step 2: the budget and pause port (canInvoke), then the issue gates. */
async function gateFor(deps: EngineDeps, agent: Agent, run: RunRow, issue: IssueRow | null, readiness: IssueReadiness | null): Promise<Gate | null> {
  // A port that cannot refuse this company's work (no budget) is not asked once per run.
  if (mayRefuse(deps.canInvoke, agent.companyId)) {
    const budget = await deps.canInvoke.check({ companyId: agent.companyId, agentId: agent.id, issueId: issue?.id ?? null });
    if (!budget.allowed) return { code: 'cancelled', message: budget.reason, timeoutSource: 'stale_queued_run_gate' };
  }
  return claimGate(run, issue, readiness);
}

/** The issues of the candidates and whether each is ready (its blockers resolved), read together. */
async function readIssues(tx: Transaction, ids: string[]) {
  if (ids.length === 0) return { issues: new Map<string, IssueRow>(), readiness: new Map<string, IssueReadiness>() };
  const [rows, readiness] = await Promise.all([executePrepared(tx, sql`select * from issues where id = any(${uuidArray(ids)}::uuid[])`), issueReadiness(tx, ids)]);
  return { issues: new Map(rows.map(issueRowFromDriver).map((issue) => [issue.id, issue])), readiness };
}

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
async function claimRuns(deps: EngineDeps, tx: StatementTarget, events: LiveEvent[], items: ClaimItem[]): Promise<ClaimedRun[]> {
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
 * enqueueWakeup's shortcut for the engine: a run just created by this transaction, under its
 * agent's lock, is claimed and started in the same transaction when nothing else is queued for the
 * agent and a slot is free, which is exactly what startNextQueuedRunForAgent would do right after
 * the commit. The caller has checked the counts; null when the run has an issue (its gates and
 * lock are the claim round's), a budget port may refuse it, or its adapter config does not parse.
 * Its statements are sent at once (pipelined behind the caller's inserts of the run). `sessions`:
 * the answer of the session read the caller sent with its first reads for this run (task-sessions.ts
 * readRunSessions, keyed `sessionKey`), so that deciding the run's session costs no round trip.
 */
export function claimNewRun(
  deps: EngineDeps,
  tx: StatementTarget,
  events: LiveEvent[],
  agent: Agent,
  run: RunRow,
  sessions: { rows: SessionRows; key: string },
): Promise<ClaimedRun> | null {
  if (mayRefuse(deps.canInvoke, agent.companyId) || issueIdOf(run) !== null || !configParses(deps, agent)) return null;
  // Decided at once, so that the claim is sent now, behind the inserts and ahead of the COMMIT.
  const session = decideRunSession(run.contextSnapshot, agent.runtimeConfig, sessions.rows.get(sessions.key));
  const traced = stepStart();
  return claimRuns(deps, tx, events, [{ agent, run, issue: null, readiness: null, session, material: NO_WAKE_MATERIAL }]).then(([claimed]) => {
    if (traced !== undefined) recordClaims(traced, [claimed.run]);
    return claimed;
  });
}

/** Whether the agent's adapter accepts its config: if not, execution/execute-run.ts fails the run before starting it. */
function configParses(deps: EngineDeps, agent: Agent): boolean {
  try {
    deps.adapters[agent.adapterType].parseConfig(agent.adapterConfig);
    return true;
  } catch {
    return false;
  }
}
