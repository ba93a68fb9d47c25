// The cost ledger (docs/engine.md §13.4), as the finish writes it: one cost event per run that used
// tokens or cost money, in the finish's own statement (with the terminal state, for one run or a
// batch), and the run's usage as stored on its row. The rules are rules/costs.ts.
import { sql } from 'drizzle-orm';
import type { AdapterResult } from '../adapters/types.ts';
import { billedCents, normalizeUsage, type RunUsage, sessionDelta, type TokenCounts, usageIsCumulative, usedAnything } from '../rules/costs.ts';
import { executePrepared, iso, json, type StatementTarget } from '../store/statements.ts';
import type { RunRow } from '../model/runs.ts';

/** What a finished run used (null: nothing said) and what it is billed. */
export interface RunCost {
  usage: RunUsage | null;
  cents: number;
}

/** The previous totals of the sessions whose runs report running totals (§13.2), by session label. */
export type SessionTotals = Map<string, TokenCounts & { costUsd: number | null }>;

/** Whether the result reports its session's running totals: then the finish reads the previous run's (sessionTotals). */
export const reportsSessionTotals = (result: AdapterResult) => result.usage != null && usageIsCumulative({ usage: result.usage });

/**
 * The previous raw totals of each session, from the latest finished run that left it (its `raw`
 * figures, else its own): read only for runs whose usage is cumulative.
 */
export async function sessionTotals(tx: StatementTarget, runs: Array<{ run: RunRow; session: string }>): Promise<SessionTotals> {
  if (runs.length === 0) return new Map();
  const input = runs.map(({ run, session }) => ({ run_id: run.id, agent_id: run.agentId, session }));
  const rows = await executePrepared<{ session: string; usage: Record<string, unknown> | null }>(tx, sql`
    select i.session, p.usage_json as usage
    from jsonb_to_recordset(${json(input)}::jsonb) as i(run_id uuid, agent_id uuid, session text)
    cross join lateral (
      select r.usage_json from heartbeat_runs r
      where r.agent_id = i.agent_id and r.session_id_after = i.session and r.id <> i.run_id and r.finished_at is not null
      order by r.created_at desc limit 1
    ) p`);
  const totals: SessionTotals = new Map();
  for (const { session, usage } of rows) {
    const figures = (usage?.raw as Record<string, unknown> | undefined) ?? usage ?? {};
    const count = (key: string) => (typeof figures[key] === 'number' ? (figures[key] as number) : 0);
    totals.set(session, {
      inputTokens: count('inputTokens'),
      cachedInputTokens: count('cachedInputTokens'),
      outputTokens: count('outputTokens'),
      costUsd: typeof figures.costUsd === 'number' ? figures.costUsd : null,
    });
  }
  return totals;
}

/** §13.1-13.3: a run's usage from its result (its share of the session's totals when they are cumulative), and its cents. */
export function runCostOf(result: AdapterResult, previous: (TokenCounts & { costUsd: number | null }) | null): RunCost {
  const fields = { usage: result.usage ?? null };
  const read = normalizeUsage(fields);
  const usage = read ? sessionDelta(read, previous, usageIsCumulative(fields)) : null;
  return { usage, cents: usage ? billedCents(usage) : 0 };
}

/** The usage a run's row stores: what the agent reported, with the figures the ledger counted. */
export function storedUsage(reported: Record<string, unknown> | null | undefined, cost: RunCost): Record<string, unknown> | null {
  if (!cost.usage) return reported ?? null;
  const { raw, usageSource, ...figures } = cost.usage;
  return { ...(reported ?? {}), ...figures, costCents: cost.cents, ...(raw ? { raw, usageSource } : {}) };
}

/** A cost event to write for a finished run (§13.4). */
export interface CostEventRow {
  run_id: string;
  company_id: string;
  agent_id: string;
  issue_id: string | null;
  context_project_id: string | null;
  provider: string | null;
  biller: string;
  billing_type: string;
  model: string | null;
  input_tokens: number;
  cached_input_tokens: number;
  output_tokens: number;
  cost_usd: number | null;
  cost_cents: number;
}

/** The cost event of a finished run, or null when it used nothing. Its issue is the context's. */
export function costEventOf(run: RunRow, cost: RunCost): CostEventRow | null {
  if (!usedAnything(cost.usage)) return null;
  const usage = cost.usage!;
  const ctx = run.contextSnapshot;
  const issueId = run.issueId ?? (typeof ctx.issueId === 'string' ? ctx.issueId : null);
  return {
    run_id: run.id,
    company_id: run.companyId,
    agent_id: run.agentId,
    issue_id: issueId,
    context_project_id: typeof ctx.projectId === 'string' ? ctx.projectId : null,
    provider: usage.provider,
    biller: usage.biller,
    billing_type: usage.billingType,
    model: usage.model,
    input_tokens: usage.inputTokens,
    cached_input_tokens: usage.cachedInputTokens,
    output_tokens: usage.outputTokens,
    cost_usd: usage.costUsd,
    cost_cents: cost.cents,
  };
}

/**
 * The finish statement's part that writes cost events: nothing when no run used anything. The
 * project is the issue's, else the context's (when it names a project of the run's company). A run
 * is billed once: its event is never written twice.
 */
export function costEventStatements(rows: CostEventRow[], now: Date) {
  if (rows.length === 0) return sql``;
  return sql`, cost_input as (
      select * from jsonb_to_recordset(${json(rows)}::jsonb) as c(run_id uuid, company_id uuid, agent_id uuid, issue_id uuid, context_project_id uuid,
        provider text, biller text, billing_type billing_type, model text, input_tokens bigint, cached_input_tokens bigint, output_tokens bigint,
        cost_usd double precision, cost_cents bigint)
    ), cost_events_written as (
      insert into cost_events (company_id, run_id, agent_id, issue_id, project_id, provider, biller, billing_type, model,
        input_tokens, cached_input_tokens, output_tokens, cost_usd, cost_cents, occurred_at)
      select c.company_id, c.run_id, c.agent_id, i.id,
        coalesce(i.project_id, (select p.id from projects p where p.id = c.context_project_id and p.company_id = c.company_id)),
        c.provider, c.biller, c.billing_type, c.model, c.input_tokens, c.cached_input_tokens, c.output_tokens, c.cost_usd, c.cost_cents,
        ${iso(now)}::timestamptz
      from cost_input c left join issues i on i.id = c.issue_id and i.company_id = c.company_id
      where exists (select 1 from agents a where a.id = c.agent_id)
      on conflict (run_id) do nothing
      returning run_id
    )`;
}
