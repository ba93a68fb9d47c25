// The claim (docs/engine.md §6.2, §6.3): queued runs become running under their agent's limit. One
// transaction for any number of agents, under their advisory locks: count each agent's running
// runs, lock its first queued runs in claim order, cancel those a gate stops, and claim the rest
// in one statement, which also takes the issue lock, checks the issue out and starts the run. No
// instance can claim for the agent meanwhile, so the limit holds exactly across instances. Runs
// with and without an issue go through the same statements.
import { sql } from 'drizzle-orm';
import type { Transaction } from '../../db/client.ts';
import { agentAdvisoryLocks } from '../cluster/agent-locks.ts';
import { claimGate, type Gate } from '../rules/claim-gates.ts';
import { lockCandidates } from './claim-order.ts';
import { cancelBeforeStart } from './cancel.ts';
import { withOutageRetry } from '../store/database-retry.ts';
import { isDatabaseUnavailable } from '../store/database-unavailable.ts';
import { type EngineDeps, mayRefuse, transact } from '../model/deps.ts';
import { issueReadiness } from './issue-readiness.ts';
import { type IssueReadiness } from '../model/issues.ts';
import type { LiveEvent } from '../live/live-events.ts';
import { isInvokable, readHeartbeatPolicy } from '../rules/heartbeat-policy.ts';
import { agentRowFromDriver, executePrepared, issueRowFromDriver, type StatementTarget, uuidArray } from '../store/statements.ts';
import { type Agent, type ClaimedRun, type ClaimItem, claimRuns, configParses } from './claim-statement.ts';
import type { IssueRow, RunRow } from '../model/runs.ts';
import { decideRunSession, decideRunSessions, type SessionRows } from './task-sessions.ts';
import { NO_WAKE_MATERIAL, readWakeMaterial } from './wake-material.ts';
import { recordClaims, stepStart } from '../telemetry/tracing.ts';

interface Plan {
  agent: Agent;
  slots: number;
}

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

export async function claimNextRunsForAgent(deps: EngineDeps, agentId: string, options: ClaimOptions = {}): Promise<ClaimedRun[]> {
  return (await claimNextRunsForAgents(deps, [agentId], options))[0];
}

export interface ClaimOptions {
  /**
   * After the commit: the agents for which queued runs were left behind because another
   * transaction held them (claim-order.ts lockCandidates). Their holder may never claim for them,
   * so the caller claims for these agents again.
   */
  onSkipped?(agentIds: string[]): void;
}

/**
 * startNextQueuedRunForAgent for several agents in one transaction (the engine batches the agents
 * whose queues changed at about the same time). Each agent is claimed exactly as on its own: its
 * lock, its running count, its candidates in order, its gates. Returns the claims per agent id given.
 */
export async function claimNextRunsForAgents(
  deps: EngineDeps,
  agentIds: readonly string[],
  options: ClaimOptions = {},
): Promise<ClaimedRun[][]> {
  const unique = [...new Set(agentIds)];
  const traced = stepStart();
  // What the transaction did, once its work is done: if its COMMIT then gets no answer, whether it
  // committed is read back by the claims' run tokens (claimCommitted).
  let done: { byAgent: Map<string, ClaimedRun[]>; events: LiveEvent[] } | null = null;
  const skipped = new Set<string>();
  const claim = transact(deps, async (tx, events) => {
    skipped.clear();
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
      const { byAgent: candidates, skipped: skippedNow } = await lockCandidates(tx, plans);
      for (const id of skippedNow) skipped.add(id);
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
  if (skipped.size > 0) options.onSkipped?.([...skipped]);
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

export type { ClaimedRun, RunStart } from './claim-statement.ts';
