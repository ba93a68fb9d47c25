// /agents/:id: one agent. Its record (success rate and p95 duration over 7 days, tokens and cost), its
// runs as they change (runStatus for this agent), its config as the API returns it (secrets redacted)
// and its task sessions; for keys that may act: edit, pause or resume, and wake with a reason and payload.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import type { RunStatus } from '../../generated/graphql.ts';
import { HeartbeatApiError, TERMINAL_RUN_STATUSES } from '../../index.ts';
import { useConsole } from '../console-context.ts';
import { money, prettyJson, tokens } from '../ui/format.ts';
import { ALL_RUN_COLUMNS, EmptyState, RelativeTime, RunsTable, StatusBadge } from '../ui/index.ts';
import { useAdapterTypes } from './agent-adapter-types.ts';
import { AgentForm, type AgentFormValues } from './agent-form.tsx';
import { AgentSessions } from './agent-sessions.tsx';
import { AgentWakeForm } from './agent-wake-form.tsx';
import { AgentPageQuery } from './agents-operations.ts';
import { durationText, percent, RECENT_DAYS, recentSince } from './agent-numbers.ts';
import { useLiveRuns } from './live-runs.ts';
import { describeError } from '../errors.ts';
import { query, useLoad, useThrottled } from './page-data.ts';

/** The agent's runs need no agent column. */
const AGENT_RUN_COLUMNS = ALL_RUN_COLUMNS.filter((column) => column !== 'agent');

type AgentData = Awaited<ReturnType<typeof readAgent>>;

async function readAgent(client: ReturnType<typeof useConsole>['client'], id: string) {
  const { agent } = await query(client, AgentPageQuery, { id, since: recentSince() });
  if (!agent) throw new HeartbeatApiError(`There is no agent ${id} in your company.`, 'NOT_FOUND');
  return agent;
}

/** The form's starting values: the agent as stored (redacted values stay redacted: sent back, the server keeps them). */
function formValues(agent: AgentData): AgentFormValues {
  return {
    name: agent.name,
    role: agent.role,
    adapterType: agent.adapterType,
    adapterConfig: (agent.adapterConfig ?? {}) as Record<string, unknown>,
    // Only the policy's own fields: updateAgent replaces the whole policy with what it is sent.
    heartbeat: {
      enabled: agent.heartbeat.enabled,
      intervalSec: agent.heartbeat.intervalSec,
      maxConcurrentRuns: agent.heartbeat.maxConcurrentRuns,
      wakeOnDemand: agent.heartbeat.wakeOnDemand,
      silenceTimeoutSec: agent.heartbeat.silenceTimeoutSec,
    },
  };
}

