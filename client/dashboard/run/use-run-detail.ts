// A run as the run page shows it: read once, then kept current by the console's live feed (its own
// changes, and the runs that retry it as they appear and change). It is read again when it
// finishes (its result, cost and session are final then) and after a reconnect.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { RunPageQuery } from '../../generated/graphql.ts';
import { HeartbeatApiError, TERMINAL_RUN_STATUSES, type Run } from '../../index.ts';
import { useConsole } from '../console-context.ts';
import { useRecovered, useRunChanges } from '../live/live-context.ts';
import { RunPageQuery as RunPageDocument } from './run-operations.ts';

export type RunDetail = NonNullable<RunPageQuery['run']>;
export type RetryLink = RunDetail['retry']['retries'][number];

export interface RunDetailState {
  run: RunDetail | null;
  /** Read, and there is no such run (or not in this company). */
  missing: boolean;
  error: unknown;
  reload(): void;
  /** Takes a run state an action answered with (cancel), as the live feed's would be taken. */
  put(run: Run): void;
}

/** What a run's live state says (RunFields), laid over the detail unless the detail is newer (answers can arrive out of order). */
function merge(detail: RunDetail, run: Run): RunDetail {
  if (Date.parse(detail.updatedAt) > Date.parse(run.updatedAt)) return detail;
  const { status, startedAt, finishedAt, settledAt, updatedAt, exitCode, error, errorCode, liveness, outputSilence } = run;
  const retry = { ...detail.retry, attempt: run.retry.attempt, maxAttempts: run.retry.maxAttempts, scheduledAt: run.retry.scheduledAt, reason: run.retry.reason, exhaustedReason: run.retry.exhaustedReason };
  return { ...detail, status, startedAt, finishedAt, settledAt, updatedAt, exitCode, error, errorCode, liveness, outputSilence, retry };
}

/** The retry chain with `run`, a retry of the detail's run, added or updated. */
function withRetry(detail: RunDetail, run: Run): RunDetail {
  const link = { id: run.id, status: run.status, createdAt: run.createdAt };
  const known = detail.retry.retries.some((retry) => retry.id === run.id);
  const retries = known ? detail.retry.retries.map((retry) => (retry.id === run.id ? link : retry)) : [...detail.retry.retries, link];
  return { ...detail, retry: { ...detail.retry, retries } };
}

export function useRunDetail(id: string): RunDetailState {
  const { client, reportError } = useConsole();
  const [state, setState] = useState<{ run: RunDetail | null; missing: boolean; error: unknown }>({ run: null, missing: false, error: null });
  const reading = useRef(false);
  const again = useRef(false);

  const read = useCallback(() => {
    if (reading.current) return void (again.current = true);
    reading.current = true;
    client.urql
      .query(RunPageDocument, { id })
      .toPromise()
      .then((result) => {
        if (result.error) throw HeartbeatApiError.from(result.error);
        const run = result.data?.run ?? null;
        setState((previous) => ({ run: run && previous.run ? merge(run, previous.run) : run, missing: !run, error: null }));
      })
      .catch((error: unknown) => {
        setState((previous) => ({ ...previous, error }));
        reportError(error, 'Cannot load the run');
      })
      .finally(() => {
        reading.current = false;
        if (again.current) {
          again.current = false;
          read();
        }
      });
  }, [client, id]);

  useEffect(read, [read]);
  useRecovered(read);

  const put = useCallback(
    (run: Run) => {
      if (run.id === id) {
        setState((previous) => {
          if (!previous.run) return previous;
          const finished = !TERMINAL_RUN_STATUSES.has(previous.run.status) && TERMINAL_RUN_STATUSES.has(run.status);
          // Finished: its result, cost and session are final now.
          if (finished) queueMicrotask(read);
          return { ...previous, run: merge(previous.run, run) };
        });
      } else if (run.retry.retryOf?.id === id) {
        setState((previous) => (previous.run ? { ...previous, run: withRetry(previous.run, run) } : previous));
      }
    },
    [id, read],
  );
  useRunChanges(put);

  return { ...state, reload: read, put };
}
