import { builder } from './builder.ts';

export const CompanyRef = builder.drizzleNode('companies', {
  name: 'Company',
  description: 'A tenant: its agents, issues and runs are invisible to every other company.',
  id: { column: (company) => company.id },
  fields: (t) => ({
    name: t.exposeString('name'),
    issuePrefix: t.exposeString('issuePrefix', {
      description: 'Prefix of issue identifiers, as in HB-12.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});
