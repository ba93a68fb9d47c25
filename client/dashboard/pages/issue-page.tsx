// /issues/:id: one issue. Its title, status, priority, assignee and description; the issues blocking
// it; its comments; its documents (the latest body of each key, e.g. the continuation-summary the last
// run left); its run ledger as it changes (the console's live runs of this issue) and what its runs
// cost. Keys that may act assign or reassign it, change its status and comment on it.
import { HeartbeatApiError } from '../../index.ts';
import { useConsole } from '../console-context.ts';
import { describeError } from '../errors.ts';
import { ALL_RUN_COLUMNS, EmptyState, hrefs, label, money, RelativeTime, RunsTable, StatusBadge, tokens } from '../ui/index.ts';
import { IssueComments } from './issue-comments.tsx';
import { IssueControls } from './issue-controls.tsx';
import { IssuePageQuery } from './issues-operations.ts';
import { useLiveRuns } from './live-runs.ts';
import { query, useLoad, useThrottled } from './page-data.ts';

/** The ledger needs no issue column. */
const LEDGER_COLUMNS = ALL_RUN_COLUMNS.filter((column) => column !== 'issue');

async function readIssue(client: ReturnType<typeof useConsole>['client'], id: string) {
  const { issue } = await query(client, IssuePageQuery, { id });
  if (!issue) throw new HeartbeatApiError(`There is no issue ${id} in your company.`, 'NOT_FOUND');
  return issue;
}

export function IssuePage({ id }: { id: string }) {
  const { client, canAct } = useConsole();
  const issue = useLoad(`issue:${id}`, () => readIssue(client, id));
  // A run of this issue writes comments and documents and changes its status: read it again, at most every 2 s.
  const reloadSoon = useThrottled(issue.reload, 2_000);
  const loadedRuns = issue.data ? issue.data.runs.edges.map((edge) => edge.node) : null;
  const runs = useLiveRuns({ issueId: id }, loadedRuns, { onChange: reloadSoon, onRecovered: issue.reload });

  if (!issue.data) {
    return (
      <section class="console-view issue-page" data-testid="issue-page">
        <p class="crumbs"><a href="/issues">Issues</a> /</p>
        {issue.error ? (
          <p class="form-error" data-testid="issue-error" data-code={issue.error.code}>Cannot load the issue: {describeError(issue.error)}</p>
        ) : (
          <p class="muted">Loading the issue…</p>
        )}
      </section>
    );
  }
  const data = issue.data;

  return (
    <section class="console-view issue-page" data-testid="issue-page" data-issue-id={data.id}>
      <p class="crumbs"><a href="/issues">Issues</a> / <span class="ident">{data.identifier}</span></p>
      <header class="title-row">
        <h1 class="page-title" data-testid="issue-title-heading">{data.title}</h1>
        <span data-testid="issue-status" data-status={data.status}><StatusBadge status={data.status} /></span>
        <span class={`priority priority-${data.priority.toLowerCase()}`} data-testid="issue-priority-label">{label(data.priority)}</span>
      </header>
      <dl class="issue-facts">
        <dt>Assignee</dt>
        <dd data-testid="issue-assignee">
          {data.assigneeAgent ? (
            <>
              <a href={hrefs.agent(data.assigneeAgent.id)}>{data.assigneeAgent.name}</a> <StatusBadge status={data.assigneeAgent.status} />
            </>
          ) : data.assigneeUserId ? (
            <span title={data.assigneeUserId}>a person</span>
          ) : (
            <span class="muted">nobody</span>
          )}
        </dd>
        {data.project && (
          <>
            <dt>Project</dt>
            <dd>{data.project.name}</dd>
          </>
        )}
        <dt>Updated</dt>
        <dd><RelativeTime iso={data.updatedAt} /></dd>
        <dt>Cost</dt>
        <dd data-testid="issue-cost">
          {money(data.cost.costCents)} <span class="muted">· {tokens(data.cost.inputTokens + data.cost.outputTokens)} tokens · {data.cost.runs} run{data.cost.runs === 1 ? '' : 's'} billed</span>
        </dd>
      </dl>
      {canAct && <IssueControls issueId={data.id} assigneeAgentId={data.assigneeAgent?.id ?? null} status={data.status} onChanged={issue.reload} />}

      <div class="two-columns">
        <div class="main-column">
          <section class="panel" data-testid="issue-description">
            <h2>Description</h2>
            {data.description ? <div class="prose">{data.description}</div> : <EmptyState>No description.</EmptyState>}
          </section>
          <IssueComments issueId={data.id} comments={data.comments} onAdded={issue.reload} />
        </div>
        <div class="side-column">
          <section class="panel" data-testid="issue-blockers">
            <h2>Blocked by</h2>
            {data.blockers.length === 0 ? (
              <EmptyState>Nothing.</EmptyState>
            ) : (
              <ul class="plain-list">
                {data.blockers.map((blocker) => (
                  <li key={blocker.id}>
                    <a href={hrefs.issue(blocker.id)} data-testid="blocker-link">
                      <span class="ident">{blocker.identifier}</span> {blocker.title}
                    </a>{' '}
                    <StatusBadge status={blocker.status} />
                  </li>
                ))}
              </ul>
            )}
          </section>
          <section class="panel" data-testid="issue-documents">
            <h2>Documents</h2>
            {data.documents.length === 0 && <EmptyState>No documents yet.</EmptyState>}
            {data.documents.map((document) => (
              <details key={document.id} class="document" data-testid="document" data-key={document.key} open={data.documents.length === 1}>
                <summary>
                  <code>{document.key}</code> <span class="muted">· revision {document.revisionCount} · <RelativeTime iso={document.updatedAt} /></span>
                </summary>
                <pre class="document-body" data-testid="document-body">{document.body}</pre>
              </details>
            ))}
          </section>
        </div>
      </div>
      <section class="panel" data-testid="issue-runs">
        <h2>Run ledger <span class="muted">{data.runs.totalCount}</span></h2>
        {runs && runs.length > 0 ? <RunsTable runs={runs} columns={LEDGER_COLUMNS} /> : <EmptyState>No run has worked on it yet.</EmptyState>}
      </section>
    </section>
  );
}
