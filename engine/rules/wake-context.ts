// The wake context (a run's `context_snapshot`): how a wake request's reason and payload are folded
// into it, how two are merged when wakes coalesce, and the questions the engine asks of it (spec §5).
import type { TriggerDetail, WakeupSource } from '../../db/enums.ts';

export type WakeContext = Record<string, unknown>;

export interface WakeInput {
  source: WakeupSource;
  triggerDetail?: TriggerDetail | null;
  reason?: string | null;
  payload?: Record<string, unknown> | null;
}

/** Wakes caused by someone talking to the agent on an issue (Decisions 6 keeps `mentioned`). */
export const INTERACTION_REASONS: readonly string[] = [
  'issue_commented',
  'issue_reopened_via_comment',
  'issue_comment_mentioned',
];

/** Wakes after which the run is expected to leave a comment on its issue (§6.10). */
export const COMMENT_REQUIRED_REASONS: readonly string[] = [
  'issue_assigned',
  'execution_review_requested',
  'execution_approval_requested',
  'execution_changes_requested',
];

/** The string if it has visible content, else null. Ids and reasons are only ever strings. */
function text(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value : null;
}

const firstText = (...values: unknown[]): string | null => {
  for (const value of values) {
    const found = text(value);
    if (found !== null) return found;
  }
  return null;
};

/** Ordered, first occurrence wins. */
const unique = (ids: string[]): string[] => [...new Set(ids)];

/**
 * Comment ids a context carries: its `wakeCommentIds` list, else the single `wakeCommentId`, else
 * `commentId` (older contexts only have the single ones).
 */
export function wakeCommentIdsOf(ctx: WakeContext): string[] {
  const list = Array.isArray(ctx.wakeCommentIds)
    ? ctx.wakeCommentIds.filter((id): id is string => text(id) !== null)
    : [];
  if (list.length > 0) return unique(list);
  const single = firstText(ctx.wakeCommentId, ctx.commentId);
  return single === null ? [] : [single];
}

/**
 * Writes the comment-id union into `ctx` (mutates; callers pass their own copy). The last id is the
 * one the run answers, and a stale rendered `wakePayload` would name the wrong comments, so it goes.
 */
