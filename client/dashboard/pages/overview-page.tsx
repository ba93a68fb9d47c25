// /: the overview. How many runs wait and run now, what the last hour's runs did (per minute by outcome,
// and their p95 duration), what the last 14 days cost, the latest failed runs, and the agents that need
// a person (paused or in error). One request reads all of it; it is read again when runs change (at
// most every 2 s) and every 30 s for the sliding hour, never more often.
import { useMemo } from 'preact/hooks';
import { useConsole } from '../console-context.ts';
import { describeError } from '../errors.ts';
import { useRecovered, useRunChanges } from '../live/live-context.ts';
import { EmptyState, hrefs, lastDays, money, RunsTable, StatusBadge } from '../ui/index.ts';
import { P95DurationChart, RunsPerMinuteChart, SpendPerDayChart } from './overview-charts.tsx';
import { OverviewQuery } from './overview-operations.ts';
import { query, useInterval, useLoad, useThrottled } from './page-data.ts';

const MINUTE_MS = 60_000;
/** The charts' window: the last hour, minute by minute. */
const WINDOW_MINUTES = 60;
/** The sliding hour moves on by itself: read again this often even when no run changes. */
const SLIDE_MS = 30_000;

/** Statuses of agents a person should look at. */
const ATTENTION = new Set(['PAUSED', 'ERROR']);

function readOverview(client: ReturnType<typeof useConsole>['client']) {
  // The hour starts on a minute, so that each bucket is one calendar minute.
  const activityFrom = new Date(Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS - (WINDOW_MINUTES - 1) * MINUTE_MS).toISOString();
  const days = lastDays();
  return query(client, OverviewQuery, { activityFrom, spendFrom: `${days[0]}T00:00:00.000Z` }).then((data) => ({ ...data, days }));
}

export function OverviewPage() {
  const { client } = useConsole();
  const overview = useLoad('overview', () => readOverview(client));
  const reloadSoon = useThrottled(overview.reload, 2_000);
  useRunChanges(reloadSoon);
  useRecovered(overview.reload);
  useInterval(overview.reload, SLIDE_MS);

  const data = overview.data;
  const spendDays = useMemo(() => {
    if (!data) return [];
    const byDay = new Map(data.spendByDay.map((bucket) => [bucket.day, bucket.costCents]));
    return data.days.map((day) => ({ day, costCents: byDay.get(day) ?? 0 }));
  }, [data]);

  if (!data) {
    return (
      <section class="console-view overview-page" data-testid="overview-page">
        <h1 class="page-title">Overview</h1>
        {overview.error ? <p class="form-error" data-testid="overview-error">Cannot load the overview: {describeError(overview.error)}</p> : <p class="muted">Loading…</p>}
      </section>
    );
  }

  const { activity } = data;
  const hour = activity.buckets.reduce(
    (sum, bucket) => ({ finished: sum.finished + bucket.succeeded + bucket.failed + bucket.cancelled + bucket.timedOut, failed: sum.failed + bucket.failed + bucket.timedOut, started: sum.started + bucket.started }),
    { finished: 0, failed: 0, started: 0 },
  );
  const spendTotal = spendDays.reduce((sum, day) => sum + day.costCents, 0);
  const attention = data.agents.edges.map((edge) => edge.node).filter((agent) => ATTENTION.has(agent.status));
  const failedRuns = data.failedRuns.edges.map((edge) => edge.node);

  return (
    <section class="console-view overview-page" data-testid="overview-page">
      <header class="title-row">
        <h1 class="page-title">Overview</h1>
        {overview.error && <span class="form-error small" data-testid="overview-stale">Not current: {describeError(overview.error)}</span>}
      </header>
      <div class="stat-grid" data-testid="overview-numbers">
        <Figure testId="overview-queued" label="Waiting now" value={activity.queued} />
        <Figure testId="overview-running" label="Running now" value={activity.running} />
        <Figure testId="overview-started" label="Started, last hour" value={hour.started} />
        <Figure testId="overview-finished" label="Finished, last hour" value={hour.finished} />
        <Figure testId="overview-failed" label="Failed, last hour" value={hour.failed} />
        <Figure testId="overview-spend" label="Spend, 14 days" value={money(spendTotal)} />
      </div>
      <div class="chart-grid">
        <section class="panel">
          <h2>Runs per minute, last hour</h2>
          <RunsPerMinuteChart buckets={activity.buckets} />
        </section>
        <section class="panel">
          <h2>p95 duration per minute</h2>
          <P95DurationChart buckets={activity.buckets} />
        </section>
        <section class="panel">
          <h2>Spend per day, 14 days (UTC)</h2>
          <SpendPerDayChart days={spendDays} />
        </section>
      </div>
      <div class="two-columns">
        <section class="panel" data-testid="overview-failed-runs">
          <h2>Latest failed runs</h2>
          {failedRuns.length ? <RunsTable runs={failedRuns} columns={['run', 'status', 'created', 'agent', 'issue', 'duration']} /> : <EmptyState>No failed runs.</EmptyState>}
        </section>
        <section class="panel" data-testid="overview-attention">
          <h2>Agents needing attention</h2>
          {attention.length === 0 ? (
            <EmptyState>None: no agent is paused or in error.</EmptyState>
          ) : (
            <ul class="plain-list">
              {attention.map((agent) => (
                <li key={agent.id} data-testid="attention-agent" data-agent-id={agent.id} data-status={agent.status}>
                  <a href={hrefs.agent(agent.id)}>{agent.name}</a> <StatusBadge status={agent.status} />
                  {agent.runtimeState?.lastError && <div class="muted small clamp">{agent.runtimeState.lastError}</div>}
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
    </section>
  );
}

function Figure({ label, value, testId }: { label: string; value: number | string; testId: string }) {
  return (
    <div class="panel stat" data-testid={testId}>
      <div class="stat-label">{label}</div>
      <div class="stat-value" data-testid={`${testId}-value`} data-value={value}>{value}</div>
    </div>
  );
}
