// Assembles the schema: importing a type module registers its types on the builder.
import { builder } from './builder.ts';
import './enums.ts';
import './company.ts';
import './task-sessions.ts';
import './agent.ts';
import './issue.ts';
import './run.ts';
import './wakeup.ts';
import './cost-types.ts';
import './projects.ts';
import './costs.ts';
import './budgets.ts';
import './query.ts';
import './run-activity.ts';
import './agent-run-stats.ts';
import './adapter-types.ts';
import './run-mutations.ts';
import './agent-mutations.ts';
import './issue-mutations.ts';
import './api-key-mutations.ts';
import './subscriptions.ts';

export const schema = builder.toSchema({ sortSchema: true });
