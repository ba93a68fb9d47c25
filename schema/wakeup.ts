import { builder } from './builder.ts';
import { TriggerDetailEnum, WakeupSourceEnum, WakeupStatusEnum } from './enums.ts';

export const WakeupRequestRef = builder.drizzleNode('wakeupRequests', {
  name: 'WakeupRequest',
  description: 'A request to wake an agent, and what became of it.',
  id: { column: (wake) => wake.id },
  fields: (t) => ({
    source: t.expose('source', { type: WakeupSourceEnum }),
    triggerDetail: t.expose('triggerDetail', { type: TriggerDetailEnum, nullable: true }),
    reason: t.exposeString('reason', { nullable: true }),
    payload: t.expose('payload', { type: 'JSON', nullable: true }),
    status: t.expose('status', { type: WakeupStatusEnum }),
    coalescedCount: t.exposeInt('coalescedCount', {
      description:
        'How many later wakeups were merged into this one (into the run it became, or while it waited as DEFERRED). A COALESCED wakeup, itself merged into `run`, shows 1.',
    }),
    idempotencyKey: t.exposeString('idempotencyKey', { nullable: true }),
    requestedByActorType: t.exposeString('requestedByActorType', { nullable: true }),
    requestedByActorId: t.exposeString('requestedByActorId', { nullable: true }),
    requestedAt: t.expose('requestedAt', { type: 'DateTime' }),
    claimedAt: t.expose('claimedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    error: t.exposeString('error', { nullable: true }),
    agent: t.relation('agent'),
    run: t.relation('run', { nullable: true, description: 'The run this wakeup became or was merged into.' }),
  }),
});
