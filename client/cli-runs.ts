// The CLI's run commands: `wake` an agent, and `runs list|show|log|cancel|snooze|dismiss|retry|watch`.
// A run is given by its id, its UUID or its short id (cli-ids.ts).
import { type Command, InvalidArgumentError, Option } from 'commander';
import { resolveIssue, resolveRun, shortId } from './cli-ids.ts';
import { integerBetween, type CliKit } from './cli-kit.ts';
import type { RunQuery } from './generated/graphql.ts';
import { HeartbeatApiError, type LogStream, type LogWindow, type Run } from './index.ts';

const RUN_STATUSES = ['QUEUED', 'SCHEDULED_RETRY', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'] as const;
const LOG_STREAMS = ['stdout', 'stderr'] as const;
/** Lines of output `runs show` prints; `runs log` prints all of it. */
const OUTPUT_TAIL_LINES = 10;
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

const runRow = (run: Run) => ({
  id: shortId(run.id),
  status: run.status,
  agent: run.agent.name,
  issue: run.issue?.identifier ?? null,
  liveness: run.liveness.state,
  retry: run.retry.attempt > 0 ? `${run.retry.attempt}/${run.retry.maxAttempts}` : null,
  created: run.createdAt,
});

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

export function registerRunCommands(program: Command, kit: CliKit): void {
  const { withClient, print, table, resolveAgent } = kit;

  program
    .command('wake <agent>')
    .description('wake an agent (by id, short id or name)')
    .option('--issue <issue>', 'the issue the run works on (id, short id or identifier such as HB-12)')
    .option('--reason <reason>', 'why it is woken')
    .option('--payload <json>', 'a JSON object handed to the run')
    .option('--idempotency-key <key>', 'a second wake with the same key creates nothing')
    .addOption(new Option('--fresh-session', "start a fresh session instead of resuming the task's").conflicts('resumeFrom'))
    .option('--resume-from <run>', 'resume the session this earlier run of the agent left (its id or short id)')
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
          issueId: options.issue ? await resolveIssue(client, options.issue) : undefined,
          reason: options.reason ?? 'manual',
          payload,
          idempotencyKey: options.idempotencyKey,
          forceFreshSession: options.freshSession,
          resumeFromRunId: options.resumeFrom ? await resolveRun(client, options.resumeFrom) : undefined,
        });
        print(json, result, () => `${result.outcome}${result.run ? ` run ${result.run.id} (${result.run.status})` : ''} - wakeup ${result.wakeupRequest.status}${result.wakeupRequest.reason ? ` (${result.wakeupRequest.reason})` : ''}`);
      }),
    );

  const runs = program.command('runs').description('heartbeat runs (by id, UUID or short id: its first characters, as the tables show them)');
  runs
    .command('list')
    .option('--agent <agent>', 'only this agent (id, short id or name)')
    .option('--issue <issue>', 'only runs on this issue (id, short id or identifier)')
    .option('--status <status...>', `only these statuses (${RUN_STATUSES.join(', ')})`)
    .option('--limit <n>', 'how many, newest first (1-100)', integerBetween(1, 100), 20)
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json, options: { agent?: string; issue?: string; status?: string[]; limit: number }) => {
        const status = options.status?.map((s) => s.toUpperCase());
        const invalid = status?.find((s) => !(RUN_STATUSES as readonly string[]).includes(s));
        if (invalid) throw new HeartbeatApiError(`unknown status "${invalid}"`, 'BAD_USER_INPUT');
        const agentId = options.agent ? (await resolveAgent(client, options.agent)).id : undefined;
        const issueId = options.issue ? await resolveIssue(client, options.issue) : undefined;
        const page = await client.runs({ first: options.limit, filter: { agentId, issueId, status: status as never } });
        const list = page.edges.map((edge) => edge.node);
        print(json, list, () => (list.length ? table(list.map(runRow), ['id', 'status', 'agent', 'issue', 'liveness', 'retry', 'created']) : 'no runs'));
      }),
    );
  runs
    .command('show <run>')
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json, runArg: string) => {
        const run = await client.run(await resolveRun(client, runArg));
        if (!run) throw new HeartbeatApiError(`no run ${runArg}`, 'NOT_FOUND');
        print(json, run, () => describeRun(run, { output: true }));
      }),
    );
  runs
    .command('log <run>')
    .description("print the run's output as stored, window by window as it comes; with --follow, until the run ends")
    .addOption(new Option('--stream <stream>', 'only this stream').choices(LOG_STREAMS))
    .option('--tail <bytes>', 'only its last bytes (with --follow: start there)', integerBetween(1, 1 << 30))
    .option('-f, --follow', 'keep printing its new output until the run ends')
    .option('--json', 'JSON output: {id, log, expired}; with --follow, one JSON window per line')
    .action(
      withClient(async (client, json, runArg: string, options: { stream?: (typeof LOG_STREAMS)[number]; tail?: number; follow?: boolean }) => {
        const id = await resolveRun(client, runArg);
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
          if (!last) process.stderr.write(`heartbeat: run ${runArg} has no stored ${options.stream ?? ''}${options.stream ? ' ' : ''}output\n`);
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
    .command('cancel <run>')
    .option('--reason <reason>', 'recorded on the run')
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json, runArg: string, options: { reason?: string }) => {
        const run = await client.cancel(await resolveRun(client, runArg), options.reason);
        print(json, run, () => `run ${run.id} is ${run.status}`);
      }),
    );
  runs
    .command('snooze <run>')
    .description("snooze a running run's output-silence warning (SNOOZED until then, at most 7 days)")
    .requiredOption('--until <when>', 'a time (ISO 8601) or a duration from now: 90m, 2h, 1d', (value: string) => parseUntil(value))
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json, runArg: string, options: { until: string }) => {
        const run = await client.snoozeSilence(await resolveRun(client, runArg), options.until);
        print(json, run, () => `run ${run.id}: output silence ${run.outputSilence?.level ?? 'not evaluated (not running)'}${run.outputSilence?.snoozedUntil ? ` until ${run.outputSilence.snoozedUntil}` : ''}`);
      }),
    );
  runs
    .command('dismiss <run>')
    .description("dismiss a running run's output-silence warning as a false positive (until its next output)")
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json, runArg: string) => {
        const run = await client.dismissSilence(await resolveRun(client, runArg));
        print(json, run, () => `run ${run.id}: output silence ${run.outputSilence?.level ?? 'not evaluated (not running)'} (dismissed)`);
      }),
    );
  runs
    .command('retry <run>')
    .option('--json', 'JSON output')
    .action(
      withClient(async (client, json, runArg: string) => {
        const result = await client.retry(await resolveRun(client, runArg));
        print(json, result, () => `${result.outcome}${result.run ? ` run ${result.run.id}` : ''}`);
      }),
    );
  runs
    .command('watch <run>')
    .description("stream the run's events until it ends; exit code 0 when it succeeded")
    .option('--json', 'one JSON event per line')
    .action(
      withClient(async (client, json, runArg: string) => {
        const id = await resolveRun(client, runArg);
        // Asked over HTTP first: an unknown run or a URL that is no GraphQL endpoint fails at once,
        // not after the subscription's reconnect attempts.
        if (!(await client.run(id))) throw new HeartbeatApiError(`no run ${runArg}`, 'NOT_FOUND');
        for await (const event of client.watchRunEvents(id)) {
          process.stdout.write(
            json ? `${JSON.stringify(event)}\n` : `${String(event.seq).padStart(4)}  ${event.createdAt}  ${(event.level ?? 'info').padEnd(5)}  ${event.eventType.padEnd(16)}  ${event.message ?? ''}\n`,
          );
        }
        const run = await client.run(id);
        if (!run) throw new HeartbeatApiError(`no run ${runArg}`, 'NOT_FOUND');
        process.stdout.write(json ? `${JSON.stringify({ outcome: run })}\n` : `\n${describeRun(run)}\n`);
        return run.status === 'SUCCEEDED' ? 0 : 1;
      }),
    );
}
