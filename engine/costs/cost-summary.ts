// Reading the cost ledger (docs/engine.md §13.5): sums of cost events over a time range, grouped by
// agent, issue, project, model, provider or UTC day; and the totals of one agent or one issue.
import { type SQL, sql } from 'drizzle-orm';
import type { EngineDeps } from '../model/deps.ts';
import { badInput } from '../model/errors.ts';
import { executePrepared } from '../store/statements.ts';

export const COST_GROUPS = ['agent', 'issue', 'project', 'model', 'provider', 'day'] as const;
export type CostGroup = (typeof COST_GROUPS)[number];

export interface CostFilter {
  from?: Date | null;
  to?: Date | null;
  agentId?: string | null;
  issueId?: string | null;
  projectId?: string | null;
}

export interface CostTotals {
  costCents: number;
  costUsd: number;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  runs: number;
}

export interface CostBucket extends CostTotals {
  agentId: string | null;
  issueId: string | null;
  projectId: string | null;
  model: string | null;
  provider: string | null;
  /** The UTC day, `YYYY-MM-DD`. */
  day: string | null;
}

/** Each group's column, as a bucket key. */
const GROUP_COLUMNS: Record<CostGroup, SQL> = {
  agent: sql`agent_id`,
  issue: sql`issue_id`,
  project: sql`project_id`,
  model: sql`model`,
  provider: sql`provider`,
  day: sql`to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD')`,
};

/** Most buckets one summary returns: a day-by-issue summary over years would otherwise be unbounded. */
export const COST_BUCKETS_MAX = 1_000;

const TOTALS = sql`coalesce(sum(cost_cents), 0)::bigint as cost_cents, coalesce(sum(cost_usd), 0)::float8 as cost_usd,
  coalesce(sum(input_tokens), 0)::bigint as input_tokens, coalesce(sum(cached_input_tokens), 0)::bigint as cached_input_tokens,
  coalesce(sum(output_tokens), 0)::bigint as output_tokens, count(*)::int as runs`;

type TotalsRow = { cost_cents: string | number; cost_usd: number; input_tokens: string | number; cached_input_tokens: string | number; output_tokens: string | number; runs: number };

const totalsOf = (row: TotalsRow): CostTotals => ({
  costCents: Number(row.cost_cents),
  costUsd: Number(row.cost_usd),
  inputTokens: Number(row.input_tokens),
  cachedInputTokens: Number(row.cached_input_tokens),
  outputTokens: Number(row.output_tokens),
  runs: Number(row.runs),
});

function whereOf(companyId: string, filter: CostFilter): SQL {
  if (filter.from && filter.to && filter.from > filter.to) throw badInput('from must not be after to', { field: 'from' });
  const parts = [sql`company_id = ${companyId}::uuid`];
  if (filter.from) parts.push(sql`occurred_at >= ${filter.from.toISOString()}::timestamptz`);
  if (filter.to) parts.push(sql`occurred_at < ${filter.to.toISOString()}::timestamptz`);
  if (filter.agentId) parts.push(sql`agent_id = ${filter.agentId}::uuid`);
  if (filter.issueId) parts.push(sql`issue_id = ${filter.issueId}::uuid`);
  if (filter.projectId) parts.push(sql`project_id = ${filter.projectId}::uuid`);
  return sql.join(parts, sql` and `);
}

/** §13.5: the company's cost events in the filter, summed per bucket of `groupBy` (none: one bucket), biggest first. */
export async function costSummary(deps: EngineDeps, companyId: string, filter: CostFilter, groupBy: readonly CostGroup[]): Promise<CostBucket[]> {
  const groups = [...new Set(groupBy)];
  for (const group of groups) if (!COST_GROUPS.includes(group)) throw badInput(`Unknown cost group ${JSON.stringify(group)}`, { field: 'groupBy' });
  const keys = COST_GROUPS.map((group) => (groups.includes(group) ? sql`${GROUP_COLUMNS[group]} as ${sql.raw(group)}` : sql`null as ${sql.raw(group)}`));
  const groupClause = groups.length > 0 ? sql`group by ${sql.join(groups.map((group) => GROUP_COLUMNS[group]), sql`, `)}` : sql``;
  const rows = await executePrepared<TotalsRow & Record<CostGroup, string | null>>(deps.db, sql`
    select ${sql.join(keys, sql`, `)}, ${TOTALS}
    from cost_events where ${whereOf(companyId, filter)}
    ${groupClause}
    order by cost_cents desc, runs desc${groups.length > 0 ? sql`, ${sql.join(groups.map((group) => sql.raw(group)), sql`, `)}` : sql``}
    limit ${COST_BUCKETS_MAX}`);
  return rows
    .filter((row) => groups.length > 0 || Number(row.runs) > 0)
    .map((row) => ({
      agentId: row.agent,
      issueId: row.issue,
      projectId: row.project,
      model: row.model,
      provider: row.provider,
      day: row.day,
      ...totalsOf(row),
    }));
}

/** The totals of the company's cost events in the filter (an agent's, an issue's). */
export async function costTotals(deps: EngineDeps, companyId: string, filter: CostFilter): Promise<CostTotals> {
  const [row] = await executePrepared<TotalsRow>(deps.db, sql`select ${TOTALS} from cost_events where ${whereOf(companyId, filter)}`);
  return totalsOf(row);
}
