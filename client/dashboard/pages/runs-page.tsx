// /runs: every run of the company, newest first, live (new runs appear, rows change in place over
// the console's one subscription; the list is never polled), filtered by what the URL's query
// string says, older runs page by page; under them, what the company's runs cost lately.
import { useLocation } from 'preact-iso';
import { useMemo } from 'preact/hooks';
import { isFiltered, queryOfView, viewFromQuery, type RunsView } from '../runs/run-filter.ts';
import { RunsFilters } from '../runs/runs-filters.tsx';
import { useFilterOptions } from '../runs/use-filter-options.ts';
import { useRunList, type RunListState } from '../runs/use-run-list.ts';
import { EmptyState } from '../ui/empty-state.tsx';
import { hrefs } from '../ui/link.tsx';
import { RunsTable } from '../ui/runs-table.tsx';
import { SpendPanel } from '../ui/spend-panel.tsx';

function Footer({ list }: { list: RunListState }) {
  const count = list.runs.length;
  if (!list.loaded || count === 0) return null;
  const shown = `${count} run${count === 1 ? '' : 's'} shown`;
  const dropped = list.dropped ? ` · ${list.dropped} older run${list.dropped === 1 ? '' : 's'} removed from the table to keep it short` : '';
  return (
    <p class="table-foot">
      <span class="muted" data-testid="runs-count">
        {`${shown}${dropped}${list.hasOlder ? ' · ' : ' · no older runs'}`}
      </span>
      {list.hasOlder ? (
        <button
          type="button"
          class="link"
          data-testid="load-older"
          onClick={(event) => {
            const button = event.currentTarget;
            button.disabled = true;
            void list.loadOlder().finally(() => (button.disabled = false));
          }}
        >
          Load older runs
        </button>
      ) : null}
    </p>
  );
}

function Empty({ list, view }: { list: RunListState; view: RunsView }) {
  if (list.runs.length > 0) return null;
  if (list.error)
    return (
      <EmptyState testId="runs-empty">
        The runs could not be loaded.{' '}
        <button type="button" class="link" onClick={list.reload}>
          Try again
        </button>
      </EmptyState>
    );
  if (!list.loaded) return <EmptyState testId="runs-empty">Loading runs…</EmptyState>;
  if (isFiltered(view))
    return (
      <EmptyState testId="runs-empty">
        No runs match these filters. <a href="/runs">Show all runs</a>
      </EmptyState>
    );
  return <EmptyState testId="runs-empty">No runs yet. Wake an agent and its runs appear here.</EmptyState>;
}

export function RunsPage() {
  const { url, query, route } = useLocation();
  const view = useMemo(() => viewFromQuery(query), [url]);
  const key = queryOfView(view);
  const list = useRunList(view, key);
  const options = useFilterOptions();
  const show = (next: RunsView, replace = false) => {
    const nextQuery = queryOfView(next);
    if (nextQuery !== key) route(hrefs.runs(Object.fromEntries(new URLSearchParams(nextQuery))), replace);
  };
  return (
    <div class="console-view">
      <section class="panel runs-page" data-testid="runs-page">
        <div class="title-row">
          <h1 class="page-title">Runs</h1>
          {list.loading && list.loaded ? <span class="muted">Updating…</span> : null}
        </div>
        <RunsFilters view={view} options={options} onChange={show} />
        <RunsTable runs={list.runs} />
        <Empty list={list} view={view} />
        <Footer list={list} />
      </section>
      <SpendPanel />
    </div>
  );
}
