// Driving a test server through its GraphQL API, failing loudly on errors.
import { encodeGlobalId } from '../../schema/global-id.ts';
import { postGraphQL } from './graphql.ts';
import { waitFor } from './wait.ts';
import type { TestServer } from './server.ts';

export class GraphQLFailure extends Error {
  constructor(readonly errors: Array<{ message: string; extensions?: Record<string, unknown> }>) {
    super(errors.map((e) => `${e.extensions?.code ?? '?'}: ${e.message}`).join('; '));
  }
  get code(): unknown {
    return this.errors[0]?.extensions?.code;
  }
}

/** The GraphQLFailure `promise` rejects with (a test failure if it resolves or fails otherwise). */
export async function gqlFailure(promise: Promise<unknown>): Promise<GraphQLFailure> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof GraphQLFailure)) throw new Error(`expected a GraphQL failure, got ${error === null ? 'success' : String(error)}`);
  return error;
}

export async function gql<T = any>(server: TestServer, query: string, variables?: Record<string, unknown>, key = server.adminKey): Promise<T> {
  const { body } = await postGraphQL<T>(server.graphqlUrl, query, { key, variables });
  if (body.errors?.length) throw new GraphQLFailure(body.errors);
  return body.data as T;
}

export const agentGid = (id: string) => encodeGlobalId('Agent', id);
export const issueGid = (id: string) => encodeGlobalId('Issue', id);
export const runGid = (id: string) => encodeGlobalId('HeartbeatRun', id);
/** The uuid inside a global id. */
export const rawId = (globalId: string) => Buffer.from(globalId, 'base64').toString('utf8').split(':')[1];

export async function createAgent(
  server: TestServer,
  input: { name?: string; adapterType?: 'script' | 'process' | 'http'; adapterConfig?: unknown; heartbeat?: Record<string, unknown> },
): Promise<string> {
  const data = await gql<{ createAgent: { id: string } }>(
    server,
    `mutation($input: CreateAgentInput!) { createAgent(input: $input) { id } }`,
    {
      input: {
        name: input.name ?? `agent-${Math.random().toString(36).slice(2, 8)}`,
        adapterType: (input.adapterType ?? 'script').toUpperCase(),
        adapterConfig: input.adapterConfig ?? { steps: [] },
        heartbeat: input.heartbeat,
      },
    },
  );
  return rawId(data.createAgent.id);
}

export async function createIssue(server: TestServer, input: { title?: string; assigneeAgentId?: string; status?: string; priority?: string }) {
  const data = await gql<{ createIssue: { issue: { id: string }; wakeup: { outcome: string; run: { id: string } | null } | null } }>(
    server,
    `mutation($input: CreateIssueInput!) { createIssue(input: $input) { issue { id } wakeup { outcome run { id } } } }`,
    {
      input: {
        title: input.title ?? 'An issue',
        status: input.status,
        priority: input.priority,
        assigneeAgentId: input.assigneeAgentId ? agentGid(input.assigneeAgentId) : undefined,
      },
    },
  );
  return { issueId: rawId(data.createIssue.issue.id), wakeup: data.createIssue.wakeup };
}

export async function enqueue(
  server: TestServer,
  input: { agentId: string; reason?: string; issueId?: string; idempotencyKey?: string; payload?: unknown; source?: string },
) {
  const data = await gql<{ enqueueWakeup: { outcome: string; wakeupRequest: { id: string; status: string; reason: string | null }; run: { id: string; status: string } | null } }>(
    server,
    `mutation($input: EnqueueWakeupInput!) { enqueueWakeup(input: $input) {
       outcome wakeupRequest { id status reason } run { id status } } }`,
    {
      input: {
        agentId: agentGid(input.agentId),
        reason: input.reason,
        issueId: input.issueId ? issueGid(input.issueId) : undefined,
        idempotencyKey: input.idempotencyKey,
        payload: input.payload,
        source: input.source,
      },
    },
  );
  const result = data.enqueueWakeup;
  return { ...result, runId: result.run ? rawId(result.run.id) : null };
}

const TERMINAL = ['succeeded', 'failed', 'cancelled', 'timed_out'];

/** Waits for the run to reach a terminal status and returns its row. */
export function runFinished(server: TestServer, runId: string) {
  return waitFor(`run ${runId} to finish`, async () => {
    const row = await server.database.db.query.heartbeatRuns.findFirst({ where: { id: runId } });
    return row && TERMINAL.includes(row.status) ? row : null;
  });
}

/** Waits for the run's first event of `eventType` and returns its payload. */
export function runEventPayload<T>(server: TestServer, runId: string, eventType: string): Promise<T> {
  return waitFor(`a ${eventType} event on run ${runId}`, async () => {
    const [event] = await server.database.db.query.runEvents.findMany({ where: { runId, eventType } });
    return event?.payload as T | undefined;
  });
}
