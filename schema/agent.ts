import { AdapterTypeEnum, AgentStatusEnum } from './enums.ts';
import { builder } from './builder.ts';

export const AgentRef = builder.drizzleNode('agents', {
  name: 'Agent',
  description: 'Something that can be woken to do work: a process, an HTTP endpoint or a script.',
  id: { column: (agent) => agent.id },
  fields: (t) => ({
    name: t.exposeString('name'),
    role: t.exposeString('role'),
    status: t.expose('status', { type: AgentStatusEnum }),
    adapterType: t.expose('adapterType', { type: AdapterTypeEnum }),
    lastHeartbeatAt: t.expose('lastHeartbeatAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    company: t.relation('company'),
  }),
});
