// The Heartbeat SDK: an urql client that speaks GraphQL over HTTP for queries and mutations and
// graphql-ws for subscriptions (reconnecting with jittered backoff, kept alive with pings), both
// authenticated with an API key, plus typed helpers for what people do most.
import { Client, CombinedError, fetchExchange, subscriptionExchange, type AnyVariables, type TypedDocumentNode } from '@urql/core';
import { print } from 'graphql';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { graphqlEndpoint, graphqlFetch, NotGraphQLError } from './endpoint.ts';
import type {
  AgentTaskSessionsQuery as AgentTaskSessionsResult,
  BudgetFieldsFragment as Budget,
  CostFilterInput,
  CostGroup,
  CostSummaryQuery as CostSummaryResult,
  EnqueueWakeupInput,
  ProjectsQuery as ProjectsResult,
  LogStream,
  LogWindowFieldsFragment as LogWindow,
  RunFieldsFragment,
  RunFilter,
  RunEventsSubscription as RunEventsResult,
  SetBudgetInput,
} from './generated/graphql.ts';
import {
  AgentsQuery,
  AgentTaskSessionsQuery,
  BudgetsQuery,
  CancelRunMutation,
  CostSummaryQuery,
  CreateProjectMutation,
  DeleteBudgetMutation,
  DismissRunSilenceMutation,
  EnqueueWakeupMutation,
  PauseAgentMutation,
  ProjectsQuery,
  ResetAgentSessionMutation,
  ResumeAgentMutation,
  RetryRunMutation,
  RunEventsSubscription,
  RunLogQuery,
  RunLogWindowQuery,
  RunQuery,
  RunsQuery,
  RunStatusSubscription,
  SetBudgetMutation,
  SnoozeRunSilenceMutation,
  SpendQuery,
  ViewerQuery,
} from './operations.ts';

export * from './operations.ts';
export type {
  BudgetFieldsFragment as Budget,
  CostFilterInput,
  CostGroup,
  EnqueueWakeupInput,
  LogStream,
  LogWindowFieldsFragment as LogWindow,
  RunFieldsFragment as Run,
  RunFilter,
  SetBudgetInput,
} from './generated/graphql.ts';
export type RunEvent = RunEventsResult['runEvents'];
export type AgentTaskSession = NonNullable<AgentTaskSessionsResult['agent']>['taskSessions'][number];
export type CostBucket = CostSummaryResult['costSummary'][number];
export type Project = ProjectsResult['projects'][number];

export interface HeartbeatClientOptions {
  /** The GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql (the server's address alone, http://127.0.0.1:4000, means the same). */
  url: string;
  apiKey: string;
  /** WebSocket implementation where there is no global one (Node 20: the `ws` package). */
  webSocketImpl?: unknown;
  /** How often the WebSocket is pinged, ms (default 10 s). */
  keepAliveMs?: number;
  /** Reconnect attempts before a subscription fails (default 10; Infinity never gives up). */
  retryAttempts?: number;
  /** Wait before reconnect attempt `retries` (0, 1, ...), ms (default reconnectDelayMs: jittered, up to 30 s). */
  reconnectDelayMs?: (retries: number) => number;
}

