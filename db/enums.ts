// Every enumeration of engine-spec §2 (plus the project's Decisions) as Postgres enums.
// The `values` tuples are exported separately so pure code and the GraphQL schema can share them
// without importing drizzle column builders.
import { pgEnum } from 'drizzle-orm/pg-core';

export const wakeupSourceValues = ['timer', 'assignment', 'on_demand', 'automation'] as const;
export const triggerDetailValues = ['manual', 'ping', 'callback', 'system'] as const;
export const actorTypeValues = ['user', 'agent', 'system'] as const;
export const runStatusValues = [
  'queued',
  'scheduled_retry',
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'timed_out',
] as const;
// Decisions 4: `timed_out` is a real member of the wake status enum.
export const wakeupStatusValues = [
  'queued',
  'deferred_issue_execution',
  'claimed',
  'coalesced',
  'skipped',
  'completed',
  'failed',
  'cancelled',
  'timed_out',
] as const;
export const livenessStateValues = [
  'completed',
  'advanced',
  'plan_only',
  'empty_response',
  'blocked',
  'failed',
  'needs_followup',
] as const;
export const agentStatusValues = [
  'active',
  'idle',
  'running',
  'error',
  'paused',
  'terminated',
  'pending_approval',
] as const;
export const issueStatusValues = [
  'backlog',
  'todo',
  'in_progress',
  'in_review',
  'blocked',
  'done',
  'cancelled',
] as const;
export const issuePriorityValues = ['critical', 'high', 'medium', 'low'] as const;
export const issueCommentStatusValues = [
  'not_applicable',
  'satisfied',
  'retry_queued',
  'retry_exhausted',
] as const;
export const apiKeyRoleValues = ['admin', 'operator', 'viewer'] as const;
export const adapterTypeValues = ['process', 'http', 'script', 'claude_code', 'codex'] as const;
/** How a run's cost is billed (docs/engine.md §13.3). */
export const billingTypeValues = ['metered_api', 'subscription_included', 'subscription_overage', 'credits', 'fixed', 'unknown'] as const;
export const budgetScopeValues = ['company', 'agent', 'project'] as const;
export const budgetPeriodValues = ['month', 'all_time'] as const;

export type WakeupSource = (typeof wakeupSourceValues)[number];
export type TriggerDetail = (typeof triggerDetailValues)[number];
export type ActorType = (typeof actorTypeValues)[number];
export type RunStatus = (typeof runStatusValues)[number];
export type WakeupStatus = (typeof wakeupStatusValues)[number];
export type LivenessState = (typeof livenessStateValues)[number];
export type AgentStatus = (typeof agentStatusValues)[number];
export type IssueStatus = (typeof issueStatusValues)[number];
export type IssuePriority = (typeof issuePriorityValues)[number];
export type IssueCommentStatus = (typeof issueCommentStatusValues)[number];
export type ApiKeyRole = (typeof apiKeyRoleValues)[number];
export type AdapterType = (typeof adapterTypeValues)[number];
export type BillingType = (typeof billingTypeValues)[number];
export type BudgetScope = (typeof budgetScopeValues)[number];
export type BudgetPeriod = (typeof budgetPeriodValues)[number];

export const wakeupSourceEnum = pgEnum('wakeup_source', wakeupSourceValues);
export const triggerDetailEnum = pgEnum('trigger_detail', triggerDetailValues);
export const actorTypeEnum = pgEnum('actor_type', actorTypeValues);
export const runStatusEnum = pgEnum('run_status', runStatusValues);
export const wakeupStatusEnum = pgEnum('wakeup_status', wakeupStatusValues);
export const livenessStateEnum = pgEnum('liveness_state', livenessStateValues);
export const agentStatusEnum = pgEnum('agent_status', agentStatusValues);
export const issueStatusEnum = pgEnum('issue_status', issueStatusValues);
export const issuePriorityEnum = pgEnum('issue_priority', issuePriorityValues);
export const issueCommentStatusEnum = pgEnum('issue_comment_status', issueCommentStatusValues);
export const apiKeyRoleEnum = pgEnum('api_key_role', apiKeyRoleValues);
export const adapterTypeEnum = pgEnum('adapter_type', adapterTypeValues);
export const billingTypeEnum = pgEnum('billing_type', billingTypeValues);
export const budgetScopeEnum = pgEnum('budget_scope', budgetScopeValues);
export const budgetPeriodEnum = pgEnum('budget_period', budgetPeriodValues);
