// The agents and issues the runs page's filters offer, read once per session and again (at most
// every few seconds, however many runs arrive) when a run names an agent or issue not in them, and
// after a reconnect.
import { useEffect, useRef, useState } from 'preact/hooks';
import { HeartbeatApiError, type HeartbeatClient, type Run } from '../../index.ts';
import { useConsole } from '../console-context.ts';
import { useRecovered, useRunChanges } from '../live/live-context.ts';
import { RunsFilterOptionsQuery } from './runs-operations.ts';

/** Agents and issues offered (the API's largest page of each). */
const OPTIONS_SHOWN = 100;
/** At most one reload per this interval while runs of new agents keep coming. */
const MIN_RELOAD_GAP_MS = 3_000;

export interface FilterOptions {
  agents: Array<{ id: string; name: string }>;
  issues: Array<{ id: string; identifier: string; title: string }>;
}

const kept = new WeakMap<HeartbeatClient, FilterOptions>();

async function readOptions(client: HeartbeatClient): Promise<FilterOptions> {
  const result = await client.urql.query(RunsFilterOptionsQuery, { first: OPTIONS_SHOWN }).toPromise();
  if (result.error) throw HeartbeatApiError.from(result.error);
  const data = result.data!;
  return {
    agents: data.agents.edges.map((edge) => edge.node).sort((a, b) => a.name.localeCompare(b.name)),
    issues: data.issues.edges.map((edge) => edge.node),
  };
}

export function useFilterOptions(): FilterOptions | null {
  const { client, reportError } = useConsole();
  const [options, setOptions] = useState<FilterOptions | null>(kept.get(client) ?? null);
  const lastLoad = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);

  const load = () => {
    lastLoad.current = Date.now();
    readOptions(client).then(
      (read) => {
        kept.set(client, read);
        setOptions(read);
      },
      (error: unknown) => reportError(error, 'Cannot load the agents and issues'),
    );
  };
  /** A reload soon: now if the last one was a while ago, else once the gap has passed (one for many calls). */
  const soon = () => {
    if (timer.current) return;
    const wait = Math.max(0, lastLoad.current + MIN_RELOAD_GAP_MS - Date.now());
    timer.current = setTimeout(() => {
      timer.current = null;
      load();
    }, wait);
  };

  useEffect(() => {
    if (!kept.has(client)) load();
    return () => timer.current && clearTimeout(timer.current);
  }, [client]);

  useRunChanges((run: Run) => {
    const known = kept.get(client);
    if (!known) return;
    const newAgent = !known.agents.some((agent) => agent.id === run.agent.id);
    const newIssue = run.issue && !known.issues.some((issue) => issue.id === run.issue!.id);
    if (newAgent || newIssue) soon();
  });
  useRecovered(soon);
  return options;
}
