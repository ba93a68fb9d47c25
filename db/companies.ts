import { integer, text, uuid } from 'drizzle-orm/pg-core';
import { pgTable } from './table.ts';
import { createdAt, primaryId, updatedAt } from './columns.ts';

/** The tenant. Every other row belongs to exactly one company. */
export const companies = pgTable('companies', {
  id: primaryId(),
  name: text().notNull(),
  /** Prefix of human issue identifiers (`HB-12`). */
  issuePrefix: text().notNull().default('HB'),
  /** Last issue number handed out; incremented atomically by createIssue. */
  issueCounter: integer().notNull().default(0),
  /**
   * The company's number among companies, for the user its agents run as when the server runs as
   * root (HEARTBEAT_AGENT_UID_BASE + this): two companies' agents are never the same user.
   */
  agentSlot: integer().notNull().generatedByDefaultAsIdentity(),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/** The owning company of a row: deleting the company deletes the row. */
export const companyRef = () =>
  uuid()
    .notNull()
    .references(() => companies.id, { onDelete: 'cascade' });
