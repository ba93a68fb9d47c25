// A table of runs, newest first as given. Each row carries data-run-id and data-status (what tests
// and scripts look for) and opens the run's page on a click; the id cell is the link itself, so
// the row also works from the keyboard and with a middle click. The table scrolls sideways inside
// its box, never the page.
import { useLocation } from 'preact-iso';
import type { Run } from '../../index.ts';
import { RunLivenessCell, StatusBadge } from './badges.tsx';
import { label, shortId } from './format.ts';
import { hrefs } from './link.tsx';
import { ClockTime, Countdown, RunDuration } from './time.tsx';

export type RunColumn = 'run' | 'status' | 'created' | 'agent' | 'issue' | 'source' | 'liveness' | 'retry' | 'duration';

export const ALL_RUN_COLUMNS: readonly RunColumn[] = ['run', 'status', 'created', 'agent', 'issue', 'source', 'liveness', 'retry', 'duration'];

const TITLES: Record<RunColumn, string> = {
  run: 'Run',
  status: 'Status',
  created: 'Created',
  agent: 'Agent',
  issue: 'Issue',
  source: 'Source',
  liveness: 'Liveness',
  retry: 'Retry',
  duration: 'Duration',
};

/** The retry column: the countdown of a scheduled retry, or which attempt this run is. */
export function RetryCell({ run }: { run: Run }) {
  const { retry } = run;
  if (run.status === 'SCHEDULED_RETRY' && retry.scheduledAt)
    return (
      <span class="retry">
        {retry.attempt}/{retry.maxAttempts} · <Countdown to={retry.scheduledAt} />
      </span>
    );
  if (retry.exhaustedReason) return <span class="muted" title={retry.exhaustedReason}>exhausted</span>;
  if (retry.attempt > 0) return <span class="muted">attempt {retry.attempt}/{retry.maxAttempts}</span>;
  if (retry.retryOf) return <span class="muted">retry of {shortId(retry.retryOf.id)}</span>;
  return null;
}

function Cell({ column, run }: { column: RunColumn; run: Run }) {
  switch (column) {
    case 'run':
      return (
        <td class="run-link">
          <a href={hrefs.run(run.id)} title={run.id}>
            {shortId(run.id)}
          </a>
        </td>
      );
    case 'status':
      return (
        <td>
          <StatusBadge status={run.status} />
        </td>
      );
    case 'created':
      return (
        <td class="nowrap">
          <ClockTime iso={run.createdAt} />
        </td>
      );
    case 'agent':
      return (
        <td class="agent" title={run.agent.name}>
          {run.agent.name}
        </td>
      );
    case 'issue':
      return run.issue ? (
        <td class="issue" title={`${run.issue.identifier} ${run.issue.title}`}>
          <span class="ident">{run.issue.identifier}</span> {run.issue.title}
        </td>
      ) : (
        <td class="issue muted">—</td>
      );
    case 'source':
      return (
        <td class="source muted" title={run.triggerDetail ? `${label(run.invocationSource)} · ${label(run.triggerDetail)}` : undefined}>
          {label(run.invocationSource)}
        </td>
      );
    case 'liveness':
      return (
        <td>
          <RunLivenessCell run={run} />
        </td>
      );
    case 'retry':
      return (
        <td class="nowrap">
          <RetryCell run={run} />
        </td>
      );
    case 'duration':
      return (
        <td class="nowrap">
          <RunDuration run={run} />
        </td>
      );
  }
}

export interface RunsTableProps {
  runs: readonly Run[];
  columns?: readonly RunColumn[];
  /** The run to mark (the one open beside the table, if any). */
  selectedId?: string | null;
}

export function RunsTable({ runs, columns = ALL_RUN_COLUMNS, selectedId }: RunsTableProps) {
  const { route } = useLocation();
  const open = (event: MouseEvent, id: string) => {
    // A link (the run's own, or any other in the row) does its own navigation.
    if ((event.target as HTMLElement).closest('a, button')) return;
    route(hrefs.run(id));
  };
  return (
    <div class="table-wrap">
      <table class="runs-table" data-testid="runs-table">
        <colgroup>
          {columns.map((column) => (
            <col key={column} class={`col-${column}`} />
          ))}
        </colgroup>
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column}>{TITLES[column]}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => (
            <tr key={run.id} data-testid="run-row" data-run-id={run.id} data-status={run.status} class={run.id === selectedId ? 'selected' : undefined} onClick={(event) => open(event, run.id)}>
              {columns.map((column) => (
                <Cell key={column} column={column} run={run} />
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
