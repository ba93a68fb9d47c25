// How the agents, issues and overview pages read and write: typed documents sent through the SDK's
// urql client (errors become HeartbeatApiError with their stable code), a query hook that keeps the
// last good answer while it reloads, throttled reloads, and merging a changed run into a list.
import type { AnyVariables, TypedDocumentNode } from '@urql/core';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { HeartbeatApiError, type HeartbeatClient } from '../../index.ts';

/** Runs a query document; throws HeartbeatApiError on any error. */
export async function query<Data, Variables extends AnyVariables>(
  client: HeartbeatClient,
  document: TypedDocumentNode<Data, Variables>,
  variables: Variables,
): Promise<Data> {
  const result = await client.urql.query(document, variables).toPromise();
  if (result.error) throw HeartbeatApiError.from(result.error);
  return result.data!;
}

/** `error` as a HeartbeatApiError, keeping its code when it already is one. */
export function apiError(error: unknown): HeartbeatApiError {
  return error instanceof HeartbeatApiError ? error : HeartbeatApiError.from(error);
}

/** Runs a mutation document; throws HeartbeatApiError on any error. */
export async function mutate<Data, Variables extends AnyVariables>(
  client: HeartbeatClient,
  document: TypedDocumentNode<Data, Variables>,
  variables: Variables,
): Promise<Data> {
  const result = await client.urql.mutation(document, variables).toPromise();
  if (result.error) throw HeartbeatApiError.from(result.error);
  return result.data!;
}

export interface Loaded<Data> {
  /** The last answer that arrived (kept while a reload is on its way, and when a reload fails). */
  data: Data | null;
  /** The last load's error, until a load succeeds. */
  error: HeartbeatApiError | null;
  /** Asks again now; a reload asked for while one is on its way runs once it returns. */
  reload: () => void;
}

/**
 * Loads `read()` now and again whenever `key` changes. Answers of an older key that arrive late are
 * dropped, so a page never shows another item's data.
 */
export function useLoad<Data>(key: string, read: () => Promise<Data>): Loaded<Data> {
  const [state, setState] = useState<{ key: string; data: Data | null; error: HeartbeatApiError | null }>({ key, data: null, error: null });
  const readRef = useRef(read);
  readRef.current = read;
  const inFlight = useRef(false);
  const again = useRef(false);
  const currentKey = useRef(key);
  currentKey.current = key;

  const load = useCallback(() => {
    if (inFlight.current) {
      again.current = true;
      return;
    }
    inFlight.current = true;
    const forKey = currentKey.current;
    readRef.current().then(
      (data) => forKey === currentKey.current && setState({ key: forKey, data, error: null }),
      (error: unknown) => forKey === currentKey.current && setState((previous) => ({ key: forKey, data: previous.key === forKey ? previous.data : null, error: apiError(error) })),
    ).finally(() => {
      inFlight.current = false;
      if (again.current) {
        again.current = false;
        load();
      }
    });
  }, []);

  useEffect(() => {
    setState((previous) => (previous.key === key ? previous : { key, data: null, error: null }));
    load();
  }, [key]);

  const current = state.key === key ? state : { data: null, error: null };
  return { data: current.data, error: current.error, reload: load };
}

/**
 * A function that runs `action` at most once per `intervalMs`: a call inside the interval is put
 * off to its end, and calls meanwhile are folded into that one.
 */
export function useThrottled(action: () => void, intervalMs: number): () => void {
  const actionRef = useRef(action);
  actionRef.current = action;
  const last = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => void (timer.current && clearTimeout(timer.current)), []);
  return useCallback(() => {
    if (timer.current) return;
    const wait = last.current + intervalMs - Date.now();
    const fire = () => {
      timer.current = null;
      last.current = Date.now();
      actionRef.current();
    };
    if (wait <= 0) fire();
    else timer.current = setTimeout(fire, wait);
  }, [intervalMs]);
}

/** Calls `every` every `intervalMs` while the page is shown (for what only time changes, e.g. a sliding window). */
export function useInterval(every: () => void, intervalMs: number): void {
  const everyRef = useRef(every);
  everyRef.current = every;
  useEffect(() => {
    const timer = setInterval(() => everyRef.current(), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
}

/** Merges a changed run into a newest-first list (replacing its earlier state), keeping at most `limit`. */
export function mergeRun<T extends { id: string; createdAt: string }>(runs: readonly T[], run: T, limit = 50): T[] {
  const rest = runs.filter((existing) => existing.id !== run.id);
  const index = rest.findIndex((existing) => existing.createdAt < run.createdAt || (existing.createdAt === run.createdAt && existing.id < run.id));
  const merged = index === -1 ? [...rest, run] : [...rest.slice(0, index), run, ...rest.slice(index)];
  return merged.slice(0, limit);
}
