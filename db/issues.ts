import { sql } from 'drizzle-orm';
import { check, index, integer, jsonb, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { pgTable } from './table.ts';
import { agents } from './agents.ts';
import { createdAt, primaryId, timestamptz, updatedAt } from './columns.ts';
import { companyRef } from './companies.ts';
import { issuePriorityEnum, issueStatusEnum } from './enums.ts';

/**
 * Work items agents are woken for. The execution lock (`execution_run_id`, name key, locked-at)
 * says which run currently owns the issue's execution (engine-spec §1, "Lock").
 */
export const issues = pgTable(
  'issues',
  {
    id: primaryId(),
    companyId: companyRef(),
    /** Human identifier such as `HB-12`, unique within the company. */
    identifier: text().notNull(),
    title: text().notNull(),
    description: text(),
    status: issueStatusEnum().notNull().default('todo'),
    priority: issuePriorityEnum().notNull().default('medium'),
    assigneeAgentId: uuid().references(() => agents.id, { onDelete: 'set null' }),
    assigneeUserId: text(),
    /** Set by checkout; never moved by the engine. */
    checkoutRunId: uuid(),
    executionRunId: uuid(),
    executionAgentNameKey: text(),
    executionLockedAt: timestamptz(),
    /** Review state; `currentParticipant` names the agent whose turn it is. */
    executionState: jsonb().$type<Record<string, unknown>>(),
    originKind: text().notNull().default('manual'),
    projectId: uuid(),
    hiddenAt: timestamptz(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('issues_company_identifier_uq').on(t.companyId, t.identifier),
    index('issues_company_status_idx').on(t.companyId, t.status),
    index('issues_assignee_agent_idx').on(t.assigneeAgentId),
    index('issues_execution_run_idx').on(t.executionRunId),
    check(
      'issues_single_assignee',
      sql`${t.assigneeAgentId} is null or ${t.assigneeUserId} is null`,
    ),
  ],
);

/** `issue_id` blocks `related_issue_id`. */
export const issueRelations = pgTable(
  'issue_relations',
  {
    id: primaryId(),
    companyId: companyRef(),
    issueId: uuid()
      .notNull()
      .references(() => issues.id, { onDelete: 'cascade' }),
    relatedIssueId: uuid()
      .notNull()
      .references(() => issues.id, { onDelete: 'cascade' }),
    type: text().notNull().default('blocks'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('issue_relations_uq').on(t.issueId, t.relatedIssueId, t.type),
    index('issue_relations_related_idx').on(t.relatedIssueId, t.type),
    check('issue_relations_not_self', sql`${t.issueId} <> ${t.relatedIssueId}`),
  ],
);

export const issueComments = pgTable(
  'issue_comments',
  {
    id: primaryId(),
    companyId: companyRef(),
    issueId: uuid()
      .notNull()
      .references(() => issues.id, { onDelete: 'cascade' }),
    body: text().notNull(),
    authorAgentId: uuid().references(() => agents.id, { onDelete: 'set null' }),
    authorUserId: text(),
    /** The run whose token wrote the comment: liveness evidence (engine-spec §6.7). */
    createdByRunId: uuid(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('issue_comments_issue_created_idx').on(t.issueId, t.createdAt),
    index('issue_comments_run_idx').on(t.createdByRunId),
  ],
);

/** Keyed documents on an issue (`plan`, `continuation-summary`, ...); body is the latest revision. */
export const issueDocuments = pgTable(
  'issue_documents',
  {
    id: primaryId(),
    companyId: companyRef(),
    issueId: uuid()
      .notNull()
      .references(() => issues.id, { onDelete: 'cascade' }),
    key: text().notNull(),
    body: text().notNull(),
    revisionCount: integer().notNull().default(1),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('issue_documents_issue_key_uq').on(t.issueId, t.key)],
);

export const issueDocumentRevisions = pgTable(
  'issue_document_revisions',
  {
    id: primaryId(),
    companyId: companyRef(),
    documentId: uuid()
      .notNull()
      .references(() => issueDocuments.id, { onDelete: 'cascade' }),
    issueId: uuid()
      .notNull()
      .references(() => issues.id, { onDelete: 'cascade' }),
    key: text().notNull(),
    revision: integer().notNull(),
    body: text().notNull(),
    createdByRunId: uuid(),
    createdByAgentId: uuid(),
    createdByUserId: text(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('issue_document_revisions_doc_rev_uq').on(t.documentId, t.revision),
    index('issue_document_revisions_run_idx').on(t.createdByRunId),
  ],
);
