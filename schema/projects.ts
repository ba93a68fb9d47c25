// Projects (docs/engine.md §13.4): named groups of issues, so that cost and budgets can be scoped to one.
import { builder } from './builder.ts';
import { acceptCursors, cursorFieldsOf, ISSUE_CURSORS } from './connection-cursors.ts';
import { CostTotalsRef } from './cost-types.ts';
import { companyIdOf, operatorCompanyIdOf } from './tenancy.ts';

export const ProjectRef = builder.drizzleNode('projects', {
  name: 'Project',
  description: 'A named group of issues: the cost of their runs can be read, and limited by a budget, together.',
  id: { column: (project) => project.id },
  fields: (t) => ({
    name: t.exposeString('name'),
    issues: t.relatedConnection(
      'issues',
      {
        description: "The project's issues, newest first.",
        // Called with the arguments before the plugin reads them (when planned and when resolved).
        query: (args) => {
          acceptCursors(ISSUE_CURSORS, args);
          return { orderBy: ISSUE_CURSORS.orderBy };
        },
        totalCount: true,
      },
      cursorFieldsOf(ISSUE_CURSORS).connection,
      cursorFieldsOf(ISSUE_CURSORS).edge,
    ),
    cost: t.field({
      type: CostTotalsRef,
      description: "What the runs on the project's issues cost, all time (the project a run's issue had when it finished).",
      resolve: (project, _args, ctx) => ctx.engine.costs.totals(project.companyId, { projectId: project.id }),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const CreateProjectInput = builder.inputType('CreateProjectInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: '1 to 200 characters, trimmed; unique in the company (CONFLICT otherwise).' }),
  }),
});

builder.queryFields((t) => ({
  projects: t.drizzleField({
    type: ['projects'],
    description: "The company's projects, by name.",
    resolve: (query, _root, _args, ctx) => ctx.db.query.projects.findMany(query({ where: { companyId: companyIdOf(ctx) }, orderBy: { name: 'asc', id: 'asc' } })),
  }),
}));

builder.mutationFields((t) => ({
  createProject: t.field({
    type: ProjectRef,
    description: 'Creates a project; put issues in it with projectId on createIssue or updateIssue.',
    args: { input: t.arg({ type: CreateProjectInput, required: true }) },
    resolve: (_root, { input }, ctx) => ctx.engine.costs.createProject({ companyId: operatorCompanyIdOf(ctx), name: input.name }),
  }),
}));