/** A GraphQL error with its stable code (UNAUTHENTICATED, NOT_FOUND, ...), NETWORK_ERROR, or NOT_GRAPHQL (the URL answered something else). */
export class HeartbeatApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'HeartbeatApiError';
  }

  static from(error: CombinedError | unknown): HeartbeatApiError {
    if (error instanceof CombinedError) {
      if (error.networkError instanceof NotGraphQLError) return new HeartbeatApiError(error.networkError.message, 'NOT_GRAPHQL', { url: error.networkError.url, status: error.networkError.status });
      const first = error.graphQLErrors[0];
      if (first) return new HeartbeatApiError(first.message, String(first.extensions?.code ?? 'INTERNAL_SERVER_ERROR'), first.extensions ?? {});
      const cause = (error.networkError as { cause?: { code?: string; message?: string } } | undefined)?.cause;
      return new HeartbeatApiError(cause?.code ?? cause?.message ?? error.networkError?.message ?? error.message, 'NETWORK_ERROR');
    }
    const list = Array.isArray(error) ? (error as Array<{ message?: string; extensions?: Record<string, unknown> }>) : null;
    if (list?.[0]) return new HeartbeatApiError(String(list[0].message), String(list[0].extensions?.code ?? 'INTERNAL_SERVER_ERROR'), list[0].extensions ?? {});
    if (error instanceof Error) return new HeartbeatApiError(error.message, 'NETWORK_ERROR');
    const reason = (error as { reason?: string; code?: number } | null)?.reason;
    return new HeartbeatApiError(reason || 'The connection to Heartbeat closed', 'NETWORK_ERROR', { closeCode: (error as { code?: number })?.code });
  }
}

/** The largest page the API serves. */
const AGENTS_PAGE_SIZE = 100;

/** The largest window of a run's log the API serves (bytes). */
export const LOG_WINDOW_MAX_BYTES = 1024 * 1024;

/** Statuses after which a run's log does not grow (all of it is stored before the run gets one). */
export const TERMINAL_RUN_STATUSES: ReadonlySet<string> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT']);

/** Where to read a run's log: both streams interleaved or one, and the size of each window (bytes, at most 1 MiB). */
export interface LogReadOptions {
  stream?: LogStream;
  /** Where to start (bytes of UTF-8; default 0). */
  fromOffset?: number;
  /** Start at the last this many bytes instead (any size: the reads are still by window). */
  tailBytes?: number;
  /** The size of each window asked for (default and most 1 MiB). */
  limitBytes?: number;
  /** Stops the reading at once. */
  signal?: AbortSignal;
}

export interface FollowLogOptions extends LogReadOptions {
  /** How long to wait before asking again once it has read all there is (ms, default 1000). */
  pollMs?: number;
}

/** The error a read of a log removed by the retention setting throws: code LOG_EXPIRED. */
export function logExpiredError(runId: string, expiredAt?: string | null): HeartbeatApiError {
  const when = expiredAt ? ` on ${expiredAt}` : '';
  return new HeartbeatApiError(`the log of run ${runId} has expired: it was removed by the log retention setting${when}`, 'LOG_EXPIRED', { runId, expiredAt: expiredAt ?? null });
}

/** Waits `ms`, or less if `signal` aborts. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Exponential backoff with full jitter: 0.5–1 s, 1–2 s, 2–4 s, ... capped at 30 s. */
export function reconnectDelayMs(retries: number, random = Math.random()): number {
  const ceiling = Math.min(30_000, 1_000 * 2 ** retries);
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}

