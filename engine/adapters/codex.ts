// The `codex` adapter: Codex's non-interactive mode with its JSON Lines stream.
//
//   codex exec --json [--model <model>] [extraArgs...] -- <prompt>
//   codex exec --json [--model <model>] [extraArgs...] resume <thread id> -- <prompt>
//
// As openai/codex docs/exec.md documents it ("Non-interactive mode"): `codex exec` runs one turn and
// exits; `--json` streams its events to stdout as JSON Lines; `codex exec resume <SESSION_ID>`
// continues a session with a new prompt, and "only the conversation context is preserved; you must
// still provide flags", which its example puts before `resume` (`codex exec --model gpt-5 --json
// resume --last "..."`). So do we, extraArgs included: `--sandbox`, `--skip-git-repo-check` and the
// like are options of `exec` (codex-rs/exec/src/cli.rs), not of `resume`. The prompt comes last, after
// `--`, so that one starting with `-` is not read as an option (nor a prompt "resume" as the subcommand).
//
// There is no turn limit: `codex exec` has no `--max-turns` (nor any such option in cli.rs); the
// config refuses `maxTurns` rather than ignore a limit its author believes in. `timeoutSec` bounds a run.
//
// The stream (test/fixtures/cli-streams/README.md): `thread.started` (its `thread_id` is the session,
// read by cli-streams.ts), `turn.started`, `item.started` / `item.updated` / `item.completed` with an
// `item` (`agent_message`, `reasoning`, `command_execution`, `file_change`, `mcp_tool_call`,
// `web_search`, `todo_list`, `error`), then `turn.completed` (usage) or `turn.failed` (`error.message`);
// a top-level `error` event is "an unrecoverable error emitted directly by the event stream"
// (codex-rs/exec/src/exec_events.rs).
import { type CodingCli, assistantMessage, boundText, cliErrorResult, codingCliAdapter, codingCliConfigSchema, contentText, toolCall, toolResult } from './coding-cli.ts';
import type { LineMapper, LineResult, MappedLine } from './lines.ts';
import type { AdapterEvent } from './types.ts';

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** Item ids whose tool.call was reported at item.started (bounded all the same). */
const MAX_REMEMBERED_ITEMS = 10_000;

/** An item that is a tool use: its tool name and input, or null. */
function toolOf(item: Record<string, unknown>): { tool: string; input: unknown } | null {
  switch (item.type) {
    case 'command_execution':
      return { tool: 'command_execution', input: { command: item.command } };
    case 'file_change':
      return { tool: 'file_change', input: { changes: item.changes } };
    case 'mcp_tool_call':
      return { tool: `${str(item.server) ?? 'mcp'}/${str(item.tool) ?? 'tool'}`, input: item.arguments ?? null };
    case 'web_search':
      return { tool: 'web_search', input: { query: item.query } };
    default:
      return null;
  }
}

/** A completed tool item's output as text, and whether it failed. */
function outputOf(item: Record<string, unknown>): { content: string; isError: boolean; extra: Record<string, unknown> } {
  const failed = item.status === 'failed' || item.status === 'declined';
  switch (item.type) {
    case 'command_execution': {
      const exitCode = typeof item.exit_code === 'number' ? item.exit_code : null;
      return { content: str(item.aggregated_output) ?? '', isError: failed || (exitCode !== null && exitCode !== 0), extra: { exitCode } };
    }
    case 'file_change': {
      const changes = Array.isArray(item.changes) ? item.changes.filter(isObject) : [];
      return { content: changes.map((c) => `${str(c.kind) ?? 'change'} ${str(c.path) ?? ''}`).join('\n'), isError: failed, extra: {} };
    }
    case 'mcp_tool_call': {
      const error = isObject(item.error) ? str(item.error.message) : undefined;
      const result = isObject(item.result) ? contentText(item.result.content) : '';
      return { content: error ?? result, isError: failed || error !== undefined, extra: {} };
    }
    default:
      return { content: '', isError: failed, extra: {} };
  }
}

