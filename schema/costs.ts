// Reading the cost ledger (docs/engine.md §13.5): costSummary sums the company's cost events per
// bucket of agent, issue, project, model, provider or UTC day.
import { COST_BUCKETS_MAX, type CostBucket, type CostFilter } from '../engine/index.ts';
import { AgentRef } from './agent.ts';
import { builder } from './builder.ts';
import type { HeartbeatContext } from './context.ts';
import { costTotalFields } from './cost-types.ts';
import { CostGroupEnum } from './enums.ts';
import { IssueRef } from './issue.ts';
import { ProjectRef } from './projects.ts';
import { argumentInRange } from './run.ts';
import { companyIdOf } from './tenancy.ts';

export const CostFilterInput = builder.inputType('CostFilterInput', {
  description: 'Which cost events to sum: all of them of the fields given.',
  fields: (t) => ({
    from: t.field({ type: 'DateTime', description: 'At or after this instant.' }),
    to: t.field({ type: 'DateTime', description: 'Before this instant (not after `from`).' }),
    agentId: t.globalID({ for: [AgentRef] }),
    issueId: t.globalID({ for: [IssueRef] }),
    projectId: t.globalID({ for: [ProjectRef] }),
  }),
});

type FilterArgument = { from?: Date | null; to?: Date | null; agentId?: { id: string } | null; issueId?: { id: string } | null; projectId?: { id: string } | null };

/** The engine's filter: raw ids (another company's id simply matches nothing). */
export const costFilterOf = (filter: FilterArgument | null | undefined): CostFilter => ({
  from: filter?.from ?? null,
  to: filter?.to ?? null,
  agentId: filter?.agentId?.id ?? null,
  issueId: filter?.issueId?.id ?? null,
  projectId: filter?.projectId?.id ?? null,
});

/** The agents, issues and projects a summary's buckets name: each kind read once, in one statement, when first asked for. */
function bucketObjects(ctx: HeartbeatContext, companyId: string, buckets: readonly CostBucket[]) {
  const idsOf = (key: 'agentId' | 'issueId' | 'projectId') => [...new Set(buckets.map((bucket) => bucket[key]).filter((id): id is string => id !== null))];
  const once = <Row extends { id: string }>(read: () => Promise<Row[]>) => {
    let rows: Promise<Map<string, Row>> | undefined;
    return (id: string) => (rows ??= read().then((list) => new Map(list.map((row) => [row.id, row])))).then((byId) => byId.get(id) ?? null);
  };
  return {
    agent: once(() => ctx.db.query.agents.findMany({ where: { id: { in: idsOf('agentId') }, companyId } })),
    issue: once(() => ctx.db.query.issues.findMany({ where: { id: { in: idsOf('issueId') }, companyId } })),
    project: once(() => ctx.db.query.projects.findMany({ where: { id: { in: idsOf('projectId') }, companyId } })),
  };
}

type Bucket = CostBucket & { objects: ReturnType<typeof bucketObjects> };

const CostBucketRef = builder.objectRef<Bucket>('CostBucket').implement({
  description: 'The sums of one bucket: the grouped fields are set (null also when the events had none, e.g. runs without an issue); the others are null.',
  fields: (t) => ({
    agent: t.field({ type: AgentRef, nullable: true, resolve: (bucket) => (bucket.agentId ? bucket.objects.agent(bucket.agentId) : null) }),
    issue: t.field({ type: IssueRef, nullable: true, resolve: (bucket) => (bucket.issueId ? bucket.objects.issue(bucket.issueId) : null) }),
    project: t.field({ type: ProjectRef, nullable: true, resolve: (bucket) => (bucket.projectId ? bucket.objects.project(bucket.projectId) : null) }),
    model: t.exposeString('model', { nullable: true }),
    provider: t.exposeString('provider', { nullable: true }),
    day: t.exposeString('day', { nullable: true, description: 'The UTC day, YYYY-MM-DD.' }),
    ...costTotalFields(t),
  }),
});

builder.queryFields((t) => ({
  costSummary: t.field({
    type: [CostBucketRef],
    description: `The company's cost events in \`filter\`, summed per bucket of \`groupBy\` (none: one bucket, or none when nothing matched), biggest first: the first \`first\` buckets (1 to ${COST_BUCKETS_MAX}, default ${COST_BUCKETS_MAX}).`,
    args: {
      filter: t.arg({ type: CostFilterInput }),
      groupBy: t.arg({ type: [CostGroupEnum] }),
      // Also what the operation cost counts (server/operation-cost.ts): a list with `first` is sized by it.
      first: t.arg.int({ defaultValue: COST_BUCKETS_MAX }),
    },
    resolve: async (_root, { filter, groupBy, first }, ctx) => {
      argumentInRange('first', first, 1, COST_BUCKETS_MAX);
      const companyId = companyIdOf(ctx);
      const buckets = (await ctx.engine.costs.summary(companyId, costFilterOf(filter), groupBy ?? [])).slice(0, first ?? COST_BUCKETS_MAX);
      const objects = bucketObjects(ctx, companyId, buckets);
      return buckets.map((bucket) => ({ ...bucket, objects }));
    },
  }),
}));
