// Budgets (docs/engine.md §14): a limit in cents on what a company, an agent or a project spends in a
// calendar month (UTC) or for all time. Spending is the sum of the cost events in scope and period;
// at or past the limit the scope is blocked: its wakeups are refused (BudgetGate, the engine's
// canInvoke port) and, when a run's cost crosses the limit, its work on the way is cancelled.
import { and, eq, sql } from 'drizzle-orm';
import type { BudgetPeriod, BudgetScope } from '../../db/enums.ts';
import { agents, budgets } from '../../db/schema.ts';
import type { CanInvokePort, EngineDeps } from '../model/deps.ts';
import { badInput, HeartbeatError, notFound } from '../model/errors.ts';
import { executePrepared } from '../store/statements.ts';
import { findProject } from './projects.ts';

export type BudgetRow = typeof budgets.$inferSelect;
export type BudgetStatus = 'ok' | 'warning' | 'blocked';

export interface BudgetState extends BudgetRow {
  spentCents: number;
  status: BudgetStatus;
}

/** The refusal of a blocked scope, with the budget that blocks it. */
export interface BudgetBlock {
  budgetId: string;
  scope: BudgetScope;
  scopeId: string;
  period: BudgetPeriod;
  limitCents: number;
  spentCents: number;
}

/** The typed error of a wakeup in a blocked scope (`BUDGET_EXCEEDED`, the scope in `extensions`). */
export function budgetExceeded(block: BudgetBlock): HeartbeatError {
  return new HeartbeatError('BUDGET_EXCEEDED', blockedMessage(block), { ...block, reason: 'budget.blocked' });
}

export const blockedMessage = (block: BudgetBlock) =>
  `The ${block.scope} budget (${block.period === 'month' ? 'this month' : 'all time'}) is spent: ${block.spentCents} of ${block.limitCents} cents`;

/** A budget's status from its spending (pure). */
export function budgetStatus(limitCents: number, warnPercent: number, spentCents: number): BudgetStatus {
  if (spentCents >= limitCents) return 'blocked';
  return spentCents * 100 >= limitCents * warnPercent ? 'warning' : 'ok';
}

/** The spending of each budget of the company (optionally only those that cover an agent or project), one statement. */
async function budgetStates(deps: EngineDeps, companyId: string, covering?: { agentId: string; projectId: string | null }): Promise<BudgetState[]> {
  const coverage = covering
    ? sql`and (b.scope = 'company' or (b.scope = 'agent' and b.scope_id = ${covering.agentId}::uuid)
           or (b.scope = 'project' and b.scope_id = ${covering.projectId}::uuid))`
    : sql``;
  const rows = await executePrepared<Record<string, unknown> & { spent_cents: string | number }>(deps.db, sql`
    select b.*, coalesce((
      select sum(c.cost_cents) from cost_events c
      where c.company_id = b.company_id
        and (b.scope = 'company' or (b.scope = 'agent' and c.agent_id = b.scope_id) or (b.scope = 'project' and c.project_id = b.scope_id))
        and (b.period = 'all_time' or c.occurred_at >= date_trunc('month', ${deps.clock.now().toISOString()}::timestamptz at time zone 'UTC') at time zone 'UTC')
    ), 0) as spent_cents
    from budgets b where b.company_id = ${companyId}::uuid ${coverage}
    order by b.scope, b.created_at, b.id`);
  return rows.map((row) => {
    const budget: BudgetRow = {
      id: row.id as string,
      companyId: row.company_id as string,
      scope: row.scope as BudgetScope,
      scopeId: row.scope_id as string,
      period: row.period as BudgetPeriod,
      limitCents: Number(row.limit_cents),
      warnPercent: Number(row.warn_percent),
      createdAt: new Date(row.created_at as string),
      updatedAt: new Date(row.updated_at as string),
    };
    const spentCents = Number(row.spent_cents);
    return { ...budget, spentCents, status: budgetStatus(budget.limitCents, budget.warnPercent, spentCents) };
  });
}

export const listBudgets = (deps: EngineDeps, companyId: string) => budgetStates(deps, companyId);

export interface SetBudgetInput {
  companyId: string;
  scope: BudgetScope;
  /** The agent or project; the company's own id (or nothing) for a company budget. */
  scopeId?: string | null;
  period: BudgetPeriod;
  limitCents: number;
  warnPercent?: number | null;
}

