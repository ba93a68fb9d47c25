// What the `claude_code` and `codex` adapters share: their config, the prompt a run gives the CLI,
// how its JSON messages are bounded into run events, how its errors are classified, and the adapter
// itself, which runs the CLI through the process adapter (process.ts runChildProcess: process group,
// cancel, timeout, environment, task file, backpressure are all its). Each CLI's own command line and
// stream reading are in claude-code.ts and codex.ts. Pure, except the adapter's execute.
import { z } from 'zod';
import type { AdapterType } from '../../db/enums.ts';
import { truncateText } from '../rules/bounding.ts';
import { RENDERED_WAKE_KEYS } from '../rules/wake-context.ts';
import type { RunSession } from '../rules/sessions.ts';
import { nonNegativeSeconds, parseWith } from './config.ts';
import type { LineMapper, LineResult } from './lines.ts';
import { envName, runChildProcess } from './process.ts';
import type { Adapter, AdapterEvent, AdapterExecution } from './types.ts';

/** Longest text an event or result keeps of what the CLI said (characters): messages, tool input and output, errors. */
export const CLI_TEXT_MAX = 4_096;
/** Longest wake context (JSON) a prompt carries for a run without a task text (characters). */
export const WAKE_CONTEXT_MAX = 4_000;
/** Longest prompt the adapter.invoke event shows (characters); the CLI always gets the whole of it. */
export const SHOWN_PROMPT_MAX = 1_000;

/** The errorCode of an error result the CLI reported that is not an upstream hiccup. */
export const AGENT_ERROR = 'agent_error';
/** The errorCode of a run the model provider rate-limited (HTTP 429, `rate_limit_error`, a usage limit). */
export const UPSTREAM_RATE_LIMITED = 'upstream_rate_limited';
/** The errorCode of a run the model provider was too busy for (HTTP 529 or 503, `overloaded_error`). */
export const UPSTREAM_OVERLOADED = 'upstream_overloaded';
/** The errorFamily that makes a failed run eligible for the engine's bounded retry (docs/engine.md §6.12), as http.ts sets it. */
export const TRANSIENT_UPSTREAM = 'transient_upstream';

/**
 * The config of a coding-agent CLI adapter. Unknown keys are refused (a misspelt `maxTurn` would
 * otherwise be silently ignored). Codex takes no `maxTurns` (codex.ts says why).
 */
export function codingCliConfigSchema(defaultCommand: string, options: { maxTurns: boolean }) {
  return z.strictObject({
    /** The CLI to run, looked up on the agent's PATH unless it is a path. */
    command: z.string().min(1).default(defaultCommand),
    model: z.string().min(1).optional(),
    cwd: z.string().min(1).optional(),
    env: z.record(envName, z.string()).optional(),
    /** Further CLI arguments, after the ones the adapter sets and before the prompt. */
    extraArgs: z.array(z.string()).optional(),
    timeoutSec: nonNegativeSeconds.optional(),
    graceSec: nonNegativeSeconds.optional(),
    maxTurns: options.maxTurns
      ? z.number().int().positive().optional()
      : z.never({ error: 'codex exec has no turn limit (no --max-turns flag); bound the run with timeoutSec instead' }).optional(),
  });
}

export type CodingCliConfig = z.output<ReturnType<typeof codingCliConfigSchema>>;

const nonEmpty = (value: unknown): value is string => typeof value === 'string' && value.trim() !== '';
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Context keys that are the engine's bookkeeping, not something the agent was woken for: the task
 * text and handoff (given on their own), the session decision (§12.3), the wake's source and scope
 * keys, the claim's checkout flag and the retry keys (§6.12). Keys starting with `_` are the engine's too.
 */
const ENGINE_CONTEXT_KEYS = new Set([
  'taskMarkdown',
  'sessionHandoff',
  'wakeReason',
  'wakeSource',
  'wakeTriggerDetail',
  'taskKey',
  'taskId',
  'issueCheckedOut',
  'session',
  'sessionResetReason',
  'sessionRotationReason',
  'forceFreshSession',
  'resumeSessionParams',
  'resumeSessionDisplayId',
  'retryOfRunId',
  'retryReason',
  'errorFamily',
  'scheduledRetryAttempt',
  'scheduledRetryAt',
  'transientRetryNotBefore',
  'codexTransientFallbackMode',
  // What the claim renders for an issue run (§15): an issue run is prompted with its task text.
  ...RENDERED_WAKE_KEYS,
]);

/**
 * What a run without a task text is told: why it was woken (`context.wakeReason`) and what the wake
 * carries (the context without the engine's keys, as JSON cut at WAKE_CONTEXT_MAX characters).
 */
