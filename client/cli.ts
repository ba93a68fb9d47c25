// The `heartbeat` CLI's client commands: they talk to a running server through the SDK.
// HEARTBEAT_URL and HEARTBEAT_API_KEY say where and as whom; tables for people, --json for scripts.
import { type Command, InvalidArgumentError, Option } from 'commander';
import WebSocket from 'ws';
import { registerCostCommands } from './cli-costs.ts';
import type { RunQuery } from './generated/graphql.ts';
import { createHeartbeatClient, HeartbeatApiError, type HeartbeatClient, type LogStream, type LogWindow, type Run } from './index.ts';

const DEFAULT_URL = 'http://127.0.0.1:4000/graphql';
const RUN_STATUSES = ['QUEUED', 'SCHEDULED_RETRY', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'] as const;
const LOG_STREAMS = ['stdout', 'stderr'] as const;
/** Lines of output `runs show` prints; `runs log` prints all of it. */
const OUTPUT_TAIL_LINES = 10;

/** A commander parser for an integer option between `min` and `max`. */
const integerBetween = (min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
  return n;
};

const DURATION_UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A moment given as a time (ISO 8601) or a duration from now (`90m`, `2h`, `1d`), as ISO text. */
export function parseUntil(value: string, now = new Date()): string {
  const duration = /^(\d+)\s*([smhd])$/.exec(value.trim());
  if (duration) return new Date(now.getTime() + Number(duration[1]) * DURATION_UNITS[duration[2]]).toISOString();
  const at = Date.parse(value);
  if (Number.isNaN(at)) throw new InvalidArgumentError('expected a time (ISO 8601) or a duration such as 90m, 2h or 1d');
  return new Date(at).toISOString();
}

interface WakeOptions {
  issue?: string;
  reason?: string;
  payload?: string;
  idempotencyKey?: string;
  freshSession?: boolean;
  resumeFrom?: string;
}

interface GlobalOptions {
  url?: string;
  apiKey?: string;
}

/** A clear one-line reason for any failure, for people. */
export function describeFailure(error: unknown, url: string): string {
  if (error instanceof HeartbeatApiError) {
    if (error.code === 'UNAUTHENTICATED') return `the API key was refused (${error.code}); check HEARTBEAT_API_KEY`;
    if (error.code === 'NETWORK_ERROR') return `cannot reach Heartbeat at ${url}: ${error.message}`;
    if (error.code === 'LOG_EXPIRED') return error.message;
    return `${error.message} (${error.code})`;
  }
  return error instanceof Error ? error.message : String(error);
}

function table(rows: Array<Record<string, unknown>>, columns: string[]): string {
  const text = (value: unknown) => (value === null || value === undefined ? '-' : String(value));
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => text(row[column]).length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...rows.map((row) => line(columns.map((c) => text(row[c]))))].join('\n');
}

const runRow = (run: Run) => ({
  id: run.id,
  status: run.status,
  agent: run.agent.name,
  issue: run.issue?.identifier ?? null,
  liveness: run.liveness.state,
  retry: run.retry.attempt > 0 ? `${run.retry.attempt}/${run.retry.maxAttempts}` : null,
  created: run.createdAt,
});

