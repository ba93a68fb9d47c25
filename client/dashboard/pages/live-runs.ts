// A page's list of runs kept live: the runs it loaded, with every change of the console's live feed
// (one runStatus subscription for the whole console, live/live-runs.ts) that concerns its agent or
// issue laid over them: a new run appears at the top, a changed one is replaced, whichever of the
// two states is newer winning.
import { useMemo, useState } from 'preact/hooks';
import type { Run } from '../../index.ts';
import { useRecovered, useRunChanges } from '../live/live-context.ts';
import { mergeRun } from './page-data.ts';

const LIMIT = 50;

export interface RunScope {
  agentId?: string;
  issueId?: string;
}

const inScope = (run: Run, scope: RunScope) => (!scope.agentId || run.agent.id === scope.agentId) && (!scope.issueId || run.issue?.id === scope.issueId);

/**
 * `loaded` (null while loading) merged with the live changes of the runs in `scope`. `onChange` is
 * told of each such change (to reload what depends on runs, throttled); `onRecovered` when the
 * connection is back after a drop, when changes may have been missed.
 */
export function useLiveRuns(scope: RunScope, loaded: readonly Run[] | null, handlers: { onChange: (run: Run) => void; onRecovered: () => void }): Run[] | null {
  const key = `${scope.agentId ?? ''}|${scope.issueId ?? ''}`;
  const [live, setLive] = useState<{ key: string; runs: Record<string, Run> }>({ key, runs: {} });
  useRunChanges((run) => {
    if (!inScope(run, scope)) return;
    setLive((current) => ({ key, runs: { ...(current.key === key ? current.runs : {}), [run.id]: run } }));
    handlers.onChange(run);
  });
  useRecovered(handlers.onRecovered);
  return useMemo(() => {
    if (!loaded) return null;
    let runs = [...loaded];
    if (live.key !== key) return runs;
    for (const run of Object.values(live.runs)) {
      const existing = runs.find((candidate) => candidate.id === run.id);
      if (!existing || run.updatedAt >= existing.updatedAt) runs = mergeRun(runs, run, LIMIT);
    }
    return runs;
  }, [loaded, live, key]);
}