export function createHeartbeatClient(options: HeartbeatClientOptions) {
  const url = graphqlEndpoint(options.url);
  const authorization = `Bearer ${options.apiKey}`;
  const retryAttempts = options.retryAttempts ?? 10;
  const reconnectDelay = options.reconnectDelayMs ?? ((retries: number) => reconnectDelayMs(retries));
  const waitToReconnect = (retries: number) => new Promise<void>((resolve) => setTimeout(resolve, reconnectDelay(retries)));
  const ws: WsClient = createWsClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: options.webSocketImpl,
    connectionParams: { authorization },
    lazy: true,
    keepAlive: options.keepAliveMs ?? 10_000,
    retryAttempts,
    retryWait: waitToReconnect,
    // A refused key (4403) will be refused again: do not retry it.
    shouldRetry: (event) => (event as { code?: number })?.code !== 4403,
  });
  const urql = new Client({
    url,
    fetch: graphqlFetch(url),
    fetchOptions: { headers: { authorization } },
    requestPolicy: 'network-only',
    exchanges: [
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: ws.subscribe({ ...request, query: request.query ?? '' }, sink) }),
        }),
      }),
    ],
  });

  async function query<Data, Variables extends AnyVariables>(document: TypedDocumentNode<Data, Variables>, variables: Variables): Promise<Data> {
    const result = await urql.query(document, variables).toPromise();
    if (result.error) throw HeartbeatApiError.from(result.error);
    return result.data!;
  }
  async function mutate<Data, Variables extends AnyVariables>(document: TypedDocumentNode<Data, Variables>, variables: Variables): Promise<Data> {
    const result = await urql.mutation(document, variables).toPromise();
    if (result.error) throw HeartbeatApiError.from(result.error);
    return result.data!;
  }
  /** Results of a subscription as an async iterable; errors (GraphQL or transport) are thrown. */
  async function* subscribe<Data, Variables extends Record<string, unknown>>(
    document: TypedDocumentNode<Data, Variables>,
    variables: Variables,
    signal?: AbortSignal,
  ): AsyncGenerator<Data> {
    if (signal?.aborted) return;
    const iterator = ws.iterate<Data>({ query: print(document), variables });
    // Ending the iteration unsubscribes at once, even while it waits for the next result.
    const stop = () => void iterator.return?.();
    signal?.addEventListener('abort', stop, { once: true });
    try {
      for await (const result of iterator) {
        if (result.errors?.length) throw HeartbeatApiError.from(result.errors);
        yield result.data as Data;
      }
    } catch (error) {
      throw error instanceof HeartbeatApiError ? error : HeartbeatApiError.from(error);
    } finally {
      signal?.removeEventListener('abort', stop);
      await iterator.return?.();
    }
  }

  async function readLogWindow(id: string, variables: { stream?: LogStream; offset?: number; limitBytes?: number }) {
    const { run } = await query(RunLogWindowQuery, { id, ...variables });
    if (!run) throw new HeartbeatApiError(`no run ${id}`, 'NOT_FOUND');
    return run;
  }

  /** A run's log window by window, to the end of what is stored (`pollMs` null), or following it until the run ends. */
  async function* logWindows(id: string, options: LogReadOptions, pollMs: number | null): AsyncGenerator<LogWindow> {
    const { stream, signal } = options;
    if (options.tailBytes != null && options.fromOffset != null) throw new HeartbeatApiError('Give fromOffset or tailBytes, not both', 'BAD_USER_INPUT');
    const limitBytes = Math.min(LOG_WINDOW_MAX_BYTES, options.limitBytes ?? LOG_WINDOW_MAX_BYTES);
    let offset = options.fromOffset ?? 0;
    let failures = 0;
    /** The run and its window from `offset`; a dropped connection is retried while following, as the subscriptions are. */
    const read = async (at: number, limit: number) => {
      for (;;) {
        try {
          const run = await readLogWindow(id, { stream, offset: at, limitBytes: limit });
          failures = 0;
          if (run.logWindow.expired) throw logExpiredError(id, run.logExpiredAt);
          return run;
        } catch (error) {
          const retry = pollMs !== null && error instanceof HeartbeatApiError && error.code === 'NETWORK_ERROR' && failures < retryAttempts && !signal?.aborted;
          if (!retry) throw error;
          await pause(reconnectDelay(failures++), signal);
          if (signal?.aborted) throw error;
        }
      }
    };
    if (options.tailBytes != null) {
      // Where the last tailBytes start: the log's size, from a one-byte window.
      const { logWindow } = await read(0, 1);
      offset = Math.max(0, logWindow.totalBytes - options.tailBytes);
    }
    while (!signal?.aborted) {
      const run = await read(offset, limitBytes);
      if (signal?.aborted) return;
      const window = run.logWindow;
      // Read up to what is stored (or stuck: a window too small for the character at `offset`).
      const caughtUp = window.nextOffset >= window.totalBytes || window.nextOffset <= offset;
      offset = Math.max(offset, window.nextOffset);
      if (window.text) yield window;
      if (!caughtUp) continue;
      // A terminal status is written after all of the log: read to the end, there is no more to come.
      if (pollMs === null || TERMINAL_RUN_STATUSES.has(run.status)) return;
      await pause(pollMs, signal);
    }
  }

  return {
    /** The urql Client under the helpers, authenticated with the key: for typed documents the SDK has no helper for (and @urql/preact's Provider). */
    urql,
    ws,
    /** The caller's company. */
    viewer: async () => {
      const data = await query(ViewerQuery, {});
      // What the key may do: VIEWER reads, OPERATOR also acts, ADMIN also manages keys.
      return { ...data.viewer, role: data.viewerRole };
    },
    /** Every agent of the company (page by page), or only the first `first`. */
    agents: async (first?: number) => {
      const agents = [];
      let after: string | null | undefined;
      do {
        const pageSize = Math.min(AGENTS_PAGE_SIZE, first === undefined ? AGENTS_PAGE_SIZE : first - agents.length);
        const page = (await query(AgentsQuery, { first: pageSize, after })).agents;
        agents.push(...page.edges.map((edge) => edge.node));
        after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      } while (after && (first === undefined || agents.length < first));
      return agents;
    },
    runs: async (args: { filter?: RunFilter; first?: number; after?: string } = {}) => (await query(RunsQuery, args)).runs,
    run: async (id: string) => (await query(RunQuery, { id })).run ?? null,
    /**
     * The text of a window of the run's output as stored (at most 1 MiB): both streams, or one; from
     * `offset` (bytes), or its last `tailBytes`; at most `limitBytes`. Null for a run that has not
     * started and for a log removed by retention. To read all of it, see `readLog` and `followLog`.
     */
    log: async (id: string, options: { stream?: LogStream; offset?: number; limitBytes?: number; tailBytes?: number } = {}) => {
      const { run } = await query(RunLogQuery, { id, ...options });
      if (!run) throw new HeartbeatApiError(`no run ${id}`, 'NOT_FOUND');
      return run.log ?? null;
    },
    /**
     * A window of the run's log and where it sits: `text` from `offset` to `nextOffset` (bytes of
     * UTF-8; a window never cuts a character), out of `totalBytes` so far; `expired` when the
     * retention setting removed the log.
     */
    logWindow: async (id: string, options: { stream?: LogStream; offset?: number; limitBytes?: number } = {}): Promise<LogWindow> =>
      (await readLogWindow(id, options)).logWindow,
    /**
     * The run's log as stored now, window by window (never all at once), from `fromOffset` or its
     * last `tailBytes`; each window is yielded as it arrives, and it ends at the end of what is
     * stored. A log removed by retention throws a HeartbeatApiError with code LOG_EXPIRED.
     */
    readLog: (id: string, options: LogReadOptions = {}): AsyncGenerator<LogWindow> => logWindows(id, options, null),
    /**
     * Follows the run's log: yields each window of new text as it is stored, asking again from its
     * `nextOffset` (every `pollMs`, 1 s by default, once it has caught up), and ends once the run is
     * terminal and all of its log was read. Starts at `fromOffset` (default 0) or at its last
     * `tailBytes`. A log removed by retention throws a HeartbeatApiError with code LOG_EXPIRED;
     * aborting `signal` ends it at once.
     */
    followLog: (id: string, options: FollowLogOptions = {}): AsyncGenerator<LogWindow> => logWindows(id, options, options.pollMs ?? 1_000),
    wake: async (input: EnqueueWakeupInput) => (await mutate(EnqueueWakeupMutation, { input })).enqueueWakeup,
    cancel: async (id: string, reason?: string) => (await mutate(CancelRunMutation, { id, reason })).cancelRun,
    retry: async (id: string) => (await mutate(RetryRunMutation, { id })).retryRun,
    /** Snoozes a running run's output-silence warning until `until` (at most 7 days ahead). */
    snoozeSilence: async (id: string, until: Date | string) =>
      (await mutate(SnoozeRunSilenceMutation, { id, until: typeof until === 'string' ? until : until.toISOString() })).snoozeRunSilence,
    /** Dismisses a running run's output-silence warning as a false positive, until its next output. */
    dismissSilence: async (id: string) => (await mutate(DismissRunSilenceMutation, { id })).dismissRunSilence,
    /** Pauses the agent and cancels its queued, scheduled and running runs. */
    pauseAgent: async (id: string) => (await mutate(PauseAgentMutation, { id })).pauseAgent,
    resumeAgent: async (id: string) => (await mutate(ResumeAgentMutation, { id })).resumeAgent,
    /** The agent's rotation policy and the sessions its tasks resume, most recently used first. */
    taskSessions: async (agentId: string, first?: number) => {
      const { agent } = await query(AgentTaskSessionsQuery, { id: agentId, first });
      if (!agent) throw new HeartbeatApiError(`no agent ${agentId}`, 'NOT_FOUND');
      return agent;
    },
    /** Forgets one task's session (`taskKey`) or all of the agent's; the next run starts fresh. */
    resetAgentSession: async (agentId: string, taskKey?: string) =>
      (await mutate(ResetAgentSessionMutation, { input: { agentId, taskKey } })).resetAgentSession,

    /** The company's cost events in `filter` summed per bucket of `groupBy` (none: one bucket), biggest first. */
    costSummary: async (args: { filter?: CostFilterInput; groupBy?: CostGroup[]; first?: number } = {}): Promise<CostBucket[]> =>
      (await query(CostSummaryQuery, args)).costSummary,
    /** Spend per agent and per UTC day since `from` (the dashboard's Spend panel), in one request. */
    spend: async (from: Date) => query(SpendQuery, { from: from.toISOString() }),
    /** The company's budgets, with what each scope spent and its status. */
    budgets: async (): Promise<Budget[]> => (await query(BudgetsQuery, {})).budgets,
    /** Sets (or replaces) the budget of a scope and period; admin keys only. */
    setBudget: async (input: SetBudgetInput): Promise<Budget> => (await mutate(SetBudgetMutation, { input })).setBudget,
    /** Deletes a budget; admin keys only. */
    deleteBudget: async (id: string) => (await mutate(DeleteBudgetMutation, { id })).deleteBudget,
    projects: async (): Promise<Project[]> => (await query(ProjectsQuery, {})).projects,
    createProject: async (name: string) => (await mutate(CreateProjectMutation, { input: { name } })).createProject,

    /**
     * A run's events, each once and in order, from `afterSeq` until the run has finished. If the
     * connection drops or the server cuts a slow reader off, it resubscribes from the last seq it
     * delivered, so nothing is missed or repeated. Aborting `signal` ends the watch at once.
     */
    async *watchRunEvents(runId: string, { afterSeq = 0, signal }: { afterSeq?: number; signal?: AbortSignal } = {}): AsyncGenerator<RunEvent> {
      let last = afterSeq;
      for (let resumes = 0; !signal?.aborted; resumes++) {
        try {
          for await (const data of subscribe(RunEventsSubscription, { runId, afterSeq: last }, signal)) {
            const event = data.runEvents;
            if (event.seq <= last) continue; // replayed after a transparent reconnect
            last = event.seq;
            yield event;
          }
          return;
        } catch (error) {
          const resumable = error instanceof HeartbeatApiError && (error.code === 'SLOW_CONSUMER' || error.code === 'NETWORK_ERROR');
          if (!resumable || resumes >= retryAttempts) throw error;
          await waitToReconnect(resumes);
        }
      }
    },

    /**
     * The run(s) on every change: by `runId` (completes once settled), `agentId`, `issueId`, or all.
     * Aborting `signal` ends the watch at once.
     */
    async *watchRunStatus(filter: { runId?: string; agentId?: string; issueId?: string; signal?: AbortSignal } = {}): AsyncGenerator<RunFieldsFragment> {
      const { signal, ...variables } = filter;
      for await (const data of subscribe(RunStatusSubscription, variables, signal)) yield data.runStatus;
    },

    close: async () => {
      await ws.dispose();
    },
  };
}

export type HeartbeatClient = ReturnType<typeof createHeartbeatClient>;
