// Cancel and Retry on the run page, for keys that may act. Each button stays disabled while its
// action is on its way, so a double click acts once. A retry opens the run that will do it, and
// says when that was not a new run: an automatic retry already scheduled is moved up to run now
// (the API answers COALESCED with that retry), or the run was already retried.
import { useLocation } from 'preact-iso';
import { useState } from 'preact/hooks';
import type { Run } from '../../index.ts';
import { useBanner } from '../banner.ts';
import { useConsole } from '../console-context.ts';
import { label, shortId } from '../ui/format.ts';
import { hrefs } from '../ui/link.tsx';
import type { RunDetail } from './use-run-detail.ts';

const CANCELLABLE = new Set(['QUEUED', 'SCHEDULED_RETRY', 'RUNNING']);
const RETRYABLE = new Set(['FAILED', 'TIMED_OUT', 'CANCELLED']);

type RetryAnswer = { outcome: string; run: Run | null | undefined };

/** What to tell about a retry's answer, or null when it simply queued a new run (pure). */
export function retryNotice(answer: RetryAnswer, retried: RunDetail): string | null {
  const { outcome, run } = answer;
  if (!run) return `The retry was not queued: ${label(outcome)}`;
  if (outcome === 'QUEUED') return null;
  const wasScheduled = retried.retry.retries.some((retry) => retry.id === run.id && retry.status === 'SCHEDULED_RETRY');
  const automatic = run.retry.retryOf?.id === retried.id && run.retry.attempt > 0;
  if (outcome === 'COALESCED' && (wasScheduled || automatic) && run.status !== 'SCHEDULED_RETRY') {
    return `Retry moved up: runs now. Its automatic retry, run ${shortId(run.id)}, was scheduled for later and is queued to start now.`;
  }
  if (outcome === 'COALESCED' && run.retry.retryOf?.id !== retried.id) return `Joined run ${shortId(run.id)}, already queued for this agent.`;
  return `Already retried: showing run ${shortId(run.id)}, the retry made before.`;
}

export function RunActions({ run, put }: { run: RunDetail; put: (run: Run) => void }) {
  const { client, canAct, reportError } = useConsole();
  const banner = useBanner();
  const { route } = useLocation();
  const [busy, setBusy] = useState<'cancel' | 'retry' | null>(null);
  if (!canAct) return null;

  const act = async (which: 'cancel' | 'retry', what: string, action: () => Promise<void>) => {
    setBusy(which);
    try {
      await action();
    } catch (error) {
      reportError(error, what);
    } finally {
      setBusy(null);
    }
  };
  const cancel = () => act('cancel', 'Cannot cancel the run', async () => put(await client.cancel(run.id, 'Cancelled from the console')));
  const retry = () =>
    act('retry', 'Cannot retry the run', async () => {
      const answer = await client.retry(run.id);
      const notice = retryNotice(answer, run);
      if (!answer.run) return banner.show('error', notice);
      if (notice) banner.show('notice', notice);
      route(hrefs.run(answer.run.id));
    });

  return (
    <div class="actions">
      {CANCELLABLE.has(run.status) ? (
        <button type="button" class="danger" data-testid="cancel-button" disabled={busy !== null} onClick={cancel}>
          Cancel run
        </button>
      ) : null}
      {RETRYABLE.has(run.status) ? (
        <button type="button" class="primary" data-testid="retry-button" disabled={busy !== null} onClick={retry}>
          Retry
        </button>
      ) : null}
    </div>
  );
}
