// Root query fields. Every list is a Relay connection scoped to the caller's company.
import { sql } from 'drizzle-orm';
import type { heartbeatRuns } from '../db/schema.ts';
import { parseRunSearch, RUN_SEARCH_MAX_CHARS } from '../engine/index.ts';
import { AgentRef } from './agent.ts';
import { builder } from './builder.ts';
import { CompanyRef } from './company.ts';
import { acceptCursors, AGENT_CURSORS, cursorFieldsOf, ISSUE_CURSORS, RUN_CURSORS, WAKEUP_CURSORS } from './connection-cursors.ts';
import { IssuePriorityEnum, IssueStatusEnum, LivenessStateEnum, RunStatusEnum, WakeupStatusEnum } from './enums.ts';
import { decodeGlobalId } from './global-id.ts';
import { IssueRef } from './issue.ts';
import { HeartbeatRunRef } from './run.ts';
import { companyIdOf } from './tenancy.ts';

const RunFilter = builder.inputType('RunFilter', {
  fields: (t) => ({
    agentId: t.globalID({ for: [AgentRef] }),
    issueId: t.globalID({ for: [IssueRef] }),
    status: t.field({ type: [RunStatusEnum], description: 'Any of these statuses (an empty list matches none).' }),
    livenessState: t.field({ type: [LivenessStateEnum], description: 'Any of these liveness states (an empty list matches none).' }),
    createdAfter: t.field({ type: 'DateTime', description: 'Created at or after this instant.' }),
    createdBefore: t.field({ type: 'DateTime', description: 'Created before this instant.' }),
    search: t.string({
      description: `A run id, or text. An id: the run's global id, its bare uuid, or the first 4 or more hex digits of the uuid (the short id the console shows; dashes where the uuid has them). Otherwise text, matched case-insensitively anywhere in the run's result summary, error or error code. 1 to ${RUN_SEARCH_MAX_CHARS} characters after trimming.`,
    }),
  }),
});

/** A run's global id as its uuid; anything else as it is (read as an id prefix or text by the engine). */
function runIdOrText(search: string): string {
  const text = search.trim();
  try {
    const { typename, id } = decodeGlobalId(text);
    if (typename === 'HeartbeatRun') return id;
  } catch {
    // Not a global id: a uuid, a prefix or text.
  }
  return text;
}

/** The runs a search matches, as a filter of the runs query (combined with the other fields by AND). */
function runSearchWhere(search: string) {
  const match = parseRunSearch(runIdOrText(search));
  if (match.kind === 'id') return { id: match.id };
  // A range of the primary key (run-search.ts says why), not a text prefix of a cast id.
  if (match.kind === 'idPrefix') return { id: { gte: match.from, lte: match.to } };
  return {
    OR: [
      { error: { ilike: match.pattern } },
      { errorCode: { ilike: match.pattern } },
      { RAW: (runs: typeof heartbeatRuns) => sql`${runs.resultJson}->>'summary' ilike ${match.pattern}` },
    ],
  };
}

const IssueFilter = builder.inputType('IssueFilter', {
  fields: (t) => ({
    status: t.field({ type: [IssueStatusEnum], description: 'Any of these statuses (an empty list matches none).' }),
    priority: t.field({ type: [IssuePriorityEnum], description: 'Any of these priorities (an empty list matches none).' }),
    assigneeAgentId: t.globalID({ for: [AgentRef], description: 'Only the issues assigned to this agent.' }),
  }),
});

const WakeupRequestFilter = builder.inputType('WakeupRequestFilter', {
  fields: (t) => ({
    agentId: t.globalID({ for: [AgentRef] }),
    status: t.field({ type: [WakeupStatusEnum], description: 'Any of these statuses (an empty list matches none).' }),
  }),
});

