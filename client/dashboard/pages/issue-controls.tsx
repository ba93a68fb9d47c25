// Changing an issue from its page: its assignee (assigning an agent wakes it; the note says what became
// of the wakeup) and its status. Only for keys that may act.
import { useState } from 'preact/hooks';
import type { IssueStatus } from '../../generated/graphql.ts';
import { useConsole } from '../console-context.ts';
import { describeError } from '../errors.ts';
import { label } from '../ui/index.ts';
import { useAgentOptions } from './issue-agent-options.ts';
import { WakeupNote } from './issue-wakeup-note.tsx';
import { AssignIssueMutation, UpdateIssueStatusMutation } from './issues-operations.ts';
import { ISSUE_STATUSES } from './issue-values.ts';
import { mutate } from './page-data.ts';

type Wakeup = Parameters<typeof WakeupNote>[0]['wakeup'];

export function IssueControls({ issueId, assigneeAgentId, status, onChanged }: { issueId: string; assigneeAgentId: string | null; status: IssueStatus; onChanged: () => void }) {
  const { client } = useConsole();
  const agents = useAgentOptions();
  const [choice, setChoice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [wakeup, setWakeup] = useState<Wakeup>(null);
  const selected = choice ?? assigneeAgentId ?? '';

  const run = async (what: string, action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
      onChanged();
    } catch (caught) {
      setError(`${what}: ${describeError(caught)}`);
    } finally {
      setBusy(false);
    }
  };

  const assign = () =>
    run('Assign', async () => {
      const { assignIssue } = await mutate(client, AssignIssueMutation, { input: { issueId, agentId: selected || undefined } });
      setWakeup(assignIssue.wakeup);
      setChoice(null);
    });

  const changeStatus = (next: IssueStatus) =>
    run('Status', async () => {
      await mutate(client, UpdateIssueStatusMutation, { id: issueId, status: next });
    });

  return (
    <section class="panel issue-controls" data-testid="issue-controls">
      <div class="form-grid">
        <label class="field">
          <span class="field-label">Assignee</span>
          <span class="inline-field">
            <select data-testid="assign-select" value={selected} disabled={busy} onChange={(event) => setChoice(event.currentTarget.value)}>
              <option value="">Nobody</option>
              {(agents.data ?? []).map((agent) => (
                <option key={agent.id} value={agent.id}>
                  {agent.name}
                  {agent.status === 'PAUSED' ? ' (paused)' : ''}
                </option>
              ))}
            </select>
            <button type="button" class="primary" data-testid="assign-submit" disabled={busy || selected === (assigneeAgentId ?? '')} onClick={assign}>
              {selected ? (assigneeAgentId ? 'Reassign' : 'Assign') : 'Unassign'}
            </button>
          </span>
        </label>
        <label class="field">
          <span class="field-label">Status</span>
          <select data-testid="status-select" value={status} disabled={busy} onChange={(event) => changeStatus(event.currentTarget.value as IssueStatus)}>
            {ISSUE_STATUSES.map((value) => (
              <option key={value} value={value}>{label(value)}</option>
            ))}
          </select>
        </label>
      </div>
      {error && <p class="form-error" role="alert" data-testid="issue-controls-error">{error}</p>}
      <WakeupNote wakeup={wakeup} testId="assign-wakeup" />
    </section>
  );
}
