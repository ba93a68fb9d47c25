// The sessions an agent's tasks resume (what `claude --resume` / `codex exec resume` would pick up),
// with a reset per task and for all of them: the next run of that task starts fresh.
import { useEffect, useRef, useState } from 'preact/hooks';
import { useConsole } from '../console-context.ts';
import { hrefs, RelativeTime, shortId, StatusBadge } from '../ui/index.ts';
import { describeError } from '../errors.ts';
import { useLoad } from './page-data.ts';

export function AgentSessions({ agentId, refreshKey }: { agentId: string; refreshKey: number }) {
  const { client, canAct } = useConsole();
  const sessions = useLoad(`sessions:${agentId}`, () => client.taskSessions(agentId));
  // A finished run may have left a session: read again, keeping the list shown meanwhile.
  const shownKey = useRef(refreshKey);
  useEffect(() => {
    if (shownKey.current === refreshKey) return;
    shownKey.current = refreshKey;
    sessions.reload();
  }, [refreshKey]);
  const [resetting, setResetting] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const reset = async (taskKey?: string) => {
    setResetting(taskKey ?? '*');
    setError(null);
    try {
      await client.resetAgentSession(agentId, taskKey);
      sessions.reload();
    } catch (caught) {
      setError(describeError(caught));
    } finally {
      setResetting(null);
    }
  };

  const list = sessions.data?.taskSessions ?? [];
  return (
    <section class="panel sessions" data-testid="agent-sessions">
      <h2>
        Task sessions
        {canAct && list.length > 0 && (
          <button type="button" class="link heading-action" data-testid="reset-all-sessions" disabled={resetting !== null} onClick={() => reset()}>
            Reset all
          </button>
        )}
      </h2>
      {sessions.error && <p class="form-error">Cannot load the sessions: {describeError(sessions.error)}</p>}
      {error && <p class="form-error" role="alert">{error}</p>}
      {sessions.data && list.length === 0 && <p class="empty">No task sessions: each run starts fresh.</p>}
      {list.length > 0 && (
        <div class="table-wrap">
          <table class="compact">
            <thead>
              <tr>
                <th>Task</th>
                <th>Session</th>
                <th>Last run</th>
                <th>Updated</th>
                {canAct && <th />}
              </tr>
            </thead>
            <tbody>
              {list.map((session) => (
                <tr key={session.taskKey} data-testid="session-row" data-task-key={session.taskKey}>
                  <td><code>{session.taskKey}</code></td>
                  <td title={session.sessionId}><code>{session.displayId ?? session.sessionId}</code>{session.lastError && <div class="field-error">{session.lastError}</div>}</td>
                  <td>
                    {session.lastRun ? (
                      <a href={hrefs.run(session.lastRun.id)}>
                        <code>{shortId(session.lastRun.id)}</code> <StatusBadge status={session.lastRun.status} />
                      </a>
                    ) : (
                      '—'
                    )}
                  </td>
                  <td><RelativeTime iso={session.updatedAt} /></td>
                  {canAct && (
                    <td>
                      <button type="button" class="link" data-testid="reset-session" disabled={resetting !== null} onClick={() => reset(session.taskKey)}>
                        Reset
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
