import { IssuePriorityEnum, IssueStatusEnum } from './enums.ts';
import { builder } from './builder.ts';

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
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});
