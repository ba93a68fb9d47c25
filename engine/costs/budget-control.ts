// Budgets as the engine applies them (docs/engine.md §14): the admin's changes, told to every
// instance, and the stop of a scope's work once a run spends past a limit (§14.3). The rules and
// the gate that refuses wakeups are in budgets.ts; this file is what happens when they say no.
import { sql } from 'drizzle-orm';
import type { BudgetScope } from '../../db/enums.ts';
import { CONTROL_CHANNEL, type ControlMessage } from '../cluster/control-listeners.ts';
import { type EngineDeps, mayRefuse } from '../model/deps.ts';
import type { RunRow } from '../model/runs.ts';
import type { RunScope } from '../runs/cancel.ts';
import { type BudgetGate, blockingBudget, deleteBudget, listBudgets, setBudget, type SetBudgetInput } from './budgets.ts';

/** Cancels a scope's active runs (the engine's cancelActiveInScope). */
export type CancelScope = (scope: RunScope, reason: string, stopReason: string) => Promise<unknown>;

export class BudgetControl {
  constructor(
    private readonly deps: () => EngineDeps,
    private readonly gate: BudgetGate,
    private readonly cancelScope: CancelScope,
  ) {}

  list(companyId: string) {
    return listBudgets(this.deps(), companyId);
  }

  async set(input: SetBudgetInput) {
    const budget = await setBudget(this.deps(), input);
    await this.changed();
    // A limit set at or below what the scope spent blocks it at once, as crossing it does.
    if (budget.status === 'blocked') await this.stopScope(budget);
    return budget;
  }

  async delete(companyId: string, budgetId: string) {
    const removed = await deleteBudget(this.deps(), companyId, budgetId);
    if (removed) await this.changed();
    return removed;
  }

  /** §14.3: after a run that cost money, each budget it spent past its limit stops its scope's work. */
  async enforceAfterSpend(run: RunRow): Promise<void> {
    const deps = this.deps();
    if (!mayRefuse(deps.canInvoke, run.companyId) || deps.canInvoke !== this.gate) return;
    const issueId = run.issueId ?? (typeof run.contextSnapshot.issueId === 'string' ? run.contextSnapshot.issueId : null);
    const block = await blockingBudget(deps, { companyId: run.companyId, agentId: run.agentId, issueId });
    if (block) await this.stopScope(block);
  }

  /** Tells every instance (this one at once) that a company's budgets changed. */
  private async changed(): Promise<void> {
    const message: ControlMessage = { kind: 'budgets-changed' };
    await this.deps().db.execute(sql`select pg_notify(${CONTROL_CHANNEL}, ${JSON.stringify(message)})`);
    await this.gate.refresh();
  }

  private async stopScope(budget: { scope: BudgetScope; scopeId: string; companyId?: string }): Promise<void> {
    const companyId = budget.companyId ?? (budget.scope === 'company' ? budget.scopeId : null);
    if (!companyId) return;
    const scope: RunScope =
      budget.scope === 'company' ? { companyId } : budget.scope === 'agent' ? { companyId, agentId: budget.scopeId } : { companyId, projectId: budget.scopeId };
    await this.cancelScope(scope, 'Cancelled due to budget pause', 'budget_paused');
  }
}
