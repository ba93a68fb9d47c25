// "New issue": a title, a description, a priority and an assignee (an agent, which is woken to work on
// it). What the API refuses is shown above the form, and nothing is created.
import { useState } from 'preact/hooks';
import type { IssuePriority } from '../../generated/graphql.ts';
import { useConsole } from '../console-context.ts';
import { describeError } from '../errors.ts';
import { useAgentOptions } from './issue-agent-options.ts';
import { ISSUE_PRIORITIES } from './issue-values.ts';
import { CreateIssueMutation } from './issues-operations.ts';
import { mutate } from './page-data.ts';

export function IssueForm({ onCreated, onCancel }: { onCreated: (issue: { id: string; identifier: string }) => void; onCancel: () => void }) {
  const { client } = useConsole();
  const agents = useAgentOptions();
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [priority, setPriority] = useState<IssuePriority>('MEDIUM');
  const [assignee, setAssignee] = useState('');
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (event: Event) => {
    event.preventDefault();
    setSaving(true);
    setError(null);
    try {
      const { createIssue } = await mutate(client, CreateIssueMutation, {
        input: { title: title.trim(), description: description.trim() || undefined, priority, assigneeAgentId: assignee || undefined },
      });
      onCreated(createIssue.issue);
    } catch (caught) {
      setError(describeError(caught));
    } finally {
      setSaving(false);
    }
  };

  return (
    <form class="panel issue-form" data-testid="issue-form" onSubmit={submit} noValidate>
      <h2>New issue</h2>
      {error && (
        <p class="form-error" role="alert" data-testid="issue-form-error">
          {error}
        </p>
      )}
      <label class="field">
        <span class="field-label">Title<span class="required"> *</span></span>
        <input data-testid="issue-title" value={title} onInput={(event) => setTitle(event.currentTarget.value)} />
      </label>
      <label class="field">
        <span class="field-label">Description</span>
        <textarea rows={5} data-testid="issue-description" value={description} onInput={(event) => setDescription(event.currentTarget.value)} />
      </label>
      <div class="form-grid">
        <label class="field">
          <span class="field-label">Priority</span>
          <select data-testid="issue-priority" value={priority} onChange={(event) => setPriority(event.currentTarget.value as IssuePriority)}>
            {ISSUE_PRIORITIES.map((value) => (
              <option key={value} value={value}>{value.toLowerCase()}</option>
            ))}
          </select>
        </label>
        <label class="field">
          <span class="field-label">Assignee <span class="muted">(woken at once)</span></span>
          <select data-testid="issue-assignee" value={assignee} onChange={(event) => setAssignee(event.currentTarget.value)}>
            <option value="">Nobody</option>
            {(agents.data ?? []).map((agent) => (
              <option key={agent.id} value={agent.id}>{agent.name}</option>
            ))}
          </select>
        </label>
      </div>
      <div class="form-actions">
        <button type="submit" class="primary" data-testid="issue-submit" disabled={saving}>
          {saving ? 'Creating…' : 'Create issue'}
        </button>
        <button type="button" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  );
}
