// Agent task sessions (docs/engine.md §12): which conversation a run resumes, when it starts over,
// and what it leaves for the next run. Pure functions; the claim (runs/claim.ts) and the finish
// (runs/finish.ts) apply them to what they read and write.
import type { WakeContext } from './wake-context.ts';

/** The task key of a timer wake with no task of its own: an agent's periodic runs share one session (§12.2). */
export const HEARTBEAT_TASK_KEY = '__heartbeat__';
/** Longest display id kept (§12.1); a longer one is cut. */
export const SESSION_DISPLAY_ID_MAX = 128;
/** Largest session params object accepted, as JSON text (bytes). */
export const SESSION_PARAMS_MAX_BYTES = 64 * 1024;
/** Characters of the issue's continuation summary quoted in a rotation handoff (§12.9). */
export const HANDOFF_SUMMARY_CHARS = 1_500;

/** What an adapter needs to resume a session: at least its id. */
export type SessionParams = { sessionId: string } & Record<string, unknown>;

/** The session a run is given (null: a fresh session), as adapters receive it (`context.session`). */
export interface RunSession {
  id: string;
  params: SessionParams;
  displayId: string | null;
  taskKey: string | null;
}

/** A stored task session (agent_task_sessions), as the claim reads it. */
export interface StoredTaskSession {
  taskKey: string;
  params: SessionParams;
  displayId: string | null;
  lastRunId: string | null;
}

/** What a run's result says about its session. Absent fields say nothing. */
export interface SessionReport {
  sessionId?: string | null;
  sessionParams?: Record<string, unknown> | null;
  sessionDisplayId?: string | null;
  clearSession?: boolean;
}

/** An agent's rotation policy (§12.9); 0 turns a limit off. */
export interface SessionPolicy {
  maxSessionRuns: number;
  maxRawInputTokens: number;
  maxSessionAgeHours: number;
}

export const NO_SESSION_POLICY: SessionPolicy = { maxSessionRuns: 0, maxRawInputTokens: 0, maxSessionAgeHours: 0 };

/** What rotation looks at: the runs that left the session, newest first summarised. */
export interface SessionStats {
  runs: number;
  newestRawInputTokens: number | null;
  newestAt: Date | null;
  oldestAt: Date | null;
}

const text = (value: unknown): string | null => (typeof value === 'string' && value.trim() !== '' ? value : null);
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * §12.2: the first non-empty of the context's taskKey, taskId, issueId, then the same keys of the
 * wake payload; a timer wake without any of them shares `__heartbeat__`; otherwise none.
 */
export function taskKeyOf(ctx: WakeContext): string | null {
  const payload = isObject(ctx.payload) ? ctx.payload : {};
  const key = text(ctx.taskKey) ?? text(ctx.taskId) ?? text(ctx.issueId) ?? text(payload.taskKey) ?? text(payload.taskId) ?? text(payload.issueId);
  if (key !== null) return key;
  return ctx.wakeSource === 'timer' ? HEARTBEAT_TASK_KEY : null;
}

/** Wake reasons that start a task over: a new assignment, a review or approval round (§12.3). */
export const FRESH_SESSION_REASONS: readonly string[] = [
  'issue_assigned',
  'execution_review_requested',
  'execution_approval_requested',
  'execution_changes_requested',
];

/** §12.3 and §12.7: why the run must not resume the stored session, or null. */
export function sessionResetReason(ctx: WakeContext): string | null {
  if (ctx.forceFreshSession === true) return 'forceFreshSession was requested';
  const reason = text(ctx.wakeReason);
  if (reason !== null && FRESH_SESSION_REASONS.includes(reason)) return `wake reason is ${reason}`;
  const mode = text(ctx.codexTransientFallbackMode);
  if (mode === 'fresh_session' || mode === 'fresh_session_safer_invocation') return `transient fallback mode ${mode}`;
  return null;
}