/** A table cell of at most `max` characters (--json has the whole text). */
const cut = (text: string | null | undefined, max = 60) => (text && text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** An agent's task sessions as a table, and its rotation policy when it has one. */
function describeSessions(agent: Awaited<ReturnType<HeartbeatClient['taskSessions']>>): string {
  const rows = agent.taskSessions.map((session) => ({
    task: session.taskKey,
    // The id people know it by, and the id the agent resumes when they differ.
    session: session.displayId && session.displayId !== session.sessionId ? `${session.displayId} (${session.sessionId})` : session.sessionId,
    'last run': session.lastRun?.id,
    'last error': cut(session.lastError),
    updated: session.updatedAt,
  }));
  const lines = [rows.length ? table(rows, ['task', 'session', 'last run', 'last error', 'updated']) : `agent ${agent.name} has no sessions`];
  const { maxSessionRuns, maxRawInputTokens, maxSessionAgeHours } = agent.sessionPolicy;
  const limits = [
    maxSessionRuns ? `after ${maxSessionRuns} runs` : null,
    maxRawInputTokens ? `at ${maxRawInputTokens} raw input tokens` : null,
    maxSessionAgeHours ? `after ${maxSessionAgeHours} hours` : null,
  ].filter(Boolean);
  if (limits.length) lines.push(`sessions rotate ${limits.join(', ')}`);
  return lines.join('\n');
}

/** Writes to stdout and waits until it is taken: a long log goes out as it comes, without piling up in memory. */
const writeOut = (text: string) => new Promise<void>((resolve, reject) => process.stdout.write(text, (error) => (error ? reject(error) : resolve())));

/** The reader of `runs log` went away (`| head`): not a failure of the command. */
const isClosedPipe = (error: unknown) => (error as NodeJS.ErrnoException | null)?.code === 'EPIPE';

/** The last `count` lines of `text`, without its final newline. */
function lastLines(text: string, count: number): string[] {
  const lines = text.replace(/\n$/, '').split('\n');
  return lines.slice(-count);
}

type RunDetail = NonNullable<RunQuery['run']>;
type ShownRun = Run & {
  result?: unknown;
  stdoutExcerpt?: string | null;
  stderrExcerpt?: string | null;
  taskKey?: string | null;
  sessionIdBefore?: string | null;
  sessionIdAfter?: string | null;
  cost?: RunDetail['cost'];
};

/** A run for people; with `output`, also the end of what it printed. */
function describeRun(run: ShownRun, { output = false } = {}): string {
  const lines = [
    `run      ${run.id}`,
    `status   ${run.status}${run.errorCode ? ` (${run.errorCode})` : ''}${run.exitCode !== null && run.exitCode !== undefined ? `, exit code ${run.exitCode}` : ''}`,
    `agent    ${run.agent.name}`,
  ];
  if (run.issue) lines.push(`issue    ${run.issue.identifier} ${run.issue.title}`);
  const summary = (run.result as { summary?: unknown } | null | undefined)?.summary;
  if (typeof summary === 'string' && summary) lines.push(`summary  ${summary}`);
  if (run.error) lines.push(`error    ${run.error}`);
  if (run.liveness.state) lines.push(`liveness ${run.liveness.state}: ${run.liveness.reason ?? ''}`);
  if (run.liveness.nextAction) lines.push(`next     ${run.liveness.nextAction}`);
  if (run.retry.retryOf) lines.push(`retry of ${run.retry.retryOf.id}`);
  if (run.retry.attempt > 0) lines.push(`retry    attempt ${run.retry.attempt}/${run.retry.maxAttempts}${run.retry.scheduledAt ? ` due ${run.retry.scheduledAt}` : ''}`);
  if (run.retry.exhaustedReason) lines.push(`retries  ${run.retry.exhaustedReason}`);
  if (run.outputSilence && run.outputSilence.level !== 'OK') {
    const { level, seconds, snoozedUntil } = run.outputSilence;
    const silent = seconds >= 3_600 ? `${Math.floor(seconds / 3_600)}h ${Math.floor((seconds % 3_600) / 60)}m` : `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
    lines.push(`silence  ${level}: no output for ${silent}${snoozedUntil ? ` (snoozed until ${snoozedUntil})` : ''}`);
  }
  if (run.taskKey) lines.push(`task     ${run.taskKey}`);
  // Only agents that resume sessions have one to show.
  if (run.sessionIdBefore || run.sessionIdAfter) {
    lines.push(`session  ${run.sessionIdBefore ? `resumed ${run.sessionIdBefore}` : 'fresh'}${run.sessionIdAfter ? `, left ${run.sessionIdAfter}` : ''}`);
  }
  if (run.cost) {
    const { cost } = run;
    const billing = [cost.billingType.toLowerCase().replace(/_/g, ' '), cost.model].filter(Boolean).join(', ');
    lines.push(`cost     $${(cost.costCents / 100).toFixed(2)} (${billing}); tokens ${cost.inputTokens} in, ${cost.cachedInputTokens} cached, ${cost.outputTokens} out`);
  }
  if (output) {
    for (const [stream, text] of [['stdout', run.stdoutExcerpt], ['stderr', run.stderrExcerpt]] as const) {
      if (!text) continue;
      lines.push(`${stream.padEnd(8)} (its last lines; \`heartbeat runs log\` prints all of it)`);
      lines.push(...lastLines(text, OUTPUT_TAIL_LINES).map((line) => `  ${line}`));
    }
  }
  return lines.join('\n');
}

