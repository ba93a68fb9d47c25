// /agents: every agent with its status, adapter, last heartbeat, active run and its last 7 days
// (success rate, tokens, cost), kept current by the console's live run changes (a reload at most
// every 2 s while runs change, nothing while they do not); and the "New agent" form for keys that may act.
import { useLocation } from 'preact-iso';
import { useState } from 'preact/hooks';
import { useConsole } from '../console-context.ts';
import { money, tokens } from '../ui/format.ts';
import { EmptyState, hrefs, RelativeTime, shortId, StatusBadge } from '../ui/index.ts';
import { AgentForm, NEW_AGENT } from './agent-form.tsx';
import { AgentsPageQuery } from './agents-operations.ts';
import { useAdapterTypes } from './agent-adapter-types.ts';
import { percent, RECENT_DAYS, recentSince } from './agent-numbers.ts';
import { describeError } from '../errors.ts';
import { useRecovered, useRunChanges } from '../live/live-context.ts';
import { query, useLoad, useThrottled } from './page-data.ts';

async function readAgents(client: ReturnType<typeof useConsole>['client']) {
  const since = recentSince();
  const agents = [];
  let after: string | null | undefined;
  do {
    const page = (await query(client, AgentsPageQuery, { after, since })).agents;
    agents.push(...page.edges.map((edge) => edge.node));
    after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
  } while (after);
  return agents;
}

export function AgentsPage() {
  const { client, canAct } = useConsole();
  const { route } = useLocation();
  const [creating, setCreating] = useState(false);
  const agents = useLoad('agents', () => readAgents(client));
  const adapterTypes = useAdapterTypes();
  const reloadSoon = useThrottled(agents.reload, 2_000);
  useRunChanges(reloadSoon);
  useRecovered(agents.reload);

  return (
    <section class="console-view agents-page" data-testid="agents-page">
      <header class="title-row">
        <h1 class="page-title">Agents</h1>
        {agents.data && <span class="muted" data-testid="agents-count">{agents.data.length}</span>}
        <span class="spacer" />
        {canAct && !creating && (
          <button type="button" class="primary" data-testid="new-agent-button" onClick={() => setCreating(true)}>
            New agent
          </button>
        )}
      </header>
      {canAct && creating && (
        <AgentForm initial={NEW_AGENT} adapterTypes={adapterTypes} onSaved={(agent) => route(`/agents/${agent.id}`)} onCancel={() => setCreating(false)} />
      )}
      {agents.error && (
        <p class="form-error" data-testid="agents-error">
          Cannot load the agents: {describeError(agents.error)}
        </p>
      )}
      {agents.data === null && !agents.error && <p class="muted">Loading agents…</p>}
      {agents.data?.length === 0 && <EmptyState>No agents yet.{canAct ? ' Create one with “New agent”.' : ''}</EmptyState>}
      {agents.data && agents.data.length > 0 && (
        <div class="panel table-wrap">
          <table class="agents-table" data-testid="agents-table">
            <thead>
              <tr>
                <th class="col-name">Agent</th>
                <th class="col-status">Status</th>
                <th class="col-adapter">Adapter</th>
                <th class="col-time">Last heartbeat</th>
                <th class="col-run">Active run</th>
                <th class="col-num" title={`Succeeded of finished runs, last ${RECENT_DAYS} days`}>Success {RECENT_DAYS}d</th>
                <th class="col-num" title={`Input + output tokens, last ${RECENT_DAYS} days`}>Tokens {RECENT_DAYS}d</th>
                <th class="col-num" title={`Billed cost, last ${RECENT_DAYS} days`}>Cost {RECENT_DAYS}d</th>
              </tr>
            </thead>
            <tbody>
              {agents.data.map((agent) => (
                <tr key={agent.id} data-testid="agent-row" data-agent-id={agent.id} data-status={agent.status}>
                  <td class="col-name">
                    <a href={hrefs.agent(agent.id)} data-testid="agent-link">{agent.name}</a>
                    <div class="muted small">{agent.role}</div>
                  </td>
                  <td><StatusBadge status={agent.status} /></td>
                  <td><code>{agent.adapterType}</code></td>
                  <td>{agent.lastHeartbeatAt ? <RelativeTime iso={agent.lastHeartbeatAt} /> : <span class="muted">never</span>}</td>
                  <td>
                    {agent.activeRun ? (
                      <a href={hrefs.run(agent.activeRun.id)} data-testid="agent-active-run"><code>{shortId(agent.activeRun.id)}</code></a>
                    ) : (
                      <span class="muted">—</span>
                    )}
                  </td>
                  <td class="col-num" data-testid="agent-success-rate" title={`${agent.runStats.succeeded} of ${agent.runStats.total - agent.runStats.running - agent.runStats.queued} finished`}>
                    {percent(agent.runStats.successRate)}
                  </td>
                  <td class="col-num" data-testid="agent-tokens">{tokens(agent.cost.inputTokens + agent.cost.outputTokens)}</td>
                  <td class="col-num" data-testid="agent-cost">{money(agent.cost.costCents)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
