// Budgets (docs/engine.md §14): a limit in cents on what the company, an agent or a project spends in
// a calendar month (UTC) or for all time. Any key reads them; only admin keys change them.
import { badInput, type Engine, HeartbeatError, notFound } from '../engine/index.ts';
import { AgentRef } from './agent.ts';
import { builder } from './builder.ts';
import { CompanyRef } from './company.ts';
import { BudgetPeriodEnum, BudgetScopeEnum, BudgetStatusEnum } from './enums.ts';
import { encodeGlobalId } from './global-id.ts';
import { ProjectRef } from './projects.ts';
import { apiKeyOf, companyIdOf } from './tenancy.ts';

type BudgetState = Awaited<ReturnType<Engine['budgets']['list']>>[number];
type Scope = BudgetState['scope'];

/** The node type of each scope's id. */
const SCOPE_TYPENAMES: Record<Scope, 'Company' | 'Agent' | 'Project'> = { company: 'Company', agent: 'Agent', project: 'Project' };

export const BudgetRef = builder.objectRef<BudgetState>('Budget').implement({
  description: "A limit on a scope's spending in a period, and what it has spent so far.",
  fields: (t) => ({
    id: t.id({ description: 'Its global id (for deleteBudget).', resolve: (budget) => encodeGlobalId('Budget', budget.id) }),
    scope: t.expose('scope', { type: BudgetScopeEnum }),
    scopeId: t.id({
      nullable: true,
      description: "The agent's or project's global id; your company's for COMPANY.",
      resolve: (budget) => encodeGlobalId(SCOPE_TYPENAMES[budget.scope], budget.scopeId),
    }),
    period: t.expose('period', { type: BudgetPeriodEnum }),
    limitCents: t.exposeInt('limitCents'),
    warnPercent: t.exposeInt('warnPercent', { description: 'WARNING from this percentage of the limit on.' }),
    spentCents: t.exposeInt('spentCents', { description: "The scope's billed cents in the period (this month, or all time)." }),
    status: t.expose('status', { type: BudgetStatusEnum }),
  }),
});

const SetBudgetInput = builder.inputType('SetBudgetInput', {
  fields: (t) => ({
    scope: t.field({ type: BudgetScopeEnum, required: true }),
    scopeId: t.globalID({ for: [AgentRef, ProjectRef, CompanyRef], description: 'The agent (AGENT) or project (PROJECT); none, or your company, for COMPANY.' }),
    period: t.field({ type: BudgetPeriodEnum, required: true }),
    limitCents: t.int({ required: true, description: '0 or more; at or below what the scope spent, it is blocked at once.' }),
    warnPercent: t.int({ description: '1 to 100; without it 80, also when the budget is set again.' }),
  }),
});

/** The raw id of the budget's scope: a global id of the scope's own type, in the caller's company. */
function scopeIdOf(scope: Scope, scopeId: { typename: string; id: string } | null | undefined, companyId: string): string | null {
  if (!scopeId) return null; // the engine says what is missing
  const expected = SCOPE_TYPENAMES[scope];
  if (scopeId.typename !== expected) throw badInput(`scopeId must be ${expected === 'Agent' ? 'an' : 'a'} ${expected} id for a ${scope} budget`, { field: 'scopeId' });
  // Another company is not found, like its agents and projects.
  if (scope === 'company' && scopeId.id !== companyId) throw notFound('Company');
  return scopeId.id;
}

/**
 * A BUDGET_EXCEEDED refusal with the API's ids: the engine names the budget and its scope by their
 * raw ids; clients look them up by global id. Any other error passes unchanged.
 */
export function withApiIds(error: unknown): unknown {
  if (!(error instanceof HeartbeatError) || error.code !== 'BUDGET_EXCEEDED' || !error.details) return error;
  const { budgetId, scope, scopeId } = error.details as { budgetId?: string; scope?: Scope; scopeId?: string };
  if (!budgetId || !scope || !scopeId || !SCOPE_TYPENAMES[scope]) return error;
  return new HeartbeatError('BUDGET_EXCEEDED', error.message, {
    ...error.details,
    budgetId: encodeGlobalId('Budget', budgetId),
    scopeId: encodeGlobalId(SCOPE_TYPENAMES[scope], scopeId),
  });
}

/** For a wakeup's `.catch`: throws the error, a refusal by a budget with the API's ids. */
export const rethrowWithApiIds = (error: unknown): never => {
  throw withApiIds(error);
};

builder.queryFields((t) => ({
  budgets: t.field({
    type: [BudgetRef],
    description: "The company's budgets with their spending and status: company, then agents, then projects.",
    resolve: (_root, _args, ctx) => ctx.engine.budgets.list(companyIdOf(ctx)),
  }),
}));

builder.mutationFields((t) => ({
  setBudget: t.field({
    type: BudgetRef,
    description:
      "Sets the budget of a scope and period, replacing its limit and warnPercent if it has one (admin keys only). At or past the limit the scope is BLOCKED: its wakeups are refused with BUDGET_EXCEEDED and its queued, running and scheduled-retry runs are cancelled.",
    args: { input: t.arg({ type: SetBudgetInput, required: true }) },
    resolve: (_root, { input }, ctx) => {
      const companyId = apiKeyOf(ctx, 'admin').companyId;
      return ctx.engine.budgets.set({
        companyId,
        scope: input.scope,
        scopeId: scopeIdOf(input.scope, input.scopeId, companyId),
        period: input.period,
        limitCents: input.limitCents,
        warnPercent: input.warnPercent,
      });
    },
  }),
  deleteBudget: t.field({
    type: 'Boolean',
    description: 'Deletes a budget (admin keys only): true once deleted; NOT_FOUND when your company has no such budget. Its scope is no longer limited by it.',
    args: { id: t.arg.globalID({ required: true, for: [BudgetRef] }) },
    resolve: async (_root, { id }, ctx) => {
      if (!(await ctx.engine.budgets.delete(apiKeyOf(ctx, 'admin').companyId, id.id))) throw notFound('Budget');
      return true;
    },
  }),
}));