export function wakePrompt(context: Record<string, unknown>): string {
  const reason = nonEmpty(context.wakeReason) ? context.wakeReason.trim() : null;
  const lines = [reason === null ? 'Heartbeat woke you.' : `Heartbeat woke you (reason: ${reason}).`];
  const carried = Object.fromEntries(Object.entries(context).filter(([key]) => !ENGINE_CONTEXT_KEYS.has(key) && !key.startsWith('_')));
  if (Object.keys(carried).length > 0) {
    lines.push('', 'The wake carries (JSON):', truncateText(JSON.stringify(carried, null, 2), WAKE_CONTEXT_MAX));
  }
  return lines.join('\n');
}

/**
 * The prompt a run gives the CLI: the run's task text (`context.taskMarkdown`, rendered by the engine
 * for issue runs) when it is a non-empty string, else the wake prompt; then the session handoff
 * (`context.sessionHandoff`, docs/engine.md §12.9) when the run has one.
 */
export function runPrompt(context: Record<string, unknown>): string {
  const task = nonEmpty(context.taskMarkdown) ? context.taskMarkdown : wakePrompt(context);
  return nonEmpty(context.sessionHandoff) ? `${task}\n\n${context.sessionHandoff}` : task;
}

/** `text` cut at CLI_TEXT_MAX characters, and whether it was. */
export function boundText(text: string): { text: string; truncated: boolean } {
  return text.length <= CLI_TEXT_MAX ? { text, truncated: false } : { text: truncateText(text, CLI_TEXT_MAX), truncated: true };
}

/** A tool's input as an event carries it: as it was when its JSON fits CLI_TEXT_MAX, else its JSON cut there. */
export function boundInput(input: unknown): { input: unknown; inputTruncated?: true } {
  const json = JSON.stringify(input ?? null) ?? 'null';
  return json.length <= CLI_TEXT_MAX ? { input: input ?? null } : { input: truncateText(json, CLI_TEXT_MAX), inputTruncated: true };
}

/** An `assistant.message` event: what the agent said, bounded. */
export function assistantMessage(text: string, extra: Record<string, unknown> = {}): AdapterEvent {
  const bounded = boundText(text);
  const payload = { ...extra, ...(bounded.truncated && { truncated: true, chars: text.length }) };
  return { type: 'assistant.message', message: bounded.text, payload: Object.keys(payload).length > 0 ? payload : undefined };
}

/** A `tool.call` event: the tool's name and its bounded input. */
export function toolCall(tool: string, id: string | null, input: unknown, extra: Record<string, unknown> = {}): AdapterEvent {
  return { type: 'tool.call', message: tool, payload: { tool, id, ...boundInput(input), ...extra } };
}

/** A `tool.result` event: the bounded output (text) and whether it was an error. */
export function toolResult(tool: string | null, id: string | null, content: string, isError: boolean, extra: Record<string, unknown> = {}): AdapterEvent {
  const bounded = boundText(content);
  return {
    type: 'tool.result',
    message: tool,
    level: isError ? 'warn' : 'info',
    payload: { tool, id, isError, content: bounded.text, ...(bounded.truncated && { contentTruncated: true }), ...extra },
  };
}

/** HTTP statuses an error text names: `API Error: 429`, `"status":529`, `last status: 429`, `503 Service Unavailable`. */
function statusesIn(text: string): number[] {
  const found: number[] = [];
  for (const pattern of [/API Error:\s*(\d{3})\b/gi, /"status"\s*:\s*(\d{3})\b/g, /\bstatus(?: code)?\s*[:=]?\s*(\d{3})\b/gi, /\b(\d{3}) (?:Too Many Requests|Service Unavailable)\b/gi]) {
    for (const match of text.matchAll(pattern)) found.push(Number(match[1]));
  }
  return found;
}

/** Claude Code's subscription limit message, `Claude AI usage limit reached|<unix seconds>`: when it lifts. */
function usageLimitReset(text: string): string | undefined {
  const match = /usage limit reached\|(\d{10})\b/i.exec(text);
  if (!match) return undefined;
  const at = new Date(Number(match[1]) * 1000);
  return Number.isNaN(at.getTime()) ? undefined : at.toISOString();
}

/**
 * Whether an error the CLI reported is its model provider rate-limiting or too busy: a status (429;
 * 529 or 503), an error type (`rate_limit_error`, `overloaded_error`), the words ("rate limit", "too
 * many requests", "usage limit", "overloaded", Codex's "experiencing high demand"), or the CLI's own category (Claude Code's assistant
 * `error`: `rate_limit`; its api_retry categories `rate_limit`, `overloaded`).
 */
