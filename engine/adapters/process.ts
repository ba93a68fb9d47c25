// The `process` adapter: runs the agent as a local child process leading its own process group and
// carrying its run's marker (process-tree.ts), so cancel and timeout can take down everything it
// started, also what left the group.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { terminateGroup } from './process-groups.ts';
import { newTreeMarker, TREE_MARKER_VAR } from './process-tree.ts';
import { z } from 'zod';
import { nonNegativeSeconds, parseWith, timerMs } from './config.ts';
import { LineSink, runContextPayload, withoutNul } from './lines.ts';
import { REDACTED } from './redaction.ts';
import type { Adapter, AdapterExecution, AdapterResult } from './types.ts';

/**
 * A name holding `=` reaches the child as the part before it, ahead of the variables set here:
 * `HEARTBEAT_RUN_TOKEN=x` would forge the run token.
 */
const envName = z.string().regex(/^[^=\0]+$/);

const processConfigSchema = z.object({
  command: z.string().min(1),
  args: z.array(z.string()).optional(),
  cwd: z.string().min(1).optional(),
  env: z.record(envName, z.string()).optional(),
  timeoutSec: nonNegativeSeconds.optional(),
  graceSec: nonNegativeSeconds.optional(),
});

export type ProcessConfig = z.infer<typeof processConfigSchema>;

/** After the child exits, how long we wait for pipes a leftover descendant may hold open. */
const DRAIN_AFTER_EXIT_MS = 2_000;

/**
 * What a child inherits from the server's environment: what a program needs to find commands,
 * its home, temp files, user, locale and time zone, and nothing else. The server's own settings
 * (DATABASE_URL with its password, HEARTBEAT_BOOTSTRAP_KEY, REDIS_URL, ...) and whatever else the
 * host exported stay out; an agent that needs more gets it from adapterConfig.env.
 */
export const INHERITED_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'TMPDIR', 'TZ', 'LANG', 'LANGUAGE'] as const;

export function baseEnv(from: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(from).filter(
      ([name, value]) => value !== undefined && ((INHERITED_ENV as readonly string[]).includes(name) || name.startsWith('LC_')),
    ),
  );
}

function exitMessage(code: number | null, signal: NodeJS.Signals | null): string | undefined {
  if (signal) return `Process killed by signal ${signal}`;
  if (code !== null && code !== 0) return `Process exited with code ${code}`;
  return undefined;
}