export function registerClientCommands(program: Command): void {
  program
    .option('--url <url>', `GraphQL endpoint (default: HEARTBEAT_URL or ${DEFAULT_URL})`)
    .option('--api-key <key>', 'API key (default: HEARTBEAT_API_KEY)');

  /** Runs `work` with a connected client; prints failures as one line and sets the exit code. */
  const withClient = (work: (client: HeartbeatClient, json: boolean, ...args: any[]) => Promise<number | void>) =>
    async (...args: any[]) => {
      const command = args.at(-1) as Command;
      const globals = command.optsWithGlobals() as GlobalOptions & { json?: boolean };
      const url = globals.url ?? process.env.HEARTBEAT_URL ?? DEFAULT_URL;
      const apiKey = globals.apiKey ?? process.env.HEARTBEAT_API_KEY;
      if (!apiKey) {
        process.stderr.write('heartbeat: set HEARTBEAT_API_KEY (or pass --api-key)\n');
        process.exitCode = 2;
        return;
      }
      const client = createHeartbeatClient({ url, apiKey, webSocketImpl: WebSocket, retryAttempts: 3 });
      try {
        const code = await work(client, !!globals.json, ...args.slice(0, -1));
        process.exitCode = code ?? 0;
      } catch (error) {
        process.stderr.write(`heartbeat: ${describeFailure(error, url)}\n`);
        process.exitCode = 1;
      } finally {
        await client.close();
      }
    };
  const print = (json: boolean, data: unknown, human: () => string) => process.stdout.write(`${json ? JSON.stringify(data, null, 2) : human()}\n`);

  /** An agent given by id or by exact name. */
  const resolveAgent = async (client: HeartbeatClient, agent: string) => {
    const agents = await client.agents();
    const found = agents.find((a) => a.id === agent) ?? agents.filter((a) => a.name === agent);
    if (Array.isArray(found)) {
      if (found.length === 1) return found[0];
      throw new HeartbeatApiError(found.length ? `more than one agent is named "${agent}"; use its id` : `no agent "${agent}"`, found.length ? 'BAD_USER_INPUT' : 'NOT_FOUND');
    }
    return found;
  };

  const agents = program.command('agents').description('agents of your company');
  agents
    .command('list')
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json) => {
        const list = await client.agents();
        print(json, list, () =>
          list.length
            ? table(
                list.map((a) => ({ id: a.id, name: a.name, status: a.status, adapter: a.adapterType, running: a.activeRun ? 'yes' : 'no', limit: a.heartbeat.maxConcurrentRuns })),
                ['id', 'name', 'status', 'adapter', 'running', 'limit'],
              )
            : 'no agents',
        );
      }),
    );
  agents
    .command('pause <agent>')
    .description('pause an agent (by id or name) and cancel its queued and running runs')
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json, agentArg: string) => {
        const agent = await client.pauseAgent((await resolveAgent(client, agentArg)).id);
        print(json, agent, () => `agent ${agent.name} is ${agent.status}`);
      }),
    );
  agents
    .command('resume <agent>')
    .description('make a paused agent (by id or name) wakeable again')
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json, agentArg: string) => {
        const agent = await client.resumeAgent((await resolveAgent(client, agentArg)).id);
        print(json, agent, () => `agent ${agent.name} is ${agent.status}`);
      }),
    );
  agents
    .command('sessions <agent>')
    .description("the sessions an agent's tasks resume (agent by id or name), most recently used first")
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json, agentArg: string) => {
        const agent = await client.taskSessions((await resolveAgent(client, agentArg)).id);
        print(json, agent, () => describeSessions(agent));
      }),
    );
  agents
    .command('reset-session <agent>')
    .description("forget an agent's sessions (agent by id or name): the next runs of its tasks start fresh")
    .option('--task <key>', "only this task's session")
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json, agentArg: string, options: { task?: string }) => {
        const result = await client.resetAgentSession((await resolveAgent(client, agentArg)).id, options.task);
        const what = `${result.removed} session${result.removed === 1 ? '' : 's'}${options.task ? ` of task ${options.task}` : ''}`;
        print(json, result, () => `removed ${what} of agent ${result.agent.name}`);
      }),
    );

  program
    .command('wake <agent>')
    .description('wake an agent (by id or name)')
    .option('--issue <id>', 'the issue the run works on')
    .option('--reason <reason>', 'why it is woken')
    .option('--payload <json>', 'a JSON object handed to the run')
    .option('--idempotency-key <key>', 'a second wake with the same key creates nothing')
    .addOption(new Option('--fresh-session', "start a fresh session instead of resuming the task's").conflicts('resumeFrom'))
    .option('--resume-from <run>', 'resume the session this earlier run of the agent left (its id)')
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json, agentArg: string, options: WakeOptions) => {
        let payload: unknown;
        if (options.payload) {
          try {
            payload = JSON.parse(options.payload);
          } catch {
            throw new HeartbeatApiError('--payload is not valid JSON', 'BAD_USER_INPUT');
          }
        }
        const agent = await resolveAgent(client, agentArg);
        const result = await client.wake({
          agentId: agent.id,
          issueId: options.issue,
          reason: options.reason ?? 'manual',
          payload,
          idempotencyKey: options.idempotencyKey,
          forceFreshSession: options.freshSession,
          resumeFromRunId: options.resumeFrom,
        });
        print(json, result, () => `${result.outcome}${result.run ? ` run ${result.run.id} (${result.run.status})` : ''} - wakeup ${result.wakeupRequest.status}${result.wakeupRequest.reason ? ` (${result.wakeupRequest.reason})` : ''}`);
      }),
    );

  const runs = program.command('runs').description('heartbeat runs');
  runs
    .command('list')
    .option('--agent <agent>', 'only this agent (id or name)')
    .option('--status <status...>', `only these statuses (${RUN_STATUSES.join(', ')})`)
    .option('--limit <n>', 'how many, newest first (1-100)', integerBetween(1, 100), 20)
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json, options: { agent?: string; status?: string[]; limit: number }) => {
        const status = options.status?.map((s) => s.toUpperCase());
        const invalid = status?.find((s) => !(RUN_STATUSES as readonly string[]).includes(s));
        if (invalid) throw new HeartbeatApiError(`unknown status "${invalid}"`, 'BAD_USER_INPUT');
        const agentId = options.agent ? (await resolveAgent(client, options.agent)).id : undefined;
        const page = await client.runs({ first: options.limit, filter: { agentId, status: status as never } });
        const list = page.edges.map((edge) => edge.node);
        print(json, list, () => (list.length ? table(list.map(runRow), ['id', 'status', 'agent', 'issue', 'liveness', 'retry', 'created']) : 'no runs'));
      }),
    );
  runs
    .command('show <id>')
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json, id: string) => {
        const run = await client.run(id);
        if (!run) throw new HeartbeatApiError(`no run ${id}`, 'NOT_FOUND');
        print(json, run, () => describeRun(run, { output: true }));
      }),
    );
  runs
    .command('log <id>')
    .description("print the run's output as stored, window by window as it comes; with --follow, until the run ends")
    .addOption(new Option('--stream <stream>', 'only this stream').choices(LOG_STREAMS))
    .option('--tail <bytes>', 'only its last bytes (with --follow: start there)', integerBetween(1, 1 << 30))
    .option('-f, --follow', 'keep printing its new output until the run ends')
    .option('--json', 'JSON output: {id, log, expired}; with --follow, one JSON window per line')
    .action(
      withClient(async (client, json, id: string, options: { stream?: (typeof LOG_STREAMS)[number]; tail?: number; follow?: boolean }) => {
        const read = { stream: options.stream?.toUpperCase() as LogStream | undefined, tailBytes: options.tail };
        const windows: AsyncIterable<LogWindow> = options.follow ? client.followLog(id, read) : client.readLog(id, read);
        // A reader that went away (`| head`) ends the command quietly: the failed write says so, and
        // stdout's own error event (thrown when nobody listens) is left to this listener.
        process.stdout.on('error', () => {});
        try {
          if (json && !options.follow) {
            // One JSON document: the text is gathered first (a script asked for it whole).
            let log = '';
            for await (const window of windows) log += window.text;
            await writeOut(`${JSON.stringify({ id, log, expired: false }, null, 2)}\n`);
            return 0;
          }
          let last = '';
          for await (const window of windows) {
            await writeOut(json ? `${JSON.stringify(window)}\n` : window.text);
            last = window.text;
          }
          if (json) return 0;
          if (!last) process.stderr.write(`heartbeat: run ${id} has no stored ${options.stream ?? ''}${options.stream ? ' ' : ''}output\n`);
          else if (!last.endsWith('\n')) await writeOut('\n');
          return 0;
        } catch (error) {
          if (isClosedPipe(error)) return 0;
          if (json && !options.follow && error instanceof HeartbeatApiError && error.code === 'LOG_EXPIRED') {
            await writeOut(`${JSON.stringify({ id, log: null, expired: true }, null, 2)}\n`);
          }
          throw error;
        }
      }),
    );
  runs
    .command('cancel <id>')
    .option('--reason <reason>', 'recorded on the run')
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json, id: string, options: { reason?: string }) => {
        const run = await client.cancel(id, options.reason);
        print(json, run, () => `run ${run.id} is ${run.status}`);
      }),
    );
  runs
    .command('snooze <id>')
    .description("snooze a running run's output-silence warning (SNOOZED until then, at most 7 days)")
    .requiredOption('--until <when>', 'a time (ISO 8601) or a duration from now: 90m, 2h, 1d', (value: string) => parseUntil(value))
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json, id: string, options: { until: string }) => {
        const run = await client.snoozeSilence(id, options.until);
        print(json, run, () => `run ${run.id}: output silence ${run.outputSilence?.level ?? 'not evaluated (not running)'}${run.outputSilence?.snoozedUntil ? ` until ${run.outputSilence.snoozedUntil}` : ''}`);
      }),
    );
  runs
    .command('dismiss <id>')
    .description("dismiss a running run's output-silence warning as a false positive (until its next output)")
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json, id: string) => {
        const run = await client.dismissSilence(id);
        print(json, run, () => `run ${run.id}: output silence ${run.outputSilence?.level ?? 'not evaluated (not running)'} (dismissed)`);
      }),
    );
  runs
    .command('retry <id>')
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json, id: string) => {
        const result = await client.retry(id);
        print(json, result, () => `${result.outcome}${result.run ? ` run ${result.run.id}` : ''}`);
      }),
    );
  runs
    .command('watch <id>')
    .description('stream the run\'s events until it ends; exit code 0 when it succeeded')
    .option('--json', 'one JSON event per line')
    .action(
      withClient(async (client, json, id: string) => {
        for await (const event of client.watchRunEvents(id)) {
          process.stdout.write(
            json ? `${JSON.stringify(event)}\n` : `${String(event.seq).padStart(4)}  ${event.createdAt}  ${(event.level ?? 'info').padEnd(5)}  ${event.eventType.padEnd(16)}  ${event.message ?? ''}\n`,
          );
        }
        const run = await client.run(id);
        if (!run) throw new HeartbeatApiError(`no run ${id}`, 'NOT_FOUND');
        process.stdout.write(json ? `${JSON.stringify({ outcome: run })}\n` : `\n${describeRun(run)}\n`);
        return run.status === 'SUCCEEDED' ? 0 : 1;
      }),
    );

  registerCostCommands(program, { withClient, print, table, resolveAgent });
}
