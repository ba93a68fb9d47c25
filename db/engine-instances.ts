import { index, integer, text } from 'drizzle-orm/pg-core';
import { pgTable } from './table.ts';
import { primaryId, timestamptz } from './columns.ts';

/**
 * One row per running engine instance. The instance renews `lease_expires_at` every beat; a row
 * whose lease lapsed belongs to a dead instance, and any live instance reaps its runs
 * (Decisions 9). Not company-scoped: instances serve every company.
 */
export const engineInstances = pgTable(
  'engine_instances',
  {
    id: primaryId(),
    host: text().notNull(),
    pid: integer().notNull(),
    version: text(),
    startedAt: timestamptz().notNull().defaultNow(),
    heartbeatAt: timestamptz().notNull().defaultNow(),
    leaseExpiresAt: timestamptz().notNull(),
    stoppedAt: timestamptz(),
  },
  (t) => [index('engine_instances_lease_idx').on(t.leaseExpiresAt)],
);
