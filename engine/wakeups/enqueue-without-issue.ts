// enqueueWakeup without an issue (spec §6.1 step 4): serialised per agent by its advisory lock, the
// request folds into the run of its task scope already on its way (coalesced) or becomes a queued
// run, which the engine may claim and start in the same transaction (claim.ts claimNewRun).
// A request that brings a running run something it did not receive becomes that run's follow-up
// (runs/queue.ts needsFollowup): a new queued run, which the requests after it join.
// The common case (a new run, nothing to coalesce into, no gate in the way) has a pipelined path
// of two round trips, whether or not the run is claimed at once; every other case goes the general
// way, through drizzle's transaction.
import { hostAdapterRefusalToRun } from '../rules/host-adapters.ts';
import type postgres from 'postgres';
import { AGENT_LOCK_NAMESPACE } from '../cluster/agent-locks.ts';
import type { ClaimedRun } from '../runs/claim.ts';
import { claimNewRun } from '../runs/claim.ts';
import { type EngineDeps, mayRefuse, transact } from '../model/deps.ts';
import { pipelinedTransaction } from '../store/pipelined-transaction.ts';
import { isInvokable, readHeartbeatPolicy } from '../rules/heartbeat-policy.ts';
import { agentRowFromDriver, connectionOf, runRowFromDriver, type StatementTarget } from '../store/statements.ts';
import { type WakeContext, wakeScopeKey } from '../rules/wake-context.ts';
import { readRunSessions } from '../runs/task-sessions.ts';
import {
  type Agent,
  coalesceInto,
  createQueuedRun,
  type EnqueueResult,
  type EnqueueWakeupInput,
  needsFollowup,
  PREPARED,
  type PreparedWakeup,
} from '../runs/queue.ts';

type Enqueued = EnqueueResult & { claimed?: ClaimedRun };

/** The general way: coalescing, gates and all (spec §6.1 step 4). */
export async function enqueueWithoutIssue(deps: EngineDeps, p: PreparedWakeup, claim: boolean): Promise<Enqueued> {
  return transact(deps, async (tx, events) => {
    // The session read goes first: it needs no lock, so the agent's lock is not held while it runs.
    const sessions = claim ? sessionsOfNewRun(tx, p.agent.companyId, p.agent.id, p.ctx) : null;
    const reads = startScopeReads(connectionOf(tx), p.agent.id, p.agent.companyId, wakeScopeKey(p.ctx), claim ? 'slot' : null);
    const [, [raw], slotRow, sessionRows] = await Promise.all([reads.locked, reads.picked, reads.agent, sessions]);
    const found = raw ? runRowFromDriver(raw) : null;
    if (found && !needsFollowup(p, found)) {
      const { wake, run } = await coalesceInto(tx, p, found, p.input.reason ?? null);
      return { outcome: 'coalesced', wakeupRequest: wake, run, startAgentId: null };
    }
    // A new run; when `found` is running, the follow-up that receives what it did not (QUEUED).
    // Later wakeups of the scope find it queued, ahead of the running run, and join it.
    const agent = slotRow ? freeSlot(deps, slotRow) : null;
    return createQueuedRun(tx, events, p, null, agent && sessionRows ? (run, claimEvents) => claimNewRun(deps, tx, claimEvents, agent, run, sessionRows) : null);
  });
}

/**
 * The session read for the run a wakeup may create and claim at once (claim.ts claimNewRun), sent
 * with the first reads: its answer is in before the claim is written, at no round trip of its own.
 */
async function sessionsOfNewRun(tx: StatementTarget, companyId: string, agentId: string, context: WakeContext) {
  return { rows: await readRunSessions(tx, [{ key: NEW_RUN, companyId, agentId, context, issueId: null }]), key: NEW_RUN };
}
const NEW_RUN = 'new';

/**
 * The common case in two round trips (pipelined-transaction.ts): BEGIN, the agent's lock, the
 * scope's run and the agent's row (with its queue, when `claim`) go out together; the new wakeup
 * and run, their claim (when asked for and a slot is free) and COMMIT go out together. Only for a
 * request the general way would turn into a new queued run, with the same rows: no idempotency
 * key, the default canInvoke port, an agent that exists, can be invoked and is woken on demand,
 * and no run of the same task scope on its way (one that is running, which may need a follow-up,
 * included: whether it does is the general way's to decide). Anything else rolls back and answers
 * null, and the caller goes the general way.
 */