export function AgentPage({ id }: { id: string }) {
  const { client, canAct } = useConsole();
  const agent = useLoad(`agent:${id}`, () => readAgent(client, id));
  const adapterTypes = useAdapterTypes();
  const [editing, setEditing] = useState(false);
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const [sessionsKey, setSessionsKey] = useState(0);
  const reloadSoon = useThrottled(agent.reload, 2_000);

  const loadedRuns = agent.data ? agent.data.runs.edges.map((edge) => edge.node) : null;
  const runs = useLiveRuns({ agentId: id }, loadedRuns, {
    // A run that starts or ends changes the agent's status and numbers; its session too, once it ends.
    onChange: (run) => {
      reloadSoon();
      if (TERMINAL_RUN_STATUSES.has(run.status as RunStatus)) setSessionsKey((key) => key + 1);
    },
    onRecovered: agent.reload,
  });

  const act = async (what: string, action: () => Promise<unknown>) => {
    setBusy(true);
    setActionError(null);
    try {
      await action();
      agent.reload();
    } catch (error) {
      setActionError(`${what}: ${describeError(error)}`);
    } finally {
      setBusy(false);
    }
  };

  if (!agent.data) {
    return (
      <section class="console-view agent-page" data-testid="agent-page">
        <p class="crumbs"><a href="/agents">Agents</a> /</p>
        {agent.error ? (
          <p class="form-error" data-testid="agent-error" data-code={agent.error.code}>Cannot load the agent: {describeError(agent.error)}</p>
        ) : (
          <p class="muted">Loading the agent…</p>
        )}
      </section>
    );
  }
  const data = agent.data;
  const paused = data.status === 'PAUSED';
  const stats = data.runStats;

  return (
    <section class="console-view agent-page" data-testid="agent-page" data-agent-id={data.id}>
      <p class="crumbs"><a href="/agents">Agents</a> /</p>
      <header class="title-row">
        <h1 class="page-title" data-testid="agent-name-heading">{data.name}</h1>
        <span data-testid="agent-status" data-status={data.status}><StatusBadge status={data.status} /></span>
        <code class="muted">{data.adapterType}</code>
        <span class="muted">{data.role}</span>
        <span class="spacer" />
        {canAct && (
          <div class="actions">
            <button type="button" data-testid="edit-agent" disabled={editing} onClick={() => setEditing(true)}>Edit</button>
            {paused ? (
              <button type="button" class="primary" data-testid="resume-agent" disabled={busy} onClick={() => act('Resume', () => client.resumeAgent(id))}>Resume</button>
            ) : (
              <button type="button" class="danger" data-testid="pause-agent" disabled={busy} onClick={() => act('Pause', () => client.pauseAgent(id))}>Pause</button>
            )}
          </div>
        )}
      </header>
      {actionError && <p class="form-error" role="alert" data-testid="agent-action-error">{actionError}</p>}
      {data.runtimeState?.lastError && <p class="form-error" data-testid="agent-last-error">Last error: {data.runtimeState.lastError}</p>}
      {canAct && editing && (
        <AgentForm
          agentId={id}
          initial={formValues(data)}
          adapterTypes={adapterTypes}
          onSaved={() => {
            setEditing(false);
            agent.reload();
          }}
          onCancel={() => setEditing(false)}
        />
      )}

      <div class="stat-grid" data-testid="agent-stats">
        <Stat label={`Success, ${RECENT_DAYS} days`} testId="agent-success-rate" value={percent(stats.successRate)} note={`${stats.succeeded} of ${stats.succeeded + stats.failed + stats.cancelled + stats.timedOut} finished`} />
        <Stat label={`p95 duration, ${RECENT_DAYS} days`} testId="agent-p95" value={durationText(stats.p95DurationMs)} />
        <Stat label={`Runs, ${RECENT_DAYS} days`} testId="agent-run-count" value={String(stats.total)} note={`${stats.running} running · ${stats.queued} waiting · ${stats.failed + stats.timedOut} failed`} />
        <Stat label={`Tokens, ${RECENT_DAYS} days`} testId="agent-tokens" value={tokens(data.recentCost.inputTokens + data.recentCost.outputTokens)} note={`${tokens(data.totalCost.inputTokens + data.totalCost.outputTokens)} all time`} />
        <Stat label={`Cost, ${RECENT_DAYS} days`} testId="agent-cost" value={money(data.recentCost.costCents)} note={`${money(data.totalCost.costCents)} all time`} />
      </div>

      <div class="two-columns">
        <section class="panel" data-testid="agent-runs">
          <h2>Runs <span class="muted">{data.runs.totalCount}</span></h2>
          {runs && runs.length > 0 ? <RunsTable runs={runs} columns={AGENT_RUN_COLUMNS} /> : <EmptyState>No runs yet.</EmptyState>}
        </section>
        <div class="side-column">
          {canAct && <AgentWakeForm agentId={id} onWoken={reloadSoon} />}
          <section class="panel" data-testid="agent-config">
            <h2>Config</h2>
            <dl>
              <dt>Timer</dt>
              <dd data-testid="agent-timer">{data.heartbeat.enabled && data.heartbeat.intervalSec > 0 ? `every ${data.heartbeat.intervalSec} s` : 'off'}</dd>
              <dt>Runs at once</dt>
              <dd>{data.heartbeat.maxConcurrentRuns}</dd>
              <dt>On demand</dt>
              <dd>{data.heartbeat.wakeOnDemand ? 'accepts wakeups' : 'timer only'}</dd>
              <dt>Silence limit</dt>
              <dd>{data.heartbeat.silenceTimeoutSec ? `${data.heartbeat.silenceTimeoutSec} s` : 'none'}</dd>
              <dt>Heartbeat</dt>
              <dd>{data.lastHeartbeatAt ? <RelativeTime iso={data.lastHeartbeatAt} /> : 'never'}</dd>
              <dt>Created</dt>
              <dd><RelativeTime iso={data.createdAt} /></dd>
            </dl>
            <h3>adapterConfig</h3>
            <pre class="config-json" data-testid="agent-config-json">{prettyJson(data.adapterConfig)}</pre>
          </section>
        </div>
      </div>
      <AgentSessions agentId={id} refreshKey={sessionsKey} />
    </section>
  );
}

function Stat({ label, value, note, testId }: { label: string; value: ComponentChildren; note?: string; testId: string }) {
  return (
    <div class="panel stat" data-testid={testId}>
      <div class="stat-label">{label}</div>
      <div class="stat-value" data-testid={`${testId}-value`}>{value}</div>
      {note && <div class="stat-note muted">{note}</div>}
    </div>
  );
}
