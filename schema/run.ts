import { RunStatusEnum, TriggerDetailEnum, WakeupSourceEnum } from './enums.ts';
import { builder } from './builder.ts';

export const HeartbeatRunRef = builder.drizzleNode('heartbeatRuns', {
  name: 'HeartbeatRun',
  description: 'One execution of an agent, from claim to a terminal status.',
  id: { column: (run) => run.id },
  fields: (t) => ({
    status: t.expose('status', { type: RunStatusEnum }),
    agent: t.relation('agent'),
    issue: t.relation('issue', { nullable: true }),
    invocationSource: t.expose('invocationSource', { type: WakeupSourceEnum }),
    triggerDetail: t.expose('triggerDetail', { type: TriggerDetailEnum, nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    exitCode: t.exposeInt('exitCode', { nullable: true }),
    signal: t.exposeString('signal', { nullable: true }),
    error: t.exposeString('error', { nullable: true }),
    errorCode: t.exposeString('errorCode', { nullable: true }),
  }),
});