/** Session params from a loose object: an object with a non-empty string `sessionId`, else null. */
export function sessionParamsFrom(value: unknown): SessionParams | null {
  if (!isObject(value) || text(value.sessionId) === null) return null;
  return value as SessionParams;
}

const displayIdFrom = (value: unknown): string | null => {
  const id = text(value);
  return id === null ? null : id.slice(0, SESSION_DISPLAY_ID_MAX);
};

/** What the claim decided about a run's session. */
export interface SessionDecision {
  session: RunSession | null;
  taskKey: string | null;
  /** Why the stored session was not resumed (the run's log says so). */
  resetReason: string | null;
  /** Where the session came from. */
  source: 'explicit' | 'task' | 'fallback' | 'none';
}

/**
 * §12.3: the session a run resumes. An explicit resume in the context (`resumeSessionParams`, set by
 * `resumeFromRunId` too) wins over the stored row; a reset reason starts over; a run with no task
 * key resumes the agent's fallback session.
 */
export function resolveRunSession(input: { ctx: WakeContext; stored: StoredTaskSession | null; fallbackSessionId: string | null }): SessionDecision {
  const { ctx, stored } = input;
  const taskKey = taskKeyOf(ctx);
  const resetReason = sessionResetReason(ctx);
  const explicit = sessionParamsFrom(ctx.resumeSessionParams);
  const none = (reason: string | null): SessionDecision => ({ session: null, taskKey, resetReason: reason, source: 'none' });
  if (resetReason !== null) return none(stored || explicit || (taskKey === null && input.fallbackSessionId) ? resetReason : null);
  if (explicit) {
    return { session: { id: explicit.sessionId, params: explicit, displayId: displayIdFrom(ctx.resumeSessionDisplayId), taskKey }, taskKey, resetReason: null, source: 'explicit' };
  }
  if (stored) return { session: { id: stored.params.sessionId, params: stored.params, displayId: stored.displayId, taskKey }, taskKey, resetReason: null, source: 'task' };
  if (taskKey === null && input.fallbackSessionId) {
    return { session: { id: input.fallbackSessionId, params: { sessionId: input.fallbackSessionId }, displayId: null, taskKey }, taskKey, resetReason: null, source: 'fallback' };
  }
  return none(null);
}

/** What a run records as the session it was given: the display id, else the session id. */
export const sessionLabel = (session: Pick<RunSession, 'id' | 'displayId'> | null): string | null => (session ? (session.displayId ?? session.id) : null);

/** The log line of a run that does not resume its stored session (§12.3). */
export const skippedResumeLine = (taskKey: string | null, reason: string) =>
  `[heartbeat] Skipping saved session resume for task "${taskKey ?? ''}" because ${reason}.`;

/** The log line of a run whose session was rotated (§12.9). */
export const rotationLine = (reason: string) => `[heartbeat] Starting a fresh session because ${reason}.`;

/** §12.9: why the session must be rotated before it is resumed (first match wins), or null. */
export function rotationReason(policy: SessionPolicy, stats: SessionStats): string | null {
  if (policy.maxSessionRuns > 0 && stats.runs > policy.maxSessionRuns) return `session exceeded ${policy.maxSessionRuns} runs`;
  if (policy.maxRawInputTokens > 0 && stats.newestRawInputTokens !== null && stats.newestRawInputTokens >= policy.maxRawInputTokens) {
    return `session raw input reached ${stats.newestRawInputTokens} tokens (threshold ${policy.maxRawInputTokens})`;
  }
  if (policy.maxSessionAgeHours > 0 && stats.newestAt && stats.oldestAt) {
    const hours = (stats.newestAt.getTime() - stats.oldestAt.getTime()) / 3_600_000;
    if (hours >= policy.maxSessionAgeHours) return `session age reached ${Math.floor(hours)} hours`;
  }
  return null;
}

