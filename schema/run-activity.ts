// Query.runActivity: the company's runs over time, bucket by bucket, for the console's overview charts.
import { RUN_ACTIVITY_DEFAULT_BUCKET_SECONDS, RUN_ACTIVITY_MAX_BUCKETS, runActivity, type RunActivity, type RunActivityBucket } from '../engine/index.ts';
import { AgentRef } from './agent.ts';
import { builder } from './builder.ts';
import { READS_OUTSIDE_DATABASE } from './context.ts';
import { companyIdOf } from './tenancy.ts';

const RunActivityBucketRef = builder.objectRef<RunActivityBucket>('RunActivityBucket').implement({
  description: 'One bucket of time, [start, start + bucketSeconds).',
  fields: (t) => ({
    start: t.expose('start', { type: 'DateTime' }),
    succeeded: t.exposeInt('succeeded', { description: 'Runs that finished in the bucket as SUCCEEDED.' }),
    failed: t.exposeInt('failed', { description: 'Runs that finished in the bucket as FAILED.' }),
    cancelled: t.exposeInt('cancelled', { description: 'Runs that finished in the bucket as CANCELLED (also those cancelled before they started).' }),
    timedOut: t.exposeInt('timedOut', { description: 'Runs that finished in the bucket as TIMED_OUT.' }),
    started: t.exposeInt('started', { description: 'Runs that started in the bucket, whatever became of them.' }),
    p95DurationMs: t.exposeFloat('p95DurationMs', {
      nullable: true,
      description: 'The 95th percentile (interpolated) of finishedAt - startedAt of the runs that finished in the bucket after starting; null when none did.',
    }),
  }),
});

const RunActivityRef = builder.objectRef<RunActivity>('RunActivity').implement({
  description: 'Runs over time: every bucket of the range, empty ones included, and the runs waiting and running now.',
  fields: (t) => ({
    bucketSeconds: t.exposeInt('bucketSeconds'),
    buckets: t.expose('buckets', { type: [RunActivityBucketRef], description: 'Oldest first, without gaps.' }),
    queued: t.exposeInt('queued', { description: 'Runs QUEUED or SCHEDULED_RETRY now.' }),
    running: t.exposeInt('running', { description: 'Runs RUNNING now.' }),
  }),
});

builder.queryFields((t) => ({
  runActivity: t.field({
    type: RunActivityRef,
    description: `The company's runs (or one agent's) from \`from\` to \`to\` (default: now), in buckets of \`bucketSeconds\` (10 to 86400, default ${RUN_ACTIVITY_DEFAULT_BUCKET_SECONDS}) starting at \`from\`: at most ${RUN_ACTIVITY_MAX_BUCKETS} buckets.`,
    args: {
      from: t.arg({ type: 'DateTime', required: true }),
      to: t.arg({ type: 'DateTime', description: 'Exclusive; after `from`. Default: now.' }),
      bucketSeconds: t.arg.int({ defaultValue: RUN_ACTIVITY_DEFAULT_BUCKET_SECONDS }),
      agentId: t.arg.globalID({ for: [AgentRef], description: "Only this agent's runs (its queued and running ones too)." }),
    },
    // The default `to` is the engine's clock, which the response cache cannot see move.
    extensions: { [READS_OUTSIDE_DATABASE]: true },
    resolve: (_root, args, ctx) =>
      runActivity(ctx.engine.deps, { companyId: companyIdOf(ctx), from: args.from, to: args.to, bucketSeconds: args.bucketSeconds, agentId: args.agentId?.id }),
  }),
}));