/**
 * Codex's `exec --json` events as run events and the run's result:
 * - `item.started` of a tool item (`command_execution`, `mcp_tool_call`, `web_search`): a `tool.call`;
 * - `item.completed`: an `agent_message` an `assistant.message` (the last one is the run's summary), a
 *   `reasoning` an `assistant.reasoning`, a tool item a `tool.result` (and its `tool.call` first when
 *   it did not start: `file_change` only completes), an `error` item (non-fatal) an `agent.warning`;
 * - `turn.completed`: the run's result, the last agent message its summary;
 * - `turn.failed` and the top-level `error` event: an `agent.error` event, and the run's failure with
 *   the message: `transient_upstream` for a rate limit or an overloaded provider, else `agent_error`
 *   (an `error` event without a `turn.failed` after it still fails the run);
 * - `turn.started` and `item.updated`: nothing (what they say, the completion says again);
 * - anything else (`thread.started`, `todo_list` items, ...): the default rules (an event of its type).
 */
export class CodexStreamMapper implements LineMapper {
  private readonly started = new Set<string>();
  private lastMessage: string | undefined;
  private lastError: string | undefined;

  map(value: Record<string, unknown>): MappedLine | undefined {
    const item = isObject(value.item) ? value.item : undefined;
    switch (value.type) {
      case 'turn.started':
      case 'item.updated':
        return { events: [] };
      case 'item.started':
        return item ? this.itemStarted(item) : undefined;
      case 'item.completed':
        return item ? this.itemCompleted(item) : undefined;
      case 'turn.completed':
        return { events: [], result: this.success() };
      case 'turn.failed': {
        const message = isObject(value.error) ? (str(value.error.message) ?? '') : '';
        this.lastError = message;
        return { events: [errorEvent(message)], result: cliErrorResult(message) };
      }
      case 'error': {
        const message = str(value.message) ?? '';
        this.lastError = message;
        return { events: [errorEvent(message)] };
      }
      default:
        return undefined;
    }
  }

  /** No turn.completed nor turn.failed: an error event fails the run; a last agent message is still its summary. */
  end(): LineResult | undefined {
    if (this.lastError !== undefined) return cliErrorResult(this.lastError);
    return this.lastMessage === undefined ? undefined : this.success();
  }

  private success(): LineResult {
    if (this.lastMessage === undefined) return { resultJson: {} };
    return { resultJson: { result: this.lastMessage }, summary: boundText(this.lastMessage).text };
  }

  private itemStarted(item: Record<string, unknown>): MappedLine | undefined {
    const tool = toolOf(item);
    if (!tool) return item.type === 'agent_message' || item.type === 'reasoning' ? { events: [] } : undefined;
    const id = str(item.id) ?? null;
    if (id !== null && this.started.size < MAX_REMEMBERED_ITEMS) this.started.add(id);
    return { events: [toolCall(tool.tool, id, tool.input)] };
  }

  private itemCompleted(item: Record<string, unknown>): MappedLine | undefined {
    const text = str(item.text) ?? '';
    switch (item.type) {
      case 'agent_message':
        this.lastMessage = text;
        return { events: text.trim() === '' ? [] : [assistantMessage(text)] };
      case 'reasoning':
        return { events: text.trim() === '' ? [] : [{ ...assistantMessage(text), type: 'assistant.reasoning' }] };
      case 'error':
        return { events: [{ type: 'agent.warning', level: 'warn', message: boundText(str(item.message) ?? '').text }] };
    }
    const tool = toolOf(item);
    if (!tool) return undefined;
    const id = str(item.id) ?? null;
    const events: AdapterEvent[] = [];
    if (id === null || !this.started.delete(id)) events.push(toolCall(tool.tool, id, tool.input));
    const output = outputOf(item);
    events.push(toolResult(tool.tool, id, output.content, output.isError, output.extra));
    return { events };
  }
}

function errorEvent(message: string): AdapterEvent {
  return { type: 'agent.error', level: 'error', message: boundText(message).text };
}

const schema = codingCliConfigSchema('codex', { maxTurns: false });

/** The command line of a run: `exec --json`, the model, extraArgs, `resume <id>` when resuming, then the prompt. */
export function codexCommandLine(
  config: { command: string; model?: string; extraArgs?: string[] },
  run: { session: { id: string } | null; prompt: string },
): { command: string; args: string[] } {
  const args = ['exec', '--json'];
  if (config.model !== undefined) args.push('--model', config.model);
  args.push(...(config.extraArgs ?? []));
  if (run.session) args.push('resume', run.session.id);
  args.push('--', run.prompt);
  return { command: config.command, args };
}

export const codex: CodingCli = {
  type: 'codex',
  schema,
  commandLine: codexCommandLine,
  mapper: () => new CodexStreamMapper(),
};

export const codexAdapter = codingCliAdapter(codex);
