import { builder } from './builder.ts';
import { cursorFieldsOf, relatedRunsOptions, RUN_CURSORS } from './connection-cursors.ts';
import { CostTotalsRef } from './cost-types.ts';
import { IssuePriorityEnum, IssueStatusEnum } from './enums.ts';

export const IssueRef = builder.drizzleNode('issues', {
  name: 'Issue',
  description: 'A unit of work that agents are woken for.',
  id: { column: (issue) => issue.id },
  fields: (t) => ({
    identifier: t.exposeString('identifier', { description: 'Human identifier such as HB-12.' }),
    title: t.exposeString('title'),
    description: t.exposeString('description', { nullable: true }),
    status: t.expose('status', { type: IssueStatusEnum }),
    priority: t.expose('priority', { type: IssuePriorityEnum }),
    assigneeAgent: t.relation('assigneeAgent', { nullable: true }),
    assigneeUserId: t.exposeString('assigneeUserId', { nullable: true }),
    project: t.relation('project', { nullable: true }),
    cost: t.field({
      type: CostTotalsRef,
      description: 'What the runs on this issue cost, all time.',
      resolve: (issue, _args, ctx) => ctx.engine.costs.totals(issue.companyId, { issueId: issue.id }),
    }),
    executionRun: t.relation('executionRun', {
      nullable: true,
      description: "The run holding the issue's execution lock: only it works on the issue now.",
    }),
    executionLockedAt: t.expose('executionLockedAt', { type: 'DateTime', nullable: true }),
    checkoutRunId: t.exposeString('checkoutRunId', { nullable: true }),
    blockers: t.relation('blockers', { description: 'Issues that must be done (or cancelled) before this one can run.' }),
    runs: t.relatedConnection(
      'runs',
      relatedRunsOptions("The issue's run ledger: every run that worked on it, newest first."),
      cursorFieldsOf(RUN_CURSORS).connection,
      cursorFieldsOf(RUN_CURSORS).edge,
    ),
    comments: t.relation('comments', { query: { orderBy: { createdAt: 'asc', id: 'asc' } } }),
    documents: t.relation('documents', { query: { orderBy: { key: 'asc' } } }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

export const IssueCommentRef = builder.drizzleNode('issueComments', {
  name: 'IssueComment',
  id: { column: (comment) => comment.id },
  fields: (t) => ({
    body: t.exposeString('body'),
    issue: t.relation('issue'),
    authorAgent: t.relation('authorAgent', { nullable: true }),
    authorUserId: t.exposeString('authorUserId', { nullable: true }),
    createdByRunId: t.exposeString('createdByRunId', { nullable: true, description: 'Set when a run wrote it.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const IssueDocumentRef = builder.drizzleNode('issueDocuments', {
  name: 'IssueDocument',
  description: 'A keyed document on an issue (for example `plan`); `body` is its latest revision.',
  id: { column: (document) => document.id },
  fields: (t) => ({
    key: t.exposeString('key'),
    body: t.exposeString('body'),
    revisionCount: t.exposeInt('revisionCount'),
    issue: t.relation('issue'),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});
