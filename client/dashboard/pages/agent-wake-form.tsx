// Waking an agent by hand from its page: a reason and an optional JSON payload (handed to the run as
// context.payload), then what became of the wakeup (queued, merged, deferred, skipped) with its run.
import { useState } from 'preact/hooks';
import { useConsole } from '../console-context.ts';
import { label } from '../ui/format.ts';
import { hrefs, shortId } from '../ui/index.ts';
import { parseJsonObject } from './agent-config-schema.ts';
import { describeError } from '../errors.ts';

type Outcome = { outcome: string; runId: string | null; reason: string | null };

export function AgentWakeForm({ agentId, onWoken }: { agentId: string; onWoken: () => void }) {
  const { client } = useConsole();
  const [reason, setReason] = useState('');
  const [payload, setPayload] = useState('');
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);

  const submit = async (event: Event) => {
    event.preventDefault();
    const parsed = parseJsonObject(payload);
    if ('error' in parsed) {
      setError(`Payload: ${parsed.error}`);
      return;
    }
    setSending(true);
    setError(null);
    setOutcome(null);
    try {
      const result = await client.wake({ agentId, reason: reason.trim() || 'manual', payload: parsed.value });
      setOutcome({ outcome: result.outcome, runId: result.run?.id ?? null, reason: result.wakeupRequest.reason ?? null });
      onWoken();
    } catch (caught) {
      setError(describeError(caught));
    } finally {
      setSending(false);
    }
  };

  return (
    <form class="panel wake-form" data-testid="wake-form" onSubmit={submit} noValidate>
      <h2>Wake</h2>
      <label class="field">
        <span class="field-label">Reason</span>
        <input data-testid="wake-reason" placeholder="manual" value={reason} onInput={(event) => setReason(event.currentTarget.value)} />
      </label>
      <label class="field">
        <span class="field-label">Payload <span class="muted">(JSON object, optional)</span></span>
        <textarea class="code" rows={3} spellcheck={false} data-testid="wake-payload" placeholder='{ "taskKey": "deploy" }' value={payload} onInput={(event) => setPayload(event.currentTarget.value)} />
      </label>
      {error && <p class="form-error" role="alert" data-testid="wake-error">{error}</p>}
      {outcome && (
        <p class="form-note" data-testid="wake-result" data-outcome={outcome.outcome}>
          {label(outcome.outcome)}
          {outcome.runId && (
            <>
              {': run '}
              <a href={hrefs.run(outcome.runId)}><code>{shortId(outcome.runId)}</code></a>
            </>
          )}
          {outcome.outcome === 'SKIPPED' && outcome.reason && <span class="muted"> ({outcome.reason})</span>}
        </p>
      )}
      <div class="form-actions">
        <button type="submit" class="primary" data-testid="wake-submit" disabled={sending}>
          {sending ? 'Waking…' : 'Wake now'}
        </button>
      </div>
    </form>
  );
}
