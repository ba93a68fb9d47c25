// The runs page's filters as they live in its URL (so a filtered view is a link): which statuses,
// agent, issue, liveness states, time range and search text. Read from and written to the query
// string, turned into the API's RunFilter, and matched against a run that arrives live (pure).
import type { LivenessState, RunFilter, RunStatus } from '../../generated/graphql.ts';
import type { Run } from '../../index.ts';
import { rawId } from '../ui/format.ts';

export const RUN_STATUSES: readonly RunStatus[] = ['QUEUED', 'SCHEDULED_RETRY', 'RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED'];
export const LIVENESS_STATES: readonly LivenessState[] = ['ADVANCED', 'COMPLETED', 'PLAN_ONLY', 'EMPTY_RESPONSE', 'NEEDS_FOLLOWUP', 'BLOCKED', 'FAILED'];

export interface RunsView {
  status: RunStatus[];
  agentId: string | null;
  issueId: string | null;
  liveness: LivenessState[];
  /** Created at or after (ISO). */
  after: string | null;
  /** Created before (ISO). */
  before: string | null;
  /** An id (whole, uuid or short) or words of the summary or error. */
  search: string | null;
}

export const NO_FILTER: RunsView = { status: [], agentId: null, issueId: null, liveness: [], after: null, before: null, search: null };

const list = <T extends string>(value: string | undefined, allowed: readonly T[]): T[] =>
  (value ?? '')
    .split(',')
    .map((item) => item.trim().toUpperCase())
    .filter((item): item is T => (allowed as readonly string[]).includes(item));

const instant = (value: string | undefined) => (value && !Number.isNaN(Date.parse(value)) ? new Date(value).toISOString() : null);

/** The view a query string asks for; unknown values are left out. */
export function viewFromQuery(query: Record<string, string | undefined>): RunsView {
  return {
    status: list(query.status, RUN_STATUSES),
    agentId: query.agent || null,
    issueId: query.issue || null,
    liveness: list(query.liveness, LIVENESS_STATES),
    after: instant(query.after),
    before: instant(query.before),
    search: query.q?.trim() || null,
  };
}

/** The query string of a view (without the "?"; empty for no filter), in a stable order. */
export function queryOfView(view: RunsView): string {
  const params = new URLSearchParams();
  if (view.status.length) params.set('status', view.status.join(','));
  if (view.agentId) params.set('agent', view.agentId);
  if (view.issueId) params.set('issue', view.issueId);
  if (view.liveness.length) params.set('liveness', view.liveness.join(','));
  if (view.after) params.set('after', view.after);
  if (view.before) params.set('before', view.before);
  if (view.search) params.set('q', view.search);
  return params.toString();
}

export const isFiltered = (view: RunsView) => queryOfView(view) !== '';

/** The API's filter for a view. */
export function apiFilter(view: RunsView): RunFilter {
  const filter: RunFilter = {};
  if (view.status.length) filter.status = view.status;
  if (view.agentId) filter.agentId = view.agentId;
  if (view.issueId) filter.issueId = view.issueId;
  if (view.liveness.length) filter.livenessState = view.liveness;
  if (view.after) filter.createdAfter = view.after;
  if (view.before) filter.createdBefore = view.before;
  if (view.search) filter.search = view.search;
  return filter;
}

/**
 * Whether a run that just appeared belongs in the view. A search is matched as the API would on
 * what a live update carries: the id (global, uuid or its first hex digits) and the error; a run
 * found only by its summary shows once the list is read again.
 */
export function runMatches(run: Run, view: RunsView): boolean {
  if (view.status.length && !view.status.includes(run.status)) return false;
  if (view.agentId && run.agent.id !== view.agentId) return false;
  if (view.issueId && run.issue?.id !== view.issueId) return false;
  if (view.liveness.length && (!run.liveness.state || !view.liveness.includes(run.liveness.state))) return false;
  const created = Date.parse(run.createdAt);
  if (view.after && created < Date.parse(view.after)) return false;
  if (view.before && created >= Date.parse(view.before)) return false;
  if (view.search) {
    const text = view.search.toLowerCase();
    const uuid = rawId(run.id).toLowerCase();
    const byId = run.id === view.search || uuid === text || (/^[0-9a-f-]{4,}$/.test(text) && uuid.startsWith(text));
    const byError = [run.error, run.errorCode].some((field) => field?.toLowerCase().includes(text));
    if (!byId && !byError) return false;
  }
  return true;
}
