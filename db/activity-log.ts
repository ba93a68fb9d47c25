import { index, jsonb, text, uuid } from 'drizzle-orm/pg-core';
import { pgTable } from './table.ts';
import { createdAt, primaryId } from './columns.ts';
import { companyRef } from './companies.ts';
import { actorTypeEnum } from './enums.ts';

/** Audit trail of actions; rows carrying a `run_id` are liveness evidence (engine-spec §6.7). */
export const activityLog = pgTable(
  'activity_log',
  {
    id: primaryId(),
    companyId: companyRef(),
    actorType: actorTypeEnum().notNull(),
    actorId: text(),
    action: text().notNull(),
    entityType: text().notNull(),
    entityId: uuid(),
    runId: uuid(),
    agentId: uuid(),
    details: jsonb().$type<Record<string, unknown>>(),
    createdAt: createdAt(),
  },
  (t) => [
    index('activity_run_idx').on(t.runId),
    index('activity_entity_idx').on(t.companyId, t.entityType, t.entityId),
  ],
);