/** §12.9: the handoff a rotated run is given instead of its session. */
export function rotationHandoff(input: {
  previousSessionId: string;
  issue: { identifier: string | null; title: string | null } | null;
  reason: string;
  lastRunSummary: string | null;
  continuationSummary: string | null;
}): string {
  const lines = ['## Session handoff', '', `The previous session (${input.previousSessionId}) was rotated: ${input.reason}.`];
  if (input.issue) lines.push(`Issue: ${input.issue.identifier ?? ''}${input.issue.title ? ` ${JSON.stringify(input.issue.title)}` : ''}`.trimEnd());
  if (input.lastRunSummary) lines.push('', 'Last run:', input.lastRunSummary);
  if (input.continuationSummary) lines.push('', 'Continuation summary:', input.continuationSummary.slice(0, HANDOFF_SUMMARY_CHARS));
  lines.push('', 'Continue from the current task state. Rebuild only the minimum context you need.');
  return lines.join('\n');
}

/** What the finish writes for a run's session (§12.4, §12.5). */
export interface SessionOutcome {
  /** `session_id_after`: the display id, else the session id, of the session the run left. */
  sessionIdAfter: string | null;
  /** The task session row: replaced, deleted, or left as it is. */
  write: { kind: 'upsert'; params: SessionParams; displayId: string | null } | { kind: 'delete' } | { kind: 'keep' };
}

/**
 * §12.4-12.5: the session a run leaves. `clearSession` clears it; explicit values win; a result that
 * says nothing, or no result at all (a crash, a lost process), keeps the one it was given.
 */
export function sessionAfterRun(before: RunSession | null, report: SessionReport | null | undefined): SessionOutcome {
  if (report?.clearSession === true) return { sessionIdAfter: null, write: { kind: 'delete' } };
  const reportedParams = sessionParamsFrom(report?.sessionParams);
  const reportedId = text(report?.sessionId) ?? reportedParams?.sessionId ?? null;
  if (reportedId !== null) {
    const params: SessionParams = { ...(reportedParams ?? {}), sessionId: reportedId };
    const displayId = displayIdFrom(report?.sessionDisplayId) ?? (reportedId === before?.id ? before.displayId : null);
    return { sessionIdAfter: displayId ?? reportedId, write: { kind: 'upsert', params, displayId } };
  }
  if (before === null) return { sessionIdAfter: null, write: { kind: 'keep' } };
  const displayId = displayIdFrom(report?.sessionDisplayId) ?? before.displayId;
  return { sessionIdAfter: displayId ?? before.id, write: { kind: 'upsert', params: before.params, displayId } };
}

/** The agent's rotation policy from its runtime config (`sessionPolicy`), absent values off. */
export function readSessionPolicy(runtimeConfig: unknown): SessionPolicy {
  const policy = isObject(runtimeConfig) && isObject(runtimeConfig.sessionPolicy) ? runtimeConfig.sessionPolicy : {};
  const count = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0);
  return { maxSessionRuns: count(policy.maxSessionRuns), maxRawInputTokens: count(policy.maxRawInputTokens), maxSessionAgeHours: count(policy.maxSessionAgeHours) };
}

/** Validates a `sessionPolicy` input: whole numbers, 0 or more (0 = off); null or absent = all off. */
export function validateSessionPolicyInput(input: unknown): SessionPolicy | { error: string; field: string } {
  if (input === null || input === undefined) return NO_SESSION_POLICY;
  if (!isObject(input)) return { error: 'sessionPolicy must be an object', field: 'sessionPolicy' };
  const policy = { ...NO_SESSION_POLICY };
  for (const key of Object.keys(NO_SESSION_POLICY) as Array<keyof SessionPolicy>) {
    const value = input[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 1_000_000_000) {
      return { error: `sessionPolicy.${key} must be a whole number from 0 (off) to 1000000000`, field: `sessionPolicy.${key}` };
    }
    policy[key] = value;
  }
  return policy;
}
