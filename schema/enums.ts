// GraphQL enums mirror the database enums: `RUN_STATUS.QUEUED` in GraphQL is `'queued'` in SQL.
import {
  adapterTypeValues,
  agentStatusValues,
  apiKeyRoleValues,
  billingTypeValues,
  budgetPeriodValues,
  budgetScopeValues,
  issuePriorityValues,
  issueStatusValues,
  livenessStateValues,
  runStatusValues,
  triggerDetailValues,
  wakeupSourceValues,
  wakeupStatusValues,
} from '../db/enums.ts';
import { COST_GROUPS } from '../engine/index.ts';
import { builder } from './builder.ts';

function enumOf<const V extends readonly string[]>(name: string, values: V, description: string) {
  const entries = values.map((value) => [value.toUpperCase(), { value }] as const);
  return builder.enumType(name, {
    description,
    values: Object.fromEntries(entries) as Record<string, { value: V[number] }>,
  });
}

export const RunStatusEnum = enumOf('RunStatus', runStatusValues, 'Lifecycle state of a heartbeat run.');
export const WakeupStatusEnum = enumOf(
  'WakeupStatus',
  wakeupStatusValues,
  'What became of a wakeup request.',
);
export const WakeupSourceEnum = enumOf(
  'WakeupSource',
  wakeupSourceValues,
  'What asked for a wakeup: a timer, an assignment, a person or an automation.',
);
export const TriggerDetailEnum = enumOf(
  'TriggerDetail',
  triggerDetailValues,
  'Finer detail about how a wakeup was triggered.',
);
export const LivenessStateEnum = enumOf(
  'LivenessState',
  livenessStateValues,
  'Whether a finished run made real progress or only talked about it.',
);
export const AgentStatusEnum = enumOf('AgentStatus', agentStatusValues, 'Operational state of an agent.');
export const AdapterTypeEnum = enumOf(
  'AdapterType',
  adapterTypeValues,
  'How an agent run is executed: a child process, an HTTP endpoint, a deterministic script, or a local coding-agent CLI (Claude Code, Codex).',
);
export const IssueStatusEnum = enumOf('IssueStatus', issueStatusValues, 'Workflow state of an issue.');
export const IssuePriorityEnum = enumOf('IssuePriority', issuePriorityValues, 'Priority of an issue.');
export const ApiKeyRoleEnum = enumOf('ApiKeyRole', apiKeyRoleValues, 'What an API key may do.');
export const BillingTypeEnum = enumOf(
  'BillingType',
  billingTypeValues,
  'How a run was billed: SUBSCRIPTION_INCLUDED runs cost 0 cents (docs/engine.md §13.3).',
);
export const CostGroupEnum = enumOf('CostGroup', COST_GROUPS, 'What costSummary sums per bucket: DAY is the UTC day.');
export const BudgetScopeEnum = enumOf('BudgetScope', budgetScopeValues, 'What a budget limits: the whole company, one agent, or one project.');
export const BudgetPeriodEnum = enumOf('BudgetPeriod', budgetPeriodValues, 'The calendar month (UTC), or all time.');
export const BudgetStatusEnum = enumOf(
  'BudgetStatus',
  ['ok', 'warning', 'blocked'] as const,
  'OK; WARNING at or past warnPercent of the limit; BLOCKED at or past the limit (wakeups in its scope are refused).',
);
