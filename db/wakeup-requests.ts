import { sql } from 'drizzle-orm';
import { index, integer, jsonb, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { pgTable } from './table.ts';
import { agents } from './agents.ts';
import { createdAt, primaryId, timestamptz, updatedAt } from './columns.ts';
import { companyRef } from './companies.ts';
import { actorTypeEnum, triggerDetailEnum, wakeupSourceEnum, wakeupStatusEnum } from './enums.ts';

/** Every wakeup ever asked for, whatever became of it (engine-spec §1, agent_wakeup_requests). */
export const wakeupRequests = pgTable(
  'agent_wakeup_requests',
  {
    id: primaryId(),
    companyId: companyRef(),
    agentId: uuid()
      .notNull()
      .references(() => agents.id, { onDelete: 'cascade' }),
    source: wakeupSourceEnum().notNull(),
    triggerDetail: triggerDetailEnum(),
    reason: text(),
    payload: jsonb().$type<Record<string, unknown>>(),
    status: wakeupStatusEnum().notNull().default('queued'),
    coalescedCount: integer().notNull().default(0),
    requestedByActorType: actorTypeEnum(),
    requestedByActorId: text(),
    idempotencyKey: text(),
    /**
     * The run this wakeup became or was folded into. Deliberately no FK (engine-spec §1), and no
     * index: nothing looks wakeups up by their run, and every wakeup write would pay for one.
     */
    runId: uuid(),
    requestedAt: timestamptz().notNull().defaultNow(),
    claimedAt: timestamptz(),
    finishedAt: timestamptz(),
    error: text(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  // No index names `status` (nor the other columns a wakeup's claim and finish change), so those
  // two updates are HOT: the row's new version goes on the same page and writes no index entries.
  // The lookups by status all name an issue (deferred wakeups) and go through its index below.
  (t) => [
    index('wakeups_company_requested_idx').on(t.companyId, t.requestedAt),
    index('wakeups_agent_requested_idx').on(t.agentId, t.requestedAt),
    // Only wakeups about an issue: every lookup names one, and the rest never write an entry here.
    index('wakeups_payload_issue_idx')
      .on(sql`(${t.payload}->>'issueId')`)
      .where(sql`(${t.payload}->>'issueId') is not null`),
    // Decisions 5: idempotency keys are enforced per (company, agent, key).
    uniqueIndex('wakeups_idempotency_uq')
      .on(t.companyId, t.agentId, t.idempotencyKey)
      .where(sql`${t.idempotencyKey} is not null`),
  ],
);
