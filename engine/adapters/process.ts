// The `process` adapter: runs the agent as a local child process leading its own process group and
// carrying its run's marker (process-tree.ts), so cancel and timeout can take down everything it
// started, also what left the group. runChildProcess is that one way of running a child: the
// claude_code and codex adapters (coding-cli.ts) run their CLIs through it too.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, lchownSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { terminateGroup } from './process-groups.ts';
import { newTreeMarker, TREE_MARKER_VAR } from './process-tree.ts';
import { z } from 'zod';
import { ensurePrivateDirectory, grantSearchToParents } from './agent-directory.ts';
import { nonNegativeSeconds, parseWith, timerMs } from './config.ts';
import { type LineMapper, LineSink, runContextPayload, withoutNul } from './lines.ts';
import { REDACTED } from './redaction.ts';
import type { Adapter, AdapterExecution, AdapterResult } from './types.ts';

/**
 * A name holding `=` reaches the child as the part before it, ahead of the variables set here:
 * `HEARTBEAT_RUN_TOKEN=x` would forge the run token.
 */
export const envName = z.string().regex(/^[^=\0]+$/);

export const processConfigSchema = z.strictObject({
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

/** Everything the process adapter runs a child with; the claude_code and codex adapters build one too. */
export interface ChildProcessSpec {
  /** The adapter's name in the run's adapter.invoke event: `process`, `claude_code`, `codex`. */
  adapter: string;
  command: string;
  args: readonly string[];
  /** Working directory; absent: the agent's own directory (execution.agentDir), created when missing. */
  cwd?: string;
  /** adapterConfig.env: set after the inherited variables, before the HEARTBEAT_* ones. */
  env?: Record<string, string>;
  /** 0 or absent: no time limit. */
  timeoutSec?: number;
  /** SIGTERM to SIGKILL on cancel and timeout; 2 s when absent. */
  graceSec?: number;
  /**
   * What the child reads on stdin: the run payload as one JSON line (`payload`, the default), or
   * nothing (`none`: /dev/null), for a CLI that would read a piped stdin as part of its prompt.
   */
  stdin?: 'payload' | 'none';
  /** The CLI's own reading of its stdout lines (lines.ts LineMapper); absent: the line protocol alone. */
  mapper?: LineMapper;
  /** The args as the adapter.invoke event shows them (say, with a long prompt cut short); `args` when absent. */
  shownArgs?: readonly string[];
}

/** The task text of an issue run (context.taskMarkdown, docs/engine.md), written for the child to read. */
interface TaskFile {
  path: string;
  remove(): Promise<void>;
}

/**
 * The run's task text in a file of a fresh temporary directory that only the server's user may read
 * (the directory 0700, as mkdtemp makes it; the file 0600).
 */
async function writeTaskFile(markdown: string): Promise<TaskFile> {
  const dir = await mkdtemp(join(tmpdir(), 'heartbeat-task-'));
  const remove = () => rm(dir, { recursive: true, force: true }).catch(() => {});
  const path = join(dir, 'task.md');
  try {
    await writeFile(path, markdown, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    await remove();
    throw error;
  }
  return { path, remove };
}

const cancelledResult = (): AdapterResult => ({ exitCode: null, errorMessage: 'Cancelled', errorCode: 'cancelled' });

/**
 * Runs one child process for a run, and resolves with its result once it has exited and its output is
 * read. Everything about the process is here: its own process group and tree marker (cancel and
 * timeout stop the whole tree, SIGKILL after the grace), the environment rules (inherited variables,
 * adapterConfig.env, then the HEARTBEAT_* run variables, which the config cannot override), the run
 * payload on stdin, the task file (HEARTBEAT_TASK_FILE, removed when the run ends whatever its
 * outcome), backpressure on stdout, and spawn failures. Stdout lines follow the line protocol
 * (lines.ts), read by `spec.mapper` first when it has one.
 */
export async function runChildProcess(execution: AdapterExecution<unknown>, spec: ChildProcessSpec): Promise<AdapterResult> {
  const { signal } = execution;
  if (signal.aborted) return cancelledResult();
  const args = [...spec.args];
  // Without a cwd of its own, an agent runs in its own directory, never in the server's.
  const ownDirectory = spec.cwd === undefined ? execution.agentDir : undefined;
  const cwd = spec.cwd ?? ownDirectory ?? process.cwd();
  const configEnv = spec.env ?? {};
  execution.onMeta({
    adapter: spec.adapter,
    command: spec.command,
    args: [...(spec.shownArgs ?? args)],
    cwd,
    env: Object.fromEntries(Object.keys(configEnv).map((key) => [key, REDACTED])),
  });

  if (ownDirectory !== undefined) {
    try {
      ensurePrivateDirectory(ownDirectory);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { exitCode: null, errorMessage: `Failed to create the agent's directory: ${message}`, errorCode: 'adapter_failed' };
    }
  }

  let taskFile: TaskFile | null = null;
  // No await unless there is a task to write: a run without one spawns at once, as it always has.
  const { taskMarkdown } = execution.context;
  if (typeof taskMarkdown === 'string') {
    try {
      taskFile = await writeTaskFile(taskMarkdown);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { exitCode: null, errorMessage: `Failed to write the task file: ${message}`, errorCode: 'adapter_failed' };
    }
    if (signal.aborted) {
      await taskFile.remove();
      return cancelledResult();
    }
  }

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
    // The run's task text (context.taskMarkdown) in a file only the server's user can read; '' without one.
    HEARTBEAT_TASK_FILE: taskFile?.path ?? '',
    // The run's execution span (tracing on, README Tracing): the agent's spans become its children.
    ...(execution.traceparent ? { TRACEPARENT: execution.traceparent } : {}),
    [TREE_MARKER_VAR]: treeMarker,
  };
  const stdinPayload = (spec.stdin ?? 'payload') === 'payload';

  return new Promise<AdapterResult>((resolve) => {
    let settled = false;
    // Whatever the outcome, the task file goes before the run's result is handed back.
    const finalize = (result: AdapterResult) => {
      if (!taskFile) return resolve(result);
      void taskFile.remove().then(() => resolve(result));
    };

    let launch: { command: string; args: string[]; cwd: string; env: NodeJS.ProcessEnv } = { command: spec.command, args, cwd, env };
    if (execution.sandbox) {
      try {
        // The task file and its directory become the agent's (made by the server in a fresh directory of its own).
        const own = taskFile ? [dirname(taskFile.path), taskFile.path] : [];
        const plan = execution.sandbox.plan({ command: spec.command, args, cwd, env, own });
        // Its own directory too, the link itself if the agent made it one (lchown never follows it).
        if (plan.identity && ownDirectory !== undefined) {
          grantSearchToParents(dirname(ownDirectory));
          lchownSync(ownDirectory, plan.identity.uid, plan.identity.gid);
        }
        launch = plan;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return finalize({ exitCode: null, errorMessage: `Cannot start the agent in its sandbox: ${message}`, errorCode: 'adapter_failed' });
      }
    }

    let child: ChildProcess;
    try {
      child = spawn(launch.command, launch.args, { cwd: launch.cwd, env: launch.env, detached: true, stdio: [stdinPayload ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    } catch (error) {
      // Synchronous failures (e.g. a NUL byte in an argument) are spawn failures too.
      return finalize(spawnFailed(error));
    }

    const sink = new LineSink(execution, 'stdout', spec.mapper);
    const splitter = sink.splitter();
    let pgid: number | undefined;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let openStreams = 2;
    let stop: 'timeout' | 'cancel' | undefined;
    let termination: ReturnType<typeof terminateGroup> | undefined;
    let timeoutTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;

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
      finalize(result);
    };

    const maybeFinish = async () => {
      if (settled || !exit || openStreams > 0) return;
      if (termination) await termination.done;
      if (settled) return;
      const fromLine = sink.outcome();
      const result: AdapterResult = { ...fromLine, exitCode: exit.code, signal: exit.signal };
      if (stop === 'timeout') {
        const seconds = spec.timeoutSec ?? 0;
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
      termination = terminateGroup(pgid, spec.graceSec ?? 2, treeMarker);
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
      const seconds = spec.timeoutSec ?? 0;
      if (seconds > 0) timeoutTimer = setTimeout(() => kill('timeout'), timerMs(seconds));
    });

    if (child.stdin) {
      // The child may never read stdin: EPIPE is expected, not a failure.
      child.stdin.on('error', () => {});
      child.stdin.end(JSON.stringify(runContextPayload(execution)) + '\n');
    }

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

function execute(execution: AdapterExecution<ProcessConfig>): Promise<AdapterResult> {
  const { config } = execution;
  return runChildProcess(execution, {
    adapter: 'process',
    command: config.command,
    args: config.args ?? [],
    cwd: config.cwd,
    env: config.env,
    timeoutSec: config.timeoutSec,
    graceSec: config.graceSec,
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
  readStoredConfig: (config) => parseWith(processConfigSchema, config, 'adapterConfig', 'ignore'),
  timeoutSec: (config) => config.timeoutSec ?? 0,
  execute,
};
