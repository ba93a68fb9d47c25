// What the run came to (its error, its summary and result as stored) and what it was woken with
// (its context). JSON is pretty-printed in a wide box that scrolls sideways, never wrapped per
// character.
import { prettyJson } from '../ui/format.ts';
import type { RunDetail } from './use-run-detail.ts';

export function RunOutcome({ run }: { run: RunDetail }) {
  const result = run.result as { summary?: unknown } | null | undefined;
  const summary = typeof result?.summary === 'string' ? result.summary : null;
  if (!run.error && run.result == null) return null;
  return (
    <section class="panel outcome" aria-label="Outcome" data-testid="run-outcome">
      <h2>Outcome</h2>
      {run.error ? (
        <p class="run-error" data-testid="run-error">
          {run.error}
          {run.errorCode ? <code class="muted"> ({run.errorCode})</code> : null}
        </p>
      ) : null}
      {summary ? (
        <div class="summary-text long-text" data-testid="run-summary">
          {summary}
        </div>
      ) : null}
      {run.result != null ? (
        <details open={!summary}>
          <summary>Result</summary>
          <pre class="json wide" data-testid="run-result">
            {prettyJson(run.result)}
          </pre>
        </details>
      ) : null}
    </section>
  );
}

export function RunContext({ run }: { run: RunDetail }) {
  return (
    <section class="panel" aria-label="Context">
      <details open>
        <summary>
          <h2 class="inline">Context</h2>
        </summary>
        <pre class="json wide" data-testid="run-context">
          {prettyJson(run.context)}
        </pre>
      </details>
    </section>
  );
}
