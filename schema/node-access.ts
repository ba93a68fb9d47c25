// Which node ids a caller may load: only ids of its own company that exist (API keys: admins only).
// `node`/`nodes` check this before loading anything, so a missing id and another company's id
// look exactly the same (null), and no other company's row is ever read.
import { and, eq, inArray } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import { agents, apiKeys, companies, heartbeatRuns, issueComments, issueDocuments, issues, projects, wakeupRequests } from '../db/schema.ts';
import { badInput } from '../engine/index.ts';
import type { HeartbeatContext } from './context.ts';

type Scoped = { table: PgTable; id: PgColumn; company: PgColumn; adminOnly?: boolean };

const NODE_TABLES: Record<string, Scoped> = {
  Company: { table: companies, id: companies.id, company: companies.id },
  Agent: { table: agents, id: agents.id, company: agents.companyId },
  Issue: { table: issues, id: issues.id, company: issues.companyId },
  HeartbeatRun: { table: heartbeatRuns, id: heartbeatRuns.id, company: heartbeatRuns.companyId },
  WakeupRequest: { table: wakeupRequests, id: wakeupRequests.id, company: wakeupRequests.companyId },
  IssueComment: { table: issueComments, id: issueComments.id, company: issueComments.companyId },
  IssueDocument: { table: issueDocuments, id: issueDocuments.id, company: issueDocuments.companyId },
  Project: { table: projects, id: projects.id, company: projects.companyId },
  ApiKey: { table: apiKeys, id: apiKeys.id, company: apiKeys.companyId, adminOnly: true },
};

type GlobalId = { typename: string; id: string };

/** The subset of `ids` the caller may load, as "Typename:id" keys. Unknown types are bad input. */
export async function visibleNodeIds(ctx: HeartbeatContext, ids: readonly GlobalId[]): Promise<Set<string>> {
  for (const { typename } of ids) {
    if (!NODE_TABLES[typename]) throw badInput('Invalid ID: unknown type', { argument: 'id' });
  }
  const visible = new Set<string>();
  const principal = ctx.principal;
  if (principal?.kind !== 'apiKey') return visible;
  const byType = new Map<string, string[]>();
  for (const { typename, id } of ids) byType.set(typename, [...(byType.get(typename) ?? []), id]);
  for (const [typename, typeIds] of byType) {
    const scoped = NODE_TABLES[typename];
    if (scoped.adminOnly && principal.role !== 'admin') continue;
    const rows = await ctx.db
      .select({ id: scoped.id })
      .from(scoped.table)
      .where(and(inArray(scoped.id, typeIds), eq(scoped.company, principal.companyId)));
    for (const row of rows) visible.add(`${typename}:${row.id as string}`);
  }
  return visible;
}

export const nodeKey = (id: GlobalId) => `${id.typename}:${id.id}`;
