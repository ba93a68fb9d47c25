// The CLI's agent commands: `agents list|show|create|pause|resume|sessions|reset-session`. An agent
// is given by its id, UUID, short id or name (cli-ids.ts).
import { type Command, InvalidArgumentError } from 'commander';
import { shortId } from './cli-ids.ts';
import { cut, integerBetween, oneOf, request, type CliKit } from './cli-kit.ts';
import { CliAgentQuery, CliCreateAgentMutation } from './cli-operations.ts';
import type { AdapterType, CliAgentQuery as AgentResult, CreateAgentInput } from './generated/graphql.ts';
import { HeartbeatApiError, type HeartbeatClient } from './index.ts';

/** Every adapter type (the compiler checks the list against the schema's). */
const ADAPTER_TYPES = Object.keys({ SCRIPT: 1, PROCESS: 1, HTTP: 1, CLAUDE_CODE: 1, CODEX: 1 } satisfies Record<AdapterType, 1>) as AdapterType[];

type ShownAgent = NonNullable<AgentResult['agent']>;

const dollars = (cents: number) => `$${(cents / 100).toFixed(2)}`;

/** An agent's timer, wakes on demand and concurrency, in a line. */
function describePolicy(heartbeat: ShownAgent['heartbeat']): string {
  const timer = heartbeat.enabled && heartbeat.intervalSec > 0 ? `timer every ${heartbeat.intervalSec}s` : 'no timer';
  const silence = heartbeat.silenceTimeoutSec > 0 ? `, cancelled after ${heartbeat.silenceTimeoutSec}s of silence` : '';
  return `${timer}, ${heartbeat.wakeOnDemand ? 'wakes on demand' : 'no wakes on demand'}, at most ${heartbeat.maxConcurrentRuns} run${heartbeat.maxConcurrentRuns === 1 ? '' : 's'} at once${silence}`;
}

/** When an agent's sessions rotate, in a line; undefined when never. */
function describeRotation({ maxSessionRuns, maxRawInputTokens, maxSessionAgeHours }: ShownAgent['sessionPolicy']): string | undefined {
  const limits = [
    maxSessionRuns ? `after ${maxSessionRuns} runs` : null,
    maxRawInputTokens ? `at ${maxRawInputTokens} raw input tokens` : null,
    maxSessionAgeHours ? `after ${maxSessionAgeHours} hours` : null,
  ].filter(Boolean);
  return limits.length ? `sessions rotate ${limits.join(', ')}` : undefined;
}

/** An agent for people: what it is, how it is woken, what it runs now and did last. */
function describeAgent(agent: ShownAgent): string {
  const lines = [
    `agent    ${agent.name} (${shortId(agent.id)})`,
    `id       ${agent.id}`,
    `status   ${agent.status}`,
    `adapter  ${agent.adapterType}${agent.role ? `, role ${agent.role}` : ''}`,
    `wakes    ${describePolicy(agent.heartbeat)}`,
  ];
  const rotation = describeRotation(agent.sessionPolicy);
  if (rotation) lines.push(rotation);
  if (agent.activeRun) lines.push(`running  run ${shortId(agent.activeRun.id)} (${agent.activeRun.status}${agent.activeRun.startedAt ? ` since ${agent.activeRun.startedAt}` : ''})`);
  if (agent.lastHeartbeatAt) lines.push(`last run ${agent.lastHeartbeatAt}${agent.runtimeState?.lastRunStatus ? ` (${agent.runtimeState.lastRunStatus})` : ''}`);
  if (agent.runtimeState?.lastError) lines.push(`error    ${cut(agent.runtimeState.lastError, 200)}`);
  lines.push(`cost     ${dollars(agent.cost.costCents)} over ${agent.cost.runs} run${agent.cost.runs === 1 ? '' : 's'}`);
  if (agent.runs.totalCount) {
    lines.push(`runs     ${agent.runs.totalCount} in all; the latest:`);
    for (const { node } of agent.runs.edges) lines.push(`  ${shortId(node.id)}  ${node.status.padEnd(15)}  ${node.createdAt}${node.issue ? `  ${node.issue.identifier}` : ''}`);
  }
  lines.push(`config   ${JSON.stringify(agent.adapterConfig)}`);
  return lines.join('\n');
}

/** An agent's task sessions as a table, and its rotation policy when it has one. */
function describeSessions(agent: Awaited<ReturnType<HeartbeatClient['taskSessions']>>, table: CliKit['table']): string {
  const rows = agent.taskSessions.map((session) => ({
    task: session.taskKey,
    // The id people know it by, and the id the agent resumes when they differ.
    session: session.displayId && session.displayId !== session.sessionId ? `${session.displayId} (${session.sessionId})` : session.sessionId,
    'last run': session.lastRun?.id,
    'last error': cut(session.lastError),
    updated: session.updatedAt,
  }));
  const lines = [rows.length ? table(rows, ['task', 'session', 'last run', 'last error', 'updated']) : `agent ${agent.name} has no sessions`];
  const rotation = describeRotation(agent.sessionPolicy);
  if (rotation) lines.push(rotation);
  return lines.join('\n');
}

