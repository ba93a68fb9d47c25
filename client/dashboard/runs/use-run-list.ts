// The runs page's list for its view, kept for the session: leaving the page for a run and coming
// back (a link, the back button) shows the same list at once, kept current by the live feed
// meanwhile, without reading it again; only a list that may have missed changes (the connection
// dropped) or another view is read.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { useConsole } from '../console-context.ts';
import { useLive, useRecovered } from '../live/live-context.ts';
import type { LiveRuns } from '../live/live-runs.ts';
import type { RunsView } from './run-filter.ts';
import { RunList, type RunListSnapshot } from './run-list.ts';

/** The last view's list, per session (its live feed). */
const kept = new WeakMap<LiveRuns, RunList>();

export interface RunListState extends RunListSnapshot {
  /** Whether a read is on its way. */
  loading: boolean;
  /** The last read's failure, until one succeeds. */
  error: unknown;
  reload(): void;
  loadOlder(): Promise<void>;
}

export function useRunList(view: RunsView, key: string): RunListState {
  const { client, reportError } = useConsole();
  const live = useLive();
  const list = useMemo(() => {
    const previous = kept.get(live);
    if (previous?.key === key) return previous;
    previous?.dispose();
    const created = new RunList(client, live, view, key);
    kept.set(live, created);
    return created;
  }, [live, key]);
  const [snapshot, setSnapshot] = useState(list.snapshot());
  const [reading, setReading] = useState<{ loading: boolean; error: unknown }>({ loading: false, error: null });

  const read = (what: string) => {
    setReading({ loading: true, error: null });
    list.refresh().then(
      () => setReading({ loading: false, error: null }),
      (error: unknown) => {
        setReading({ loading: false, error });
        reportError(error, what);
      },
    );
  };

  useEffect(() => {
    setSnapshot(list.snapshot());
    const stop = list.subscribe(() => setSnapshot(list.snapshot()));
    if (!list.snapshot().loaded) read('Cannot load runs');
    else if (list.stale) read('Cannot catch up after reconnecting');
    return stop;
  }, [list]);

  useRecovered(() => list.stale && read('Cannot catch up after reconnecting'));

  return {
    ...snapshot,
    ...reading,
    reload: () => read('Cannot load runs'),
    loadOlder: () => list.loadOlder().catch((error: unknown) => reportError(error, 'Cannot load older runs')),
  };
}