/** Creates or replaces the budget of a scope and period; returns it with its spending. */
export async function setBudget(deps: EngineDeps, input: SetBudgetInput): Promise<BudgetState> {
  if (!Number.isSafeInteger(input.limitCents) || input.limitCents < 0) throw badInput('limitCents must be a whole number of cents, 0 or more', { field: 'limitCents' });
  const warnPercent = input.warnPercent ?? 80;
  if (!Number.isInteger(warnPercent) || warnPercent < 1 || warnPercent > 100) throw badInput('warnPercent must be a whole number from 1 to 100', { field: 'warnPercent' });
  const scopeId = await scopeIdOf(deps, input);
  const now = deps.clock.now();
  const [row] = await deps.db
    .insert(budgets)
    .values({ companyId: input.companyId, scope: input.scope, scopeId, period: input.period, limitCents: input.limitCents, warnPercent, createdAt: now, updatedAt: now })
    .onConflictDoUpdate({ target: [budgets.companyId, budgets.scope, budgets.scopeId, budgets.period], set: { limitCents: input.limitCents, warnPercent, updatedAt: now } })
    .returning();
  return (await budgetStates(deps, input.companyId)).find((state) => state.id === row.id)!;
}

/** Deletes a budget of the company; false when there was none. */
export async function deleteBudget(deps: EngineDeps, companyId: string, budgetId: string): Promise<boolean> {
  const removed = await deps.db.delete(budgets).where(and(eq(budgets.id, budgetId), eq(budgets.companyId, companyId))).returning({ id: budgets.id });
  return removed.length > 0;
}

async function scopeIdOf(deps: EngineDeps, input: SetBudgetInput): Promise<string> {
  if (input.scope === 'company') {
    if (input.scopeId && input.scopeId !== input.companyId) throw badInput('A company budget is the caller’s company: give no scopeId', { field: 'scopeId' });
    return input.companyId;
  }
  if (!input.scopeId) throw badInput(`A ${input.scope} budget needs the ${input.scope} as scopeId`, { field: 'scopeId' });
  if (input.scope === 'project') return (await findProject(deps.db, input.companyId, input.scopeId)).id;
  if (input.scope !== 'agent') throw badInput(`Unknown budget scope ${JSON.stringify(input.scope)}`, { field: 'scope' });
  const [agent] = await deps.db.select({ id: agents.id }).from(agents).where(and(eq(agents.id, input.scopeId), eq(agents.companyId, input.companyId)));
  if (!agent) throw notFound('Agent');
  return agent.id;
}

/**
 * §14.2: the budget that blocks work of this agent (on this issue's project), if any: the first
 * blocked one, company before agent before project.
 */
export async function blockingBudget(deps: EngineDeps, input: { companyId: string; agentId: string; issueId?: string | null }): Promise<BudgetBlock | null> {
  const projectId = input.issueId
    ? ((await deps.db.query.issues.findFirst({ where: { id: input.issueId, companyId: input.companyId }, columns: { projectId: true } }))?.projectId ?? null)
    : null;
  const blocked = (await budgetStates(deps, input.companyId, { agentId: input.agentId, projectId })).find((state) => state.status === 'blocked');
  return blocked
    ? { budgetId: blocked.id, scope: blocked.scope, scopeId: blocked.scopeId, period: blocked.period, limitCents: blocked.limitCents, spentCents: blocked.spentCents }
    : null;
}

/** How long the set of companies with budgets is trusted before it is read again (other instances' changes also arrive by NOTIFY). */
const BUDGETED_TTL_MS = 5_000;

/**
 * The engine's canInvoke port, backed by budgets (§14.2). Only companies that have a budget pay for
 * a check: the set of them is read at start, after each change here and on another instance's
 * notice, and again when older than a few seconds; until it is first read every company is checked.
 */
export class BudgetGate implements CanInvokePort {
  private budgeted: Set<string> | null = null;
  private readAt = 0;
  private reading: Promise<void> | null = null;

  constructor(private readonly deps: () => EngineDeps) {}

  mayRefuse(companyId: string): boolean {
    if (this.budgeted === null || Date.now() - this.readAt > BUDGETED_TTL_MS) void this.refresh().catch(() => {});
    return this.budgeted === null || this.budgeted.has(companyId);
  }

  /** Reads the set of companies with budgets again (one read at a time). */
  refresh(): Promise<void> {
    this.reading ??= (async () => {
      try {
        const rows = await this.deps().db.selectDistinct({ companyId: budgets.companyId }).from(budgets);
        this.budgeted = new Set(rows.map((row) => row.companyId));
        this.readAt = Date.now();
      } finally {
        this.reading = null;
      }
    })();
    return this.reading;
  }

  async check(input: { companyId: string; agentId: string; issueId?: string | null }): ReturnType<CanInvokePort['check']> {
    if (!this.mayRefuse(input.companyId)) return { allowed: true };
    const block = await blockingBudget(this.deps(), input);
    return block ? { allowed: false, reason: blockedMessage(block), block: { ...block } } : { allowed: true };
  }
}