/** A JSON object given on the command line. */
const jsonObject = (value: string) => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new InvalidArgumentError('expected a JSON object');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new InvalidArgumentError('expected a JSON object');
  return parsed as Record<string, unknown>;
};

interface CreateOptions {
  adapter: AdapterType;
  config?: Record<string, unknown>;
  role?: string;
  interval?: number;
  maxConcurrentRuns?: number;
  /** False with --no-wake-on-demand. */
  wakeOnDemand: boolean;
}

export function registerAgentCommands(program: Command, kit: CliKit): void {
  const { withClient, print, table, resolveAgent } = kit;

  const agents = program.command('agents').description('agents of your company (by id, short id or name)');
  agents
    .command('list')
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json) => {
        const list = await client.agents();
        print(json, list, () =>
          list.length
            ? table(
                list.map((a) => ({ id: shortId(a.id), name: a.name, status: a.status, adapter: a.adapterType, running: a.activeRun ? 'yes' : 'no', limit: a.heartbeat.maxConcurrentRuns })),
                ['id', 'name', 'status', 'adapter', 'running', 'limit'],
              )
            : 'no agents',
        );
      }),
    );
  agents
    .command('show <agent>')
    .description('an agent: status, adapter and its (redacted) settings, how it is woken, its running run, cost and latest runs')
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json, agentArg: string) => {
        const { agent } = await request(client, 'query', CliAgentQuery, { id: (await resolveAgent(client, agentArg)).id });
        if (!agent) throw new HeartbeatApiError(`no agent ${agentArg}`, 'NOT_FOUND');
        print(json, agent, () => describeAgent(agent));
      }),
    );
  agents
    .command('create <name>')
    .description('create an agent; it is woken by `heartbeat wake`, an assigned issue, or its timer')
    .requiredOption('--adapter <type>', `how its runs execute: ${ADAPTER_TYPES.map((t) => t.toLowerCase().replace(/_/g, '-')).join(', ')}`, oneOf(ADAPTER_TYPES))
    .option('--config <json>', 'its adapter settings, a JSON object (e.g. {"command":"./agent.sh"} for process)', jsonObject)
    .option('--role <role>', 'what it does, for people')
    .option('--interval <seconds>', 'wake it on a timer every this many seconds', integerBetween(1, 31_536_000))
    .option('--max-concurrent-runs <n>', 'runs that may execute at once (default 1)', integerBetween(1, 1_000))
    .option('--no-wake-on-demand', 'only its timer wakes it')
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json, name: string, options: CreateOptions) => {
        // Only what was given: the server's defaults for the rest.
        const heartbeat = {
          ...(options.interval ? { enabled: true, intervalSec: options.interval } : {}),
          ...(options.maxConcurrentRuns ? { maxConcurrentRuns: options.maxConcurrentRuns } : {}),
          ...(options.wakeOnDemand ? {} : { wakeOnDemand: false }),
        };
        const input: CreateAgentInput = {
          name,
          adapterType: options.adapter,
          adapterConfig: options.config,
          role: options.role,
          heartbeat: Object.keys(heartbeat).length ? heartbeat : undefined,
        };
        const { createAgent: agent } = await request(client, 'mutation', CliCreateAgentMutation, { input });
        print(json, agent, () => `created agent ${agent.name} (${shortId(agent.id)}): ${agent.adapterType}, ${describePolicy(agent.heartbeat)}`);
      }),
    );
  agents
    .command('pause <agent>')
    .description('pause an agent and cancel its queued and running runs')
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json, agentArg: string) => {
        const agent = await client.pauseAgent((await resolveAgent(client, agentArg)).id);
        print(json, agent, () => `agent ${agent.name} is ${agent.status}`);
      }),
    );
  agents
    .command('resume <agent>')
    .description('make a paused agent wakeable again')
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json, agentArg: string) => {
        const agent = await client.resumeAgent((await resolveAgent(client, agentArg)).id);
        print(json, agent, () => `agent ${agent.name} is ${agent.status}`);
      }),
    );
  agents
    .command('sessions <agent>')
    .description("the sessions an agent's tasks resume, most recently used first")
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json, agentArg: string) => {
        const agent = await client.taskSessions((await resolveAgent(client, agentArg)).id);
        print(json, agent, () => describeSessions(agent, table));
      }),
    );
  agents
    .command('reset-session <agent>')
    .description("forget an agent's sessions: the next runs of its tasks start fresh")
    .option('--task <key>', "only this task's session")
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json, agentArg: string, options: { task?: string }) => {
        const result = await client.resetAgentSession((await resolveAgent(client, agentArg)).id, options.task);
        const what = `${result.removed} session${result.removed === 1 ? '' : 's'}${options.task ? ` of task ${options.task}` : ''}`;
        print(json, result, () => `removed ${what} of agent ${result.agent.name}`);
      }),
    );
}
