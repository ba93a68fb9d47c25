// Hooks onto the console's live feed (live-runs.ts): run changes, the connection's state, and the
// moment it comes back after a drop (when a page reads again what it may have missed).
import { createContext } from 'preact';
import { useContext, useEffect, useRef, useState } from 'preact/hooks';
import type { Run } from '../../index.ts';
import type { LiveState } from './connection.ts';
import type { LiveRuns } from './live-runs.ts';

export const LiveContext = createContext<LiveRuns | null>(null);

export function useLive(): LiveRuns {
  const live = useContext(LiveContext);
  if (!live) throw new Error('useLive() is used outside the signed-in console (LiveContext.Provider)');
  return live;
}

/** Calls the latest `listener` for every run change while the component is mounted. */
export function useRunChanges(listener: (run: Run) => void): void {
  const live = useContext(LiveContext);
  const latest = useRef(listener);
  latest.current = listener;
  useEffect(() => live?.onRun((run) => latest.current(run)), [live]);
}

/** Calls the latest `listener` each time the connection is back after a drop. */
export function useRecovered(listener: () => void): void {
  const live = useContext(LiveContext);
  const latest = useRef(listener);
  latest.current = listener;
  useEffect(() => live?.onRecovered(() => latest.current()), [live]);
}

/** The connection's state, re-rendering on each change. */
export function useLiveState(): LiveState {
  const live = useContext(LiveContext);
  const [state, setState] = useState<LiveState>(live?.state ?? 'connecting');
  useEffect(() => {
    if (!live) return;
    setState(live.state);
    return live.onState(setState);
  }, [live]);
  return state;
}