builder.queryFields((t) => ({
  viewer: t.drizzleField({
    type: CompanyRef,
    description: "The caller's company.",
    resolve: async (query, _root, _args, ctx) => {
      const company = await ctx.db.query.companies.findFirst(
        query({ where: { id: companyIdOf(ctx) } }),
      );
      // The key's company is deleted only together with the key, so this is an invariant.
      if (!company) throw new Error('Company of the authenticated key is missing');
      return company;
    },
  }),
  agents: t.drizzleConnection(
    {
      type: 'agents',
      description: "The company's agents, oldest first.",
      resolve: (query, _root, args, ctx) => {
        acceptCursors(AGENT_CURSORS, args);
        return ctx.db.query.agents.findMany(query({ where: { companyId: companyIdOf(ctx) }, orderBy: AGENT_CURSORS.orderBy }));
      },
    },
    cursorFieldsOf(AGENT_CURSORS).connection,
    cursorFieldsOf(AGENT_CURSORS).edge,
  ),
  issues: t.drizzleConnection(
    {
      type: 'issues',
      description: "The company's issues, newest first.",
      args: { filter: t.arg({ type: IssueFilter }) },
      resolve: (query, _root, args, ctx) => {
        acceptCursors(ISSUE_CURSORS, args);
        const { filter } = args;
        return ctx.db.query.issues.findMany(
          query({
            where: {
              companyId: companyIdOf(ctx),
              // "Any of these": an empty list matches no issue (an absent or null one filters nothing).
              ...(filter?.status ? { status: { in: filter.status } } : {}),
              ...(filter?.priority ? { priority: { in: filter.priority } } : {}),
              ...(filter?.assigneeAgentId ? { assigneeAgentId: filter.assigneeAgentId.id } : {}),
            },
            orderBy: ISSUE_CURSORS.orderBy,
          }),
        );
      },
    },
    cursorFieldsOf(ISSUE_CURSORS).connection,
    cursorFieldsOf(ISSUE_CURSORS).edge,
  ),
  runs: t.drizzleConnection(
    {
      type: 'heartbeatRuns',
      description: "The company's heartbeat runs, newest first.",
      args: { filter: t.arg({ type: RunFilter }) },
      resolve: (query, _root, args, ctx) => {
        acceptCursors(RUN_CURSORS, args);
        const { filter } = args;
        return ctx.db.query.heartbeatRuns.findMany(
          query({
            where: {
              companyId: companyIdOf(ctx),
              ...(filter?.agentId ? { agentId: filter.agentId.id } : {}),
              ...(filter?.issueId ? { issueId: filter.issueId.id } : {}),
              // "Any of these": an empty list matches no run (an absent or null one filters nothing).
              ...(filter?.status ? { status: { in: filter.status } } : {}),
              ...(filter?.livenessState ? { livenessState: { in: filter.livenessState } } : {}),
              ...(filter?.createdAfter || filter?.createdBefore
                ? {
                    createdAt: {
                      ...(filter.createdAfter ? { gte: filter.createdAfter } : {}),
                      ...(filter.createdBefore ? { lt: filter.createdBefore } : {}),
                    },
                  }
                : {}),
              ...(filter?.search != null ? runSearchWhere(filter.search) : {}),
            },
            orderBy: RUN_CURSORS.orderBy,
          }),
        );
      },
    },
    cursorFieldsOf(RUN_CURSORS).connection,
    cursorFieldsOf(RUN_CURSORS).edge,
  ),
  wakeupRequests: t.drizzleConnection(
    {
      type: 'wakeupRequests',
      description: "The company's wakeup requests, newest first.",
      args: { filter: t.arg({ type: WakeupRequestFilter }) },
      resolve: (query, _root, args, ctx) => {
        acceptCursors(WAKEUP_CURSORS, args);
        const { filter } = args;
        return ctx.db.query.wakeupRequests.findMany(
          query({
            where: {
              companyId: companyIdOf(ctx),
              ...(filter?.agentId ? { agentId: filter.agentId.id } : {}),
              ...(filter?.status ? { status: { in: filter.status } } : {}),
            },
            orderBy: WAKEUP_CURSORS.orderBy,
          }),
        );
      },
    },
    cursorFieldsOf(WAKEUP_CURSORS).connection,
    cursorFieldsOf(WAKEUP_CURSORS).edge,
  ),
  agent: t.drizzleField({
    type: AgentRef,
    nullable: true,
    args: { id: t.arg.globalID({ required: true, for: [AgentRef] }) },
    resolve: (query, _root, { id }, ctx) =>
      ctx.db.query.agents.findFirst(query({ where: { id: id.id, companyId: companyIdOf(ctx) } })),
  }),
  issue: t.drizzleField({
    type: IssueRef,
    nullable: true,
    description: "An issue. Opening it also classifies, in the background, finished runs of its ledger that were never classified.",
    args: { id: t.arg.globalID({ required: true, for: [IssueRef] }) },
    resolve: async (query, _root, { id }, ctx) => {
      const issue = await ctx.db.query.issues.findFirst(query({ where: { id: id.id, companyId: companyIdOf(ctx) } }));
      if (issue) ctx.engine.backfillIssueLiveness(id.id);
      return issue;
    },
  }),
  run: t.drizzleField({
    type: HeartbeatRunRef,
    nullable: true,
    args: { id: t.arg.globalID({ required: true, for: [HeartbeatRunRef] }) },
    resolve: (query, _root, { id }, ctx) =>
      ctx.db.query.heartbeatRuns.findFirst(
        query({ where: { id: id.id, companyId: companyIdOf(ctx) } }),
      ),
  }),
}));
