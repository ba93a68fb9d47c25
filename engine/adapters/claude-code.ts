// The `claude_code` adapter: Claude Code in non-interactive print mode with its JSON stream.
//
//   claude -p --output-format stream-json --verbose [--resume <session id>] [--model <model>]
//          [--max-turns <n>] [extraArgs...] -- <prompt>
//
// Flags as Claude Code's CLI reference documents them (https://code.claude.com/docs/en/cli-reference,
// formerly docs.anthropic.com/en/docs/claude-code/cli-reference): `-p`/`--print` runs without the
// interactive UI and exits; `--output-format stream-json` prints one JSON message per line (its
// headless-mode page: "Streaming JSON output"), which in print mode needs `--verbose`; `--resume`
// (`-r`) resumes a session by id; `--model`; `--max-turns` limits the agentic turns in non-interactive
// mode. The prompt comes last, after `--`: it may start with `-` (a Markdown list), and a variadic
// option in extraArgs (`--allowedTools A B`) would otherwise take it as one more value.
//
// The stream (test/fixtures/cli-streams/README.md has the shapes and their sources): a `system`/`init`
// message, `assistant` messages (Anthropic Messages API content blocks: `text`, `tool_use`), `user`
// messages carrying `tool_result` blocks, and a final `result` message (`result` text on success;
// `is_error`, an error `subtype`, `errors` or `api_error_status` on failure; `session_id`, `usage`,
// `total_cost_usd`, `modelUsage`). The session and usage are read off the lines by cli-streams.ts.
import { type CodingCli, assistantMessage, boundText, cliErrorResult, codingCliAdapter, codingCliConfigSchema, contentText, toolCall, toolResult } from './coding-cli.ts';
import type { LineMapper, LineResult, MappedLine } from './lines.ts';
import type { AdapterEvent } from './types.ts';

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** Tool ids remembered to name the tool of a result (a run's tool calls; bounded all the same). */
const MAX_REMEMBERED_TOOLS = 10_000;

/** The result's fields kept in resultJson, as Claude Code names them. */
const RESULT_FIELDS = ['result', 'subtype', 'is_error', 'num_turns', 'duration_ms', 'stop_reason'] as const;

/**
 * Claude Code's stream-json messages as run events and the run's result:
 * - `assistant`: each `text` block an `assistant.message`, each `tool_use` block a `tool.call`
 *   (`thinking` blocks are not reported);
 * - `user`: each `tool_result` block a `tool.result` (the tool named from its call);
 * - `result`: the run's result: on success its `result` text is the summary; an error result (`is_error`,
 *   or a `subtype` other than `success`: `error_max_turns`, `error_during_execution`, ...) fails the run
 *   with the CLI's message, as `transient_upstream` when the provider rate-limited or was overloaded
 *   (`api_error_status` 429/529, `rate_limit_error`, `overloaded_error`, the assistant's `error:
 *   "rate_limit"`), else `agent_error`;
 * - any other message (`system`, `rate_limit_event`, ...): the default rules (an event of its type).
 */
export class ClaudeStreamMapper implements LineMapper {
  private readonly toolNames = new Map<string, string>();
  /** The `error` category of the latest assistant message (`rate_limit`, `server_error`, ...), if it had one. */
  private assistantError: string | undefined;

  map(value: Record<string, unknown>): MappedLine | undefined {
    switch (value.type) {
      case 'assistant':
        return { events: this.assistant(value) };
      case 'user':
        return { events: this.user(value) };
      case 'result':
        return { events: [], result: this.result(value) };
      default:
        return undefined;
    }
  }

  private assistant(value: Record<string, unknown>): AdapterEvent[] {
    this.assistantError = str(value.error);
    const parent = str(value.parent_tool_use_id);
    const extra = parent ? { parentToolUseId: parent } : {};
    const events: AdapterEvent[] = [];
    for (const block of blocks(value)) {
      if (block.type === 'text' && typeof block.text === 'string' && block.text.trim() !== '') events.push(assistantMessage(block.text, extra));
      else if (block.type === 'tool_use' || block.type === 'server_tool_use' || block.type === 'mcp_tool_use') {
        const name = str(block.name) ?? 'tool';
        const id = str(block.id) ?? null;
        if (id !== null && this.toolNames.size < MAX_REMEMBERED_TOOLS) this.toolNames.set(id, name);
        events.push(toolCall(name, id, block.input, extra));
      }
    }
    return events;
  }

  private user(value: Record<string, unknown>): AdapterEvent[] {
    const parent = str(value.parent_tool_use_id);
    const events: AdapterEvent[] = [];
    for (const block of blocks(value)) {
      if (block.type !== 'tool_result') continue;
      const id = str(block.tool_use_id) ?? null;
      const tool = (id !== null && this.toolNames.get(id)) || null;
      events.push(toolResult(tool, id, contentText(block.content), block.is_error === true, parent ? { parentToolUseId: parent } : {}));
    }
    return events;
  }

  private result(value: Record<string, unknown>): LineResult {
    const resultJson = Object.fromEntries(RESULT_FIELDS.filter((key) => key in value).map((key) => [key, value[key]]));
    const text = str(value.result);
    const subtype = str(value.subtype);
    const failed = value.is_error === true || (subtype !== undefined && subtype !== 'success');
    if (!failed) return { resultJson, ...(text !== undefined && text.trim() !== '' && { summary: boundText(text).text }) };
    const errors = Array.isArray(value.errors) ? value.errors.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).join('; ') : '';
    const message = [text, errors].find((m) => m !== undefined && m.trim() !== '') ?? `Claude Code ended with ${subtype ?? 'an error'}`;
    return { resultJson, ...cliErrorResult(message, { status: value.api_error_status, category: this.assistantError }) };
  }
}

/** The content blocks of a message line (`message.content`), objects only; none when it is a plain string. */
function blocks(value: Record<string, unknown>): Array<Record<string, unknown>> {
  const content = isObject(value.message) ? value.message.content : undefined;
  return Array.isArray(content) ? content.filter(isObject) : [];
}

const schema = codingCliConfigSchema('claude', { maxTurns: true });

/** The command line of a run: print mode with its JSON stream, the session to resume, model, turns, extraArgs, then the prompt. */
export function claudeCommandLine(
  config: { command: string; model?: string; maxTurns?: number; extraArgs?: string[] },
  run: { session: { id: string } | null; prompt: string },
): { command: string; args: string[] } {
  const args = ['-p', '--output-format', 'stream-json', '--verbose'];
  if (run.session) args.push('--resume', run.session.id);
  if (config.model !== undefined) args.push('--model', config.model);
  if (config.maxTurns !== undefined) args.push('--max-turns', String(config.maxTurns));
  args.push(...(config.extraArgs ?? []), '--', run.prompt);
  return { command: config.command, args };
}

export const claudeCode: CodingCli = {
  type: 'claude_code',
  schema,
  commandLine: claudeCommandLine,
  mapper: () => new ClaudeStreamMapper(),
};

export const claudeCodeAdapter = codingCliAdapter(claudeCode);
