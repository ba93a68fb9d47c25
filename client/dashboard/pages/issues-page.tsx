// /issues: the company's issues, newest first, with identifier, title, status, priority, assignee and
// last change; filtered by status by the API (kept in the URL, ?status=TODO, so a filtered list can be linked);
// "New issue" for keys that may act. Runs change issues (an assignment's run, its comments), so the
// list is read again, at most every 2 s, while the console's live runs change.
import { useLocation } from 'preact-iso';
import { useState } from 'preact/hooks';
import type { IssueStatus } from '../../generated/graphql.ts';
import { useConsole } from '../console-context.ts';
import { describeError } from '../errors.ts';
import { useRecovered, useRunChanges } from '../live/live-context.ts';
import { EmptyState, hrefs, label, RelativeTime, StatusBadge } from '../ui/index.ts';
import { IssueForm } from './issue-form.tsx';
import { ISSUE_STATUSES } from './issue-values.ts';
import { IssuesPageQuery } from './issues-operations.ts';
import { query, useLoad, useThrottled } from './page-data.ts';

/** Pages of 100 issues the list reads at first; "Show more" reads further ones. */
const PAGE = 100;

export function IssuesPage() {
  const { client, canAct } = useConsole();
  const { query: search, route, path } = useLocation();
  const status = ISSUE_STATUSES.includes(search.status as IssueStatus) ? (search.status as IssueStatus) : null;
  const [pages, setPages] = useState(1);
  const [creating, setCreating] = useState(false);
  const issues = useLoad(`issues:${status ?? ''}:${pages}`, async () => {
    const list = [];
    let after: string | null | undefined;
    let more = false;
    const filter = status ? { status: [status] } : null;
    for (let page = 0; page < pages; page++) {
      const connection = (await query(client, IssuesPageQuery, { after, filter })).issues;
      list.push(...connection.edges.map((edge) => edge.node));
      more = connection.pageInfo.hasNextPage;
      after = connection.pageInfo.endCursor;
      if (!more) break;
    }
    return { list, more };
  });
  const reloadSoon = useThrottled(issues.reload, 2_000);
  useRunChanges(reloadSoon);
  useRecovered(issues.reload);

  const shown = issues.data?.list ?? null;
  const filterBy = (value: string) => {
    setPages(1);
    route(value ? `${path}?status=${value}` : path, true);
  };

  return (
    <section class="console-view issues-page" data-testid="issues-page">
      <header class="title-row">
        <h1 class="page-title">Issues</h1>
        {issues.data && <span class="muted" data-testid="issues-count">{shown?.length}{issues.data.more ? '+' : ''}</span>}
        <span class="spacer" />
        <label class="inline-field">
          <span class="muted">Status</span>
          <select data-testid="issue-status-filter" value={status ?? ''} onChange={(event) => filterBy(event.currentTarget.value)}>
            <option value="">All</option>
            {ISSUE_STATUSES.map((value) => (
              <option key={value} value={value}>{label(value)}</option>
            ))}
          </select>
        </label>
        {canAct && !creating && (
          <button type="button" class="primary" data-testid="new-issue-button" onClick={() => setCreating(true)}>
            New issue
          </button>
        )}
      </header>
      {canAct && creating && <IssueForm onCreated={(issue) => route(hrefs.issue(issue.id))} onCancel={() => setCreating(false)} />}
      {issues.error && <p class="form-error" data-testid="issues-error">Cannot load the issues: {describeError(issues.error)}</p>}
      {!issues.data && !issues.error && <p class="muted">Loading issues…</p>}
      {shown?.length === 0 && <EmptyState testId="issues-empty">{status ? `No ${label(status)} issues.` : 'No issues yet.'}</EmptyState>}
      {shown && shown.length > 0 && (
        <div class="panel table-wrap">
          <table class="issues-table" data-testid="issues-table">
            <thead>
              <tr>
                <th class="col-ident">Issue</th>
                <th class="col-title">Title</th>
                <th class="col-status">Status</th>
                <th class="col-priority">Priority</th>
                <th class="col-assignee">Assignee</th>
                <th class="col-time">Updated</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((issue) => (
                <tr key={issue.id} data-testid="issue-row" data-issue-id={issue.id} data-status={issue.status}>
                  <td class="col-ident">
                    <a href={hrefs.issue(issue.id)} data-testid="issue-link">{issue.identifier}</a>
                  </td>
                  <td class="col-title" title={issue.title}>
                    <a href={hrefs.issue(issue.id)} class="plain">{issue.title}</a>
                  </td>
                  <td><StatusBadge status={issue.status} /></td>
                  <td><span class={`priority priority-${issue.priority.toLowerCase()}`}>{label(issue.priority)}</span></td>
                  <td class="col-assignee">
                    {issue.assigneeAgent ? (
                      <a href={hrefs.agent(issue.assigneeAgent.id)}>{issue.assigneeAgent.name}</a>
                    ) : issue.assigneeUserId ? (
                      <span title={issue.assigneeUserId}>a person</span>
                    ) : (
                      <span class="muted">—</span>
                    )}
                  </td>
                  <td><RelativeTime iso={issue.updatedAt} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {issues.data?.more && (
        <p class="table-foot">
          <button type="button" class="link" data-testid="issues-more" onClick={() => setPages(pages + 1)}>
            Show {PAGE} more
          </button>
        </p>
      )}
    </section>
  );
}