function applyCommentIds(ctx: WakeContext, ids: string[]): void {
  const all = unique(ids);
  if (all.length === 0) return;
  const latest = all[all.length - 1];
  ctx.wakeCommentIds = all;
  ctx.commentId = latest;
  ctx.wakeCommentId = latest;
  delete ctx.wakePayload;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Where the deferred wakeup keeps its context inside its own payload (Decisions 12): engine state. */
const DEFERRED_CONTEXT_KEY = '_deferredWakeContext';

/**
 * The caller's payload reaches the run as `ctx.payload`, a namespace of its own: its keys can never
 * overwrite the engine's (`issueId`, `wakeReason`, ...). Merged key by key, the newer request
 * winning, so a coalesced run and a retry (whose context carries the old payload) keep every key.
 */
function mergePayload(older: unknown, newer: unknown): Record<string, unknown> | undefined {
  const merged = { ...(isObject(older) ? older : {}), ...(isObject(newer) ? newer : {}) };
  delete merged[DEFERRED_CONTEXT_KEY];
  return Object.keys(merged).length > 0 ? merged : undefined;
}

function setPayload(ctx: WakeContext, older: unknown, newer: unknown): void {
  const merged = mergePayload(older, newer);
  if (merged) ctx.payload = merged;
}

/** Sets `key` only when the context has no usable value there: enrichment never overwrites. */
function fill(ctx: WakeContext, key: string, value: string | null | undefined): void {
  if (text(ctx[key]) === null && text(value) !== null) ctx[key] = value;
}

/**
 * Folds a wake request into its context (spec §5 Enrichment), plus its payload as `ctx.payload`
 * (the API promises the payload to the run; the spec hands it only to a rendering out of scope).
 * Returns a new object.
 */
export function enrichWakeContext(ctx: WakeContext | null | undefined, wake: WakeInput): WakeContext {
  const original: WakeContext = { ...(ctx ?? {}) };
  const payload = wake.payload ?? {};
  const payloadIssueId = text(payload.issueId);
  const payloadCommentId = text(payload.commentId);
  // Derived from the context as it came in, before issueId/taskId are filled below.
  const taskKey = firstText(
    original.taskKey,
    original.taskId,
    original.issueId,
    payload.taskKey,
    payload.taskId,
    payload.issueId,
  );

  const out: WakeContext = { ...original };
  fill(out, 'wakeReason', wake.reason);
  fill(out, 'issueId', payloadIssueId);
  fill(out, 'taskId', payloadIssueId);
  fill(out, 'taskKey', taskKey);
  fill(out, 'commentId', payloadCommentId);
  applyCommentIds(out, [...wakeCommentIdsOf(original), ...(payloadCommentId === null ? [] : [payloadCommentId])]);
  fill(out, 'wakeSource', wake.source);
  fill(out, 'wakeTriggerDetail', wake.triggerDetail);
  setPayload(out, original.payload, wake.payload);
  return out;
}

/**
 * Coalesce merge (spec §5): the newer context wins key by key; comment ids accumulate, older first;
 * the callers' payloads merge key by key too.
 */
export function mergeWakeContext(
  previous: WakeContext | null | undefined,
  next: WakeContext | null | undefined,
): WakeContext {
  const older = previous ?? {};
  const newer = next ?? {};
  const out: WakeContext = { ...older, ...newer };
  // What a run was told is rendered again when it starts (§15.3): an older rendering would be stale.
  for (const key of RENDERED_WAKE_KEYS) delete out[key];
  applyCommentIds(out, [...wakeCommentIdsOf(older), ...wakeCommentIdsOf(newer)]);
  setPayload(out, older.payload, newer.payload);
  // A run's trace is the one of the wakeup that queued it (telemetry/tracing.ts): joining it does not move it.
  if (typeof older.traceparent === 'string') out.traceparent = older.traceparent;
  return out;
}

/** The context keys the claim renders for an issue run (§15): the wake, the task text, the summary. */
export const RENDERED_WAKE_KEYS = ['wake', 'taskMarkdown', 'continuationSummary'] as const;

/** Runs with equal keys (null included) work on the same thing and coalesce. */
export function wakeScopeKey(ctx: WakeContext): string | null {
  return firstText(ctx.taskKey, ctx.taskId, ctx.issueId);
}

/** The comment the run is answering, if any. */
export function latestWakeCommentId(ctx: WakeContext): string | null {
  const list = Array.isArray(ctx.wakeCommentIds)
    ? ctx.wakeCommentIds.filter((id): id is string => text(id) !== null)
    : [];
  return list.length > 0 ? list[list.length - 1] : firstText(ctx.wakeCommentId, ctx.commentId);
}

/** Someone spoke to the agent: such wakes get past dependency and assignee gates (§6.1, §6.3). */
export function isInteractionWake(ctx: WakeContext): boolean {
  return (
    typeof ctx.wakeReason === 'string' &&
    INTERACTION_REASONS.includes(ctx.wakeReason) &&
    latestWakeCommentId(ctx) !== null
  );
}

/**
 * Reasons that ask the run for something of their own, so that a run started for another reason
 * did not receive the request: the comment-required reasons (§6.10: the run must answer on its
 * issue) and an approval. Any other reason (a timer tick, `ping`, a
 * caller's free-form label) only says why the agent was woken; what the wake asks for travels in
 * its payload and comment ids.
 */
export const DIRECTIVE_REASONS: readonly string[] = [...COMMENT_REQUIRED_REASONS, 'approval_approved'];

/** Payload keys that restate the task scope, which the context also carries at its top level. */
const SCOPE_KEYS: readonly string[] = ['issueId', 'taskId', 'taskKey'];

/** What a wake brings that a run did not receive (unreceivedWakeParts). */
export interface UnreceivedWake {
  /** Keys of the wake's payload the run got with another value, or not at all. */
  payloadKeys: string[];
  /** The wake's comment ids the run was not woken for. */
  commentIds: string[];
  /** The wake's reason, when it is a directive one the run was not started for. */
  reason: string | null;
}

/** JSON equality: objects compare key by key whatever their order (jsonb reorders), absent = undefined. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((value, i) => jsonEqual(value, b[i]));
  }
  if (!isObject(a) || !isObject(b)) return false;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) if (!jsonEqual(a[key], b[key])) return false;
  return true;
}

/**
 * What the wake context `incoming` carries that a run started with the context `received` did not
 * get; null when nothing. A wake that joins a run already executing cannot reach its process (its
 * context was handed over at the start), so anything listed here needs a follow-up run. Counted:
 * - a payload key the run did not get with an equal (JSON) value; the scope keys (issueId, taskId,
 *   taskKey) also count as received when the context carries them at its top level, and
 *   `commentId` is judged as a comment id;
 * - a comment id the run was not woken for;
 * - a directive reason (DIRECTIVE_REASONS) other than the one the run was started for.
 * Not counted: the rest of the context, which is the engine's bookkeeping about the wake, not
 * something asked of the run (wakeReason for other reasons, wakeSource, wakeTriggerDetail, a
 * timer's `now`, blocker summaries, the scope keys, which are equal by construction).
 */
export function unreceivedWakeParts(received: WakeContext | null | undefined, incoming: WakeContext | null | undefined): UnreceivedWake | null {
  const had = received ?? {};
  const wake = incoming ?? {};
  const hadPayload = isObject(had.payload) ? had.payload : {};
  const payload = isObject(wake.payload) ? wake.payload : {};
  const payloadKeys = Object.keys(payload).filter((key) => {
    const value = payload[key];
    if (value === undefined || key === 'commentId') return false;
    if (jsonEqual(hadPayload[key], value)) return false;
    return !(SCOPE_KEYS.includes(key) && jsonEqual(had[key], value));
  });
  const hadComments = new Set(wakeCommentIdsOf(had));
  const commentIds = wakeCommentIdsOf(wake).filter((id) => !hadComments.has(id));
  const reason = text(wake.wakeReason);
  const newReason = reason !== null && DIRECTIVE_REASONS.includes(reason) && reason !== had.wakeReason ? reason : null;
  if (payloadKeys.length === 0 && commentIds.length === 0 && newReason === null) return null;
  return { payloadKeys, commentIds, reason: newReason };
}

/** Counters read back from stored JSON (e.g. livenessContinuationAttempt): anything odd counts as 0. */
export function positiveIntOrZero(value: unknown): number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : 0;
}
