// The runs page's filter bar: search, statuses, agent, issue, liveness and time range. Each change
// is a new URL (so the back button undoes it and the view is a link); typing in the search box
// replaces the URL rather than adding an entry per key.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { LivenessState, RunStatus } from '../../generated/graphql.ts';
import { label } from '../ui/format.ts';
import { isFiltered, LIVENESS_STATES, NO_FILTER, RUN_STATUSES, type RunsView } from './run-filter.ts';
import type { FilterOptions } from './use-filter-options.ts';

/** How long the search box waits after the last key before it searches. */
const SEARCH_DELAY_MS = 400;

/** An ISO instant as a datetime-local input's value (local time, to the minute). */
const toLocalInput = (iso: string | null) => {
  if (!iso) return '';
  const date = new Date(iso);
  return new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};
/** A datetime-local input's value (local time) as an ISO instant. */
const fromLocalInput = (value: string) => (value && !Number.isNaN(Date.parse(value)) ? new Date(value).toISOString() : null);

export interface RunsFiltersProps {
  view: RunsView;
  options: FilterOptions | null;
  /** A new view; `replace` for one that should not add a history entry (typing). */
  onChange(view: RunsView, replace?: boolean): void;
}

function SearchBox({ view, onChange }: Pick<RunsFiltersProps, 'view' | 'onChange'>) {
  const [text, setText] = useState(view.search ?? '');
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  // Another URL (back button, a link): show its search.
  useEffect(() => setText(view.search ?? ''), [view.search]);
  useEffect(() => () => timer.current && clearTimeout(timer.current), []);
  const apply = (value: string, replace: boolean) => {
    if (timer.current) clearTimeout(timer.current);
    timer.current = null;
    const search = value.trim() || null;
    if (search !== view.search) onChange({ ...view, search }, replace);
  };
  return (
    <form
      class="search"
      role="search"
      onSubmit={(event) => {
        event.preventDefault();
        apply(text, false);
      }}
    >
      <input
        type="search"
        value={text}
        placeholder="Search by id or summary…"
        aria-label="Search runs by id or summary"
        data-testid="runs-search"
        onInput={(event) => {
          const value = event.currentTarget.value;
          setText(value);
          if (timer.current) clearTimeout(timer.current);
          timer.current = setTimeout(() => apply(value, true), SEARCH_DELAY_MS);
        }}
      />
    </form>
  );
}

function StatusChips({ view, onChange }: Pick<RunsFiltersProps, 'view' | 'onChange'>) {
  const toggle = (status: RunStatus) => {
    const status_ = view.status.includes(status) ? view.status.filter((s) => s !== status) : [...view.status, status];
    onChange({ ...view, status: RUN_STATUSES.filter((s) => status_.includes(s)) });
  };
  return (
    <div class="chips" role="group" aria-label="Status">
      {RUN_STATUSES.map((status) => (
        <button
          key={status}
          type="button"
          class={`chip badge-${status.toLowerCase()}`}
          aria-pressed={view.status.includes(status)}
          data-testid={`status-filter-${status}`}
          onClick={() => toggle(status)}
        >
          {label(status)}
        </button>
      ))}
    </div>
  );
}

export function RunsFilters({ view, options, onChange }: RunsFiltersProps) {
  const agents = options?.agents ?? [];
  const issues = options?.issues ?? [];
  // A filter on an agent or issue the options do not list (yet): still shown as chosen.
  const agentMissing = view.agentId && !agents.some((agent) => agent.id === view.agentId);
  const issueMissing = view.issueId && !issues.some((issue) => issue.id === view.issueId);
  const liveness = view.liveness.join(',');
  return (
    <div class="filters" data-testid="runs-filters">
      <div class="filter-row">
        <SearchBox view={view} onChange={onChange} />
        <StatusChips view={view} onChange={onChange} />
      </div>
      <div class="filter-row">
        <label class="field">
          <span>Agent</span>
          <select data-testid="agent-filter" value={view.agentId ?? ''} onChange={(event) => onChange({ ...view, agentId: event.currentTarget.value || null })}>
            <option value="">All agents</option>
            {agentMissing ? <option value={view.agentId!}>(this agent)</option> : null}
            {agents.map((agent) => (
              <option key={agent.id} value={agent.id}>
                {agent.name}
              </option>
            ))}
          </select>
        </label>
        <label class="field">
          <span>Issue</span>
          <select data-testid="issue-filter" value={view.issueId ?? ''} onChange={(event) => onChange({ ...view, issueId: event.currentTarget.value || null })}>
            <option value="">All issues</option>
            {issueMissing ? <option value={view.issueId!}>(this issue)</option> : null}
            {issues.map((issue) => (
              <option key={issue.id} value={issue.id}>
                {issue.identifier} {issue.title}
              </option>
            ))}
          </select>
        </label>
        <label class="field">
          <span>Liveness</span>
          <select
            data-testid="liveness-filter"
            value={liveness}
            onChange={(event) => onChange({ ...view, liveness: event.currentTarget.value ? (event.currentTarget.value.split(',') as LivenessState[]) : [] })}
          >
            <option value="">Any liveness</option>
            {view.liveness.length > 1 ? <option value={liveness}>{view.liveness.map(label).join(' or ')}</option> : null}
            {LIVENESS_STATES.map((state) => (
              <option key={state} value={state}>
                {label(state)}
              </option>
            ))}
          </select>
        </label>
        <label class="field">
          <span>Created after</span>
          <input type="datetime-local" data-testid="created-after" value={toLocalInput(view.after)} onChange={(event) => onChange({ ...view, after: fromLocalInput(event.currentTarget.value) })} />
        </label>
        <label class="field">
          <span>before</span>
          <input type="datetime-local" data-testid="created-before" value={toLocalInput(view.before)} onChange={(event) => onChange({ ...view, before: fromLocalInput(event.currentTarget.value) })} />
        </label>
        {isFiltered(view) ? (
          <button type="button" class="link clear-filters" data-testid="clear-filters" onClick={() => onChange(NO_FILTER)}>
            Clear filters
          </button>
        ) : null}
      </div>
    </div>
  );
}