export async function enqueuePipelined(
  deps: EngineDeps,
  input: EnqueueWakeupInput,
  prepare: (agent: Agent) => PreparedWakeup,
  scopeKey: string | null,
  claim: boolean,
  context: WakeContext,
): Promise<Enqueued | null> {
  if (input.idempotencyKey || mayRefuse(deps.canInvoke, input.companyId)) return null;
  return pipelinedTransaction(deps, async (tx, events) => {
    // The session read goes first: it needs no lock, so the agent's lock is not held while it runs.
    const sessions = claim ? sessionsOfNewRun(tx, input.companyId, input.agentId, context) : null;
    const reads = startScopeReads(connectionOf(tx), input.agentId, input.companyId, scopeKey, claim ? 'slot' : 'agent');
    const [, [picked], agentRow, sessionRows] = await Promise.all([reads.locked, reads.picked, reads.agent, sessions]);
    if (!agentRow || picked) return null;
    const p = prepare(agentRowFromDriver(agentRow));
    const policy = readHeartbeatPolicy(p.agent.runtimeConfig, deps.settings);
    const woken = p.source === 'timer' ? policy.enabled : policy.wakeOnDemand;
    // A refusal of the host-adapter settings is the general way's to store and answer.
    if (!isInvokable(p.agent.status) || !woken || hostAdapterRefusalToRun(deps.settings.hostAdapters, p.agent.adapterType, p.agent.adapterConfig)) return null;
    const agent = claim ? freeSlot(deps, agentRow) : null;
    const created = createQueuedRun(tx, events, p, null, agent && sessionRows ? (run, claimEvents) => claimNewRun(deps, tx, claimEvents, agent, run, sessionRows) : null);
    const [result] = await Promise.all([created, tx.commit()]);
    return result;
  });
}

/**
 * Three statements sent at once, run by the server one after the other: the agent's lock; the run
 * of the same task scope a wakeup folds into (the oldest queued one, else the oldest scheduled
 * retry, else the newest running one; only that row is locked), read after the lock was granted;
 * and the agent's row. For a run that may be claimed at once (`slot`), the row comes with the
 * agent's queue and is locked, last, so that nothing holding the agent's row ever waits here for
 * the run row the pick locks; it is locked before the new rows that reference it are written, as
 * taking it after their foreign-key share lock would be an upgrade another waiter could deadlock
 * with. `agent` reads the row without a lock; null reads none.
 */
function startScopeReads(
  connection: postgres.TransactionSql,
  agentId: string,
  companyId: string,
  scopeKey: string | null,
  agentRead: 'slot' | 'agent' | null,
) {
  const locked = connection.unsafe('select pg_advisory_xact_lock($1, hashtext($2))', [AGENT_LOCK_NAMESPACE, agentId], PREPARED).execute();
  const picked = connection
    .unsafe<Record<string, unknown>[]>(
      `select * from heartbeat_runs
       where agent_id = $1 and status in ('queued', 'scheduled_retry', 'running')
         and coalesce(context_snapshot->>'taskKey', context_snapshot->>'taskId', context_snapshot->>'issueId') is not distinct from $2::text
       order by case status when 'queued' then 0 when 'scheduled_retry' then 1 else 2 end,
                case when status = 'running' then -extract(epoch from created_at) else extract(epoch from created_at) end
       limit 1
       for update`,
      [agentId, scopeKey],
      PREPARED,
    )
    .execute();
  const statement =
    agentRead === 'slot'
      ? `select a.*,
           (select count(*) from heartbeat_runs r where r.agent_id = a.id and r.status = 'running')::int as hb_running,
           (select count(*) from heartbeat_runs r where r.agent_id = a.id and r.status = 'queued')::int as hb_queued
         from agents a where a.id = $1 and a.company_id = $2
         for no key update of a`
      : 'select * from agents where id = $1 and company_id = $2';
  const agent = agentRead
    ? connection
        .unsafe<Record<string, unknown>[]>(statement, [agentId, companyId], PREPARED)
        .execute()
        .then(([row]) => row ?? null)
    : Promise.resolve(null);
  return { locked, picked, agent };
}

/**
 * The agent, from its row and queue as startScopeReads read them under its lock, when one more
 * run of it may start right now: it can be invoked, nothing of it is queued, and fewer runs than
 * its limit are running; null otherwise.
 */
function freeSlot(deps: EngineDeps, row: Record<string, unknown>): Agent | null {
  const agent = agentRowFromDriver(row);
  if (!isInvokable(agent.status) || Number(row.hb_queued) > 0) return null;
  return Number(row.hb_running) < readHeartbeatPolicy(agent.runtimeConfig, deps.settings).maxConcurrentRuns ? agent : null;
}