export function upstreamErrorKind(message: string, hints: { status?: unknown; category?: unknown } = {}): 'rate_limited' | 'overloaded' | null {
  const statuses = [...(typeof hints.status === 'number' ? [hints.status] : []), ...statusesIn(message)];
  const category = typeof hints.category === 'string' ? hints.category : '';
  if (statuses.includes(429) || /rate[ _-]?limit|too many requests|usage limit/i.test(message) || /^rate_limit/.test(category)) return 'rate_limited';
  if (statuses.includes(529) || statuses.includes(503) || /overloaded|experiencing high demand/i.test(message) || category === 'overloaded') return 'overloaded';
  return null;
}

/**
 * The run's failure for an error the CLI reported: a rate limit or an overloaded provider is
 * `transient_upstream` (the engine retries it on its bounded schedule, not before a usage limit lifts),
 * anything else `agent_error`; the message is the CLI's, bounded.
 */
export function cliErrorResult(message: string, hints: { status?: unknown; category?: unknown } = {}): LineResult {
  const errorMessage = boundText(message.trim() === '' ? 'The agent CLI reported an error' : message.trim()).text;
  const kind = upstreamErrorKind(message, hints);
  if (kind === null) return { errorMessage, errorCode: AGENT_ERROR };
  const notBefore = usageLimitReset(message);
  return {
    errorMessage,
    errorCode: kind === 'rate_limited' ? UPSTREAM_RATE_LIMITED : UPSTREAM_OVERLOADED,
    errorFamily: TRANSIENT_UPSTREAM,
    ...(notBefore && { retryNotBefore: notBefore }),
  };
}

/** A text out of a tool result's content: a string as it is, text blocks joined, anything else as JSON. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((block) => (isObject(block) && typeof block.text === 'string' ? block.text : isObject(block) && typeof block.type === 'string' ? `[${block.type}]` : JSON.stringify(block)))
      .join('\n');
  }
  return content === undefined || content === null ? '' : (JSON.stringify(content) ?? '');
}

/** A command line: the executable and its arguments, the prompt last. */
export interface CommandLine {
  command: string;
  args: string[];
}

/** One coding-agent CLI: its adapter type, its command line for a run, and its stream's reading. */
export interface CodingCli {
  type: Extract<AdapterType, 'claude_code' | 'codex'>;
  schema: ReturnType<typeof codingCliConfigSchema>;
  commandLine(config: CodingCliConfig, run: { session: RunSession | null; prompt: string }): CommandLine;
  /** A fresh reading of the CLI's stream, for one run. */
  mapper(): LineMapper;
}

/**
 * The adapter of a coding-agent CLI. It runs the CLI as the process adapter runs any agent (its
 * process group, cancel, timeout and grace, environment, HEARTBEAT_* variables and task file) with
 * the prompt as an argument (never through a shell), and reads its JSON stream with the CLI's mapper.
 *
 * Stdin is /dev/null, not the run payload: both CLIs read a piped stdin as part of the prompt (Claude
 * Code's CLI reference: `cat file | claude -p "query"` "processes piped content"; `codex exec --help`:
 * "If stdin is piped and a prompt is also provided, stdin is appended as a `<stdin>` block"), and the
 * payload holds the run token, which has no place in what is sent to the model provider and kept in
 * the CLI's session transcript. What the payload says reaches the CLI as the prompt (the task text, or
 * the wake prompt) and the HEARTBEAT_* variables.
 */
export function codingCliAdapter(cli: CodingCli): Adapter<CodingCliConfig> {
  return {
    type: cli.type,
    localChild: true,
    parseConfig: (config) => parseWith(cli.schema, config),
    readStoredConfig: (config) => parseWith(cli.schema, config, 'adapterConfig', 'ignore'),
    timeoutSec: (config) => config.timeoutSec ?? 0,
    execute(execution: AdapterExecution<CodingCliConfig>) {
      const { config } = execution;
      const prompt = runPrompt(execution.context);
      const { command, args } = cli.commandLine(config, { session: execution.session, prompt });
      return runChildProcess(execution, {
        adapter: cli.type,
        command,
        args,
        shownArgs: [...args.slice(0, -1), truncateText(prompt, SHOWN_PROMPT_MAX)],
        cwd: config.cwd,
        env: config.env,
        timeoutSec: config.timeoutSec,
        graceSec: config.graceSec,
        stdin: 'none',
        mapper: cli.mapper(),
      });
    },
  };
}