function execute(execution: AdapterExecution<ProcessConfig>): Promise<AdapterResult> {
  const { config, signal } = execution;
  if (signal.aborted) {
    return Promise.resolve({ exitCode: null, errorMessage: 'Cancelled', errorCode: 'cancelled' });
  }
  const args = config.args ?? [];
  const cwd = config.cwd ?? process.cwd();
  const configEnv = config.env ?? {};
  // Inherited by every descendant: cancel and timeout find by it those that left the process group.
  const treeMarker = newTreeMarker();
  const env: NodeJS.ProcessEnv = {
    ...baseEnv(process.env),
    ...configEnv,
    HEARTBEAT_API_URL: execution.apiUrl,
    // Ids as the API spells them, so the agent can pass them straight to mutations.
    HEARTBEAT_RUN_ID: execution.apiIds.runId,
    HEARTBEAT_RUN_TOKEN: execution.runToken,
    HEARTBEAT_AGENT_ID: execution.apiIds.agentId,
    HEARTBEAT_ISSUE_ID: execution.apiIds.issueId ?? '',
    HEARTBEAT_COMPANY_ID: execution.apiIds.companyId,
    // The session to resume ('' for a fresh one), for a wrapper to pass to `claude --resume` or
    // `codex exec resume` (docs/engine.md §12.3).
    HEARTBEAT_SESSION_ID: execution.session?.id ?? '',
    [TREE_MARKER_VAR]: treeMarker,
  };
  execution.onMeta({
    adapter: 'process',
    command: config.command,
    args,
    cwd,
    env: Object.fromEntries(Object.keys(configEnv).map((key) => [key, REDACTED])),
  });

  return new Promise<AdapterResult>((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(config.command, args, { cwd, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (error) {
      // Synchronous failures (e.g. a NUL byte in an argument) are spawn failures too.
      return resolve(spawnFailed(error));
    }

    const sink = new LineSink(execution);
    const splitter = sink.splitter();
    let pgid: number | undefined;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let openStreams = 2;
    let stop: 'timeout' | 'cancel' | undefined;
    let termination: ReturnType<typeof terminateGroup> | undefined;
    let timeoutTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    let settled = false;

    const cleanup = () => {
      clearTimeout(timeoutTimer);
      clearTimeout(drainTimer);
      signal.removeEventListener('abort', onAbort);
    };

    const settle = (result: AdapterResult) => {
      if (settled) return;
      settled = true;
      cleanup();
      termination?.cancel();
      resolve(result);
    };

    const maybeFinish = async () => {
      if (settled || !exit || openStreams > 0) return;
      if (termination) await termination.done;
      if (settled) return;
      const fromLine = sink.outcome();
      const result: AdapterResult = { ...fromLine, exitCode: exit.code, signal: exit.signal };
      if (stop === 'timeout') {
        const seconds = config.timeoutSec ?? 0;
        result.timedOut = true;
        result.errorMessage = `Timed out after ${seconds}s`;
        result.errorCode = 'timeout';
      } else if (stop === 'cancel') {
        result.errorMessage = 'Cancelled';
        result.errorCode = 'cancelled';
      } else if (!result.errorMessage) {
        const message = exitMessage(exit.code, exit.signal);
        if (message) result.errorMessage = message;
      }
      settle(result);
    };

    const kill = (reason: 'timeout' | 'cancel') => {
      if (stop || settled || pgid === undefined) return;
      stop = reason;
      termination = terminateGroup(pgid, config.graceSec ?? 2, treeMarker);
      void termination.done.then(maybeFinish);
    };

    // Aborted between spawn() and the 'spawn' event: kill as soon as we have the group id.
    let cancelPending = false;
    function onAbort() {
      if (pgid === undefined) cancelPending = true;
      else kill('cancel');
    }
    signal.addEventListener('abort', onAbort, { once: true });

    child.on('error', (error) => {
      // Only a failure to start is fatal; later errors (a failed kill) surface through 'exit'.
      if (pgid === undefined) settle(spawnFailed(error, cwd));
    });

    child.once('spawn', () => {
      pgid = child.pid!;
      execution.onSpawn({ pid: pgid, processGroupId: pgid });
      if (cancelPending) return kill('cancel');
      const seconds = config.timeoutSec ?? 0;
      if (seconds > 0) timeoutTimer = setTimeout(() => kill('timeout'), timerMs(seconds));
    });

    // The child may never read stdin: EPIPE is expected, not a failure.
    child.stdin!.on('error', () => {});
    child.stdin!.end(JSON.stringify(runContextPayload(execution)) + '\n');

    const streamEnded = () => {
      openStreams -= 1;
      void maybeFinish();
    };
    // Events come faster than the run can store them: stop reading until it has caught up, and
    // the child waits on its full pipe.
    let backlogged = false;
    child.stdout!.on('data', (chunk: Buffer) => {
      sink.lines(splitter.push(chunk));
      const caughtUp = execution.backlog?.();
      if (!caughtUp || backlogged) return;
      backlogged = true;
      child.stdout!.pause();
      void caughtUp.then(() => {
        backlogged = false;
        child.stdout!.resume();
      });
    });
    child.stdout!.once('close', () => {
      sink.lines(splitter.end());
      streamEnded();
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => execution.onLog('stderr', withoutNul(chunk)));
    child.stderr!.once('close', streamEnded);

    child.once('exit', (code, exitSignal) => {
      exit = { code, signal: exitSignal };
      // A leftover descendant may hold our pipes open forever; stop waiting for them after a while.
      if (openStreams > 0) {
        const giveUp = () => {
          // Output held back by the run's own backlog is the child's, not a descendant's: read it.
          if (backlogged) return void (drainTimer = setTimeout(giveUp, DRAIN_AFTER_EXIT_MS));
          child.stdout!.destroy();
          child.stderr!.destroy();
        };
        drainTimer = setTimeout(giveUp, DRAIN_AFTER_EXIT_MS);
      }
      void maybeFinish();
    });
  });
}

function spawnFailed(error: unknown, cwd?: string): AdapterResult {
  let message = error instanceof Error ? error.message : String(error);
  // Node blames the command ("spawn node ENOENT") when it is the working directory that is missing.
  if ((error as NodeJS.ErrnoException).code === 'ENOENT' && cwd && !existsSync(cwd)) message += ` (cwd ${cwd} does not exist)`;
  return { exitCode: null, errorMessage: `Failed to start process: ${message}`, errorCode: 'adapter_failed' };
}

export const processAdapter: Adapter<ProcessConfig> = {
  type: 'process',
  localChild: true,
  parseConfig: (config) => parseWith(processConfigSchema, config),
  timeoutSec: (config) => config.timeoutSec ?? 0,
  execute,
};
