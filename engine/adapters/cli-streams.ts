// What an agent's output lines say about its session (docs/engine.md §12.4) and its usage (§13.1),
// recognised on the lines the process and http adapters read: Heartbeat's own result line, and the
// JSON streams of the agent CLIs a process agent is usually a wrapper around (Claude Code, Codex),
// whose session ids are what `claude --resume <id>` and `codex exec resume <id>` take. Pure: no I/O,
// no state (LineSink keeps what the lines said so far).
import { completeUsage, readUsageStatement, type UsageFields, type UsageStatement } from '../rules/costs.ts';
import { SESSION_DISPLAY_ID_MAX, SESSION_PARAMS_MAX_BYTES, type SessionReport } from '../rules/sessions.ts';

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value : undefined);

/** A display id cut to SESSION_DISPLAY_ID_MAX, without leaving half of a surrogate pair at the end. */
function cutDisplayId(id: string): string {
  if (id.length <= SESSION_DISPLAY_ID_MAX) return id;
  const cut = id.slice(0, SESSION_DISPLAY_ID_MAX);
  const last = cut.charCodeAt(cut.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut;
}

/** What a report may hold before it is bounded: loose values from a line or a config. */
export interface SessionReportFields {
  id?: unknown;
  params?: unknown;
  displayId?: unknown;
  clear?: unknown;
}

/**
 * A session report from loose values, bounded as the engine stores it: a params object over
 * SESSION_PARAMS_MAX_BYTES is dropped (the id is kept, taken from the params if it was only
 * there), a display id is cut to SESSION_DISPLAY_ID_MAX. Params get the session id in them, since the
 * engine keeps only params that name their session. Null when nothing usable is left.
 */
export function boundedSessionReport(fields: SessionReportFields): SessionReport | null {
  const report: SessionReport = {};
  const params = isObject(fields.params) ? fields.params : undefined;
  const sessionId = text(fields.id) ?? text(params?.sessionId);
  if (sessionId !== undefined) report.sessionId = sessionId;
  if (params !== undefined && sessionId !== undefined) {
    const named = { ...params, sessionId };
    if (Buffer.byteLength(JSON.stringify(named), 'utf8') <= SESSION_PARAMS_MAX_BYTES) report.sessionParams = named;
  }
  const displayId = text(fields.displayId);
  if (displayId !== undefined) report.sessionDisplayId = cutDisplayId(displayId);
  if (fields.clear === true) report.clearSession = true;
  return Object.keys(report).length > 0 ? report : null;
}

/** A result line as classifyLine sees it: a `result` key, and no `type` other than "result". */
const isResultLine = (value: Record<string, unknown>) => 'result' in value && (typeof value.type !== 'string' || value.type === 'result');

/**
 * The session report a parsed output line carries, or null:
 * - Heartbeat's result line: `sessionId`, `sessionParams`, `sessionDisplayId`, `clearSession`
 *   (or snake_case). Claude Code's final `{"type":"result",...,"session_id"}` line is read the same
 *   way, also when it has no `result` text (an error result, which is an event).
 * - Claude Code `--output-format stream-json`: `{"type":"system","subtype":"init","session_id"}`.
 * - Codex `exec --json`: `{"type":"thread.started","thread_id"}`, sent when a thread starts or resumes.
 * Other lines that merely mention a session id (Claude's assistant and user messages) say nothing
 * new, and an event of the agent's own is not a report.
 */
export function sessionReportFromLine(value: Record<string, unknown>): SessionReport | null {
  const type = value.type;
  if (type === 'system' && value.subtype === 'init') return boundedSessionReport({ id: value.session_id });
  if (type === 'thread.started') return boundedSessionReport({ id: value.thread_id });
  if (!isResultLine(value) && type !== 'result') return null;
  return boundedSessionReport({
    id: value.sessionId ?? value.session_id,
    params: value.sessionParams ?? value.session_params,
    displayId: value.sessionDisplayId ?? value.session_display_id,
    clear: value.clearSession ?? value.clear_session,
  });
}

/**
 * The report a run's output leaves: the result line's when it names a session or clears it (it is
 * the agent's last word), else the latest event's with whatever else the result line added (say, a
 * display id for the session a CLI reported).
 */
export function combineSessionReports(fromEvents: SessionReport | undefined, fromResult: SessionReport | undefined): SessionReport | undefined {
  if (fromResult === undefined) return fromEvents;
  if (fromResult.sessionId !== undefined || fromResult.clearSession === true || fromEvents === undefined) return fromResult;
  return { ...fromEvents, ...fromResult };
}

/** What lines said about a run's usage (§13.1), with the `usage` object the agent wrote, kept as it was. */
export interface UsageReport extends UsageStatement {
  agentUsage?: Record<string, unknown>;
}

/** The one model a Claude Code result's `modelUsage` names; none when it names several (subagents). */
function soleModel(modelUsage: Record<string, unknown>): string | undefined {
  const models = Object.keys(modelUsage);
  return models.length === 1 ? readUsageStatement({ model: models[0] }).model : undefined;
}

/**
 * What a parsed output line says about the run's usage, or null:
 * - Claude Code `--output-format stream-json`: the init line names the model; the `result` line (also
 *   an error result without `result` text) carries `usage` (`input_tokens`, `cache_read_input_tokens`,
 *   `output_tokens`, ...) and `total_cost_usd`, and `modelUsage` per model. These are the figures of
 *   one `claude -p` process, so of one run.
 * - Codex `exec --json`: `turn.completed` carries `usage` (`input_tokens`, `cached_input_tokens`,
 *   `output_tokens`). These are the thread's running totals (codex-rs exec emits its
 *   `ThreadTokenUsage.total`), resumed threads included: the report says so (`cumulative`), a later
 *   turn.completed replaces an earlier one, and the engine takes the rise since the session's
 *   previous run (§13.2). The stream names no model.
 * - Heartbeat's result line: `usage`, `costUsd`, `billingType`, `provider`, `biller`, `model`,
 *   `usageIsCumulative` (or snake_case), read by readUsageStatement.
 */
export function usageReportFromLine(value: Record<string, unknown>): UsageReport | null {
  const type = value.type;
  if (type === 'system' && value.subtype === 'init') return { ...readUsageStatement({ model: value.model }), provider: 'anthropic' };
  if (type === 'thread.started') return { provider: 'openai' };
  if (type === 'turn.completed') {
    if (!isObject(value.usage)) return { provider: 'openai' };
    return { ...readUsageStatement({ usage: value.usage }), provider: 'openai', cumulative: true, agentUsage: value.usage };
  }
  if (!isResultLine(value) && type !== 'result') return null;
  const report: UsageReport = readUsageStatement(value as UsageFields);
  if (isObject(value.usage)) report.agentUsage = value.usage;
  if (isObject(value.modelUsage)) {
    report.provider ??= 'anthropic';
    const model = report.model ?? soleModel(value.modelUsage);
    if (model !== undefined) report.model = model;
  }
  return Object.keys(report).length > 0 ? report : null;
}

/**
 * Two reports as one, the later one's fields over the earlier one's. Token counters go together,
 * with the `cumulative` flag that says what they are: a later report's counters replace the earlier
 * ones and are taken as the run's own unless it flags them.
 */
export function combineUsageReports(earlier: UsageReport | undefined, later: UsageReport | undefined): UsageReport | undefined {
  if (later === undefined) return earlier;
  if (earlier === undefined) return later;
  const combined: UsageReport = { ...earlier };
  for (const [key, field] of Object.entries(later)) if (field !== undefined) Object.assign(combined, { [key]: field });
  if (later.tokens !== undefined && later.cumulative === undefined) delete combined.cumulative;
  return combined;
}

/**
 * AdapterResult.usage from a report: the agent's own `usage` keys, then Heartbeat's spelling
 * (`inputTokens`, `cachedInputTokens`, `outputTokens`, `costUsd`, `billingType`, `provider`,
 * `biller`, `model`, and `cumulative` when the report flags it). A report that says nothing of
 * tokens or cost gives the agent's object as it was (or nothing).
 */
export function usageFromReport(report: UsageReport | undefined): Record<string, unknown> | undefined {
  if (report === undefined) return undefined;
  const usage = completeUsage(report);
  if (usage === null) return report.agentUsage;
  return { ...report.agentUsage, ...usage, ...(report.cumulative !== undefined && { cumulative: report.cumulative }) };
}
