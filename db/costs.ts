// What runs cost, and the limits put on it (docs/engine.md §13, §14): projects that issues belong to,
// one cost event per run that used tokens or money, and budgets.
import { sql } from 'drizzle-orm';
import { bigint, check, doublePrecision, index, integer, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { pgTable } from './table.ts';
import { agents } from './agents.ts';
import { createdAt, primaryId, timestamptz, updatedAt } from './columns.ts';
import { companyRef } from './companies.ts';
import { billingTypeEnum, budgetPeriodEnum, budgetScopeEnum } from './enums.ts';

/** A group of issues that cost and budgets can be scoped to. */
export const projects = pgTable(
  'projects',
  {
    id: primaryId(),
    companyId: companyRef(),
    name: text().notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('projects_company_name_uq').on(t.companyId, t.name)],
);

/**
 * The cost ledger (§13.4): one row per run that used tokens or cost money, written in the same
 * statement as the run's terminal state. Its issue and project are the run's at that moment.
 */
export const costEvents = pgTable(
  'cost_events',
  {
    id: primaryId(),
    companyId: companyRef(),
    runId: uuid().notNull(),
    agentId: uuid()
      .notNull()
      .references(() => agents.id, { onDelete: 'cascade' }),
    issueId: uuid(),
    projectId: uuid(),
    provider: text(),
    biller: text().notNull(),
    billingType: billingTypeEnum().notNull(),
    model: text(),
    inputTokens: bigint({ mode: 'number' }).notNull().default(0),
    cachedInputTokens: bigint({ mode: 'number' }).notNull().default(0),
    outputTokens: bigint({ mode: 'number' }).notNull().default(0),
    costUsd: doublePrecision(),
    costCents: bigint({ mode: 'number' }).notNull().default(0),
    occurredAt: timestamptz().notNull(),
  },
  (t) => [
    uniqueIndex('cost_events_run_uq').on(t.runId),
    index('cost_events_company_occurred_idx').on(t.companyId, t.occurredAt),
    index('cost_events_agent_occurred_idx').on(t.agentId, t.occurredAt),
    index('cost_events_issue_idx').on(t.issueId).where(sql`${t.issueId} is not null`),
    index('cost_events_project_occurred_idx').on(t.projectId, t.occurredAt).where(sql`${t.projectId} is not null`),
  ],
);

/**
 * A spending limit (§14): per company, agent or project (scope_id is the company's own id for a
 * company budget), per calendar month (UTC) or for all time.
 */
export const budgets = pgTable(
  'budgets',
  {
    id: primaryId(),
    companyId: companyRef(),
    scope: budgetScopeEnum().notNull(),
    scopeId: uuid().notNull(),
    period: budgetPeriodEnum().notNull(),
    limitCents: bigint({ mode: 'number' }).notNull(),
    warnPercent: integer().notNull().default(80),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('budgets_scope_period_uq').on(t.companyId, t.scope, t.scopeId, t.period),
    check('budgets_limit_nonnegative', sql`${t.limitCents} >= 0`),
    check('budgets_warn_percent', sql`${t.warnPercent} between 1 and 100`),
  ],
);
