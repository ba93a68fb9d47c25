// Usage and cost on agent output lines (docs/engine.md §13.1): the recorded Claude Code and Codex
// streams replayed through the real process adapter, Heartbeat's own result line, and how LineSink
// puts what the lines said into one `usage` object in Heartbeat's spelling.
import { describe, expect, it } from 'vitest';
import { usageReportFromLine } from '../../../engine/adapters/cli-streams.ts';
import { classifyLine, LineSink } from '../../../engine/adapters/lines.ts';
import { processAdapter } from '../../../engine/adapters/process.ts';
import { billedCents, normalizeUsage, usageIsCumulative } from '../../../engine/rules/costs.ts';
import { recordingExecution } from '../../fixtures/agents/recording-execution.ts';

import { CLAUDE_LINES, CLAUDE_MODEL, CLAUDE_STREAM, CODEX_LINES, CODEX_STREAM, CODEX_USAGE, FAKE_CLI } from '../../fixtures/cli-streams/recorded.ts';

/** The recorded Claude result's usage object, as Claude Code wrote it. */
const CLAUDE_RAW_USAGE = {
  input_tokens: 19,
  cache_creation_input_tokens: 2168,
  cache_read_input_tokens: 15000,
  output_tokens: 311,
  server_tool_use: { web_search_requests: 0 },
  service_tier: 'standard',
};

const line = (value: Record<string, unknown>) => JSON.stringify(value);
const turnCompleted = (input: number, cached: number, output: number) =>
  line({ type: 'turn.completed', usage: { input_tokens: input, cached_input_tokens: cached, output_tokens: output } });

function replay(streamFile: string, ...extraLines: string[]) {
  const config = processAdapter.parseConfig({ command: process.execPath, args: [FAKE_CLI, streamFile, ...extraLines] });
  return processAdapter.execute(recordingExecution(config, { session: null }).execution);
}

function usageOf(lines: string[]) {
  const sink = new LineSink({ onEvent: () => {}, onLog: () => {} });
  sink.lines(lines);
  return sink.outcome().usage;
}

describe.concurrent('process adapter: the usage a replayed CLI stream leaves', () => {
  it("Claude Code: the result's tokens, cache reads and cost; the model from the init line", async () => {
    const result = await replay(CLAUDE_STREAM);
    expect(result.usage).toEqual({
      ...CLAUDE_RAW_USAGE,
      inputTokens: 19,
      cachedInputTokens: 15000,
      outputTokens: 311,
      costUsd: 0.1234,
      billingType: 'unknown',
      provider: 'anthropic',
      biller: 'anthropic',
      model: CLAUDE_MODEL,
    });
    // What the engine makes of it: one run's figures, 12 cents.
    const usage = normalizeUsage(result);
    expect(usage).toMatchObject({ cachedInputTokens: 15000, costUsd: 0.1234, provider: 'anthropic', model: CLAUDE_MODEL });
    expect(usageIsCumulative(result)).toBe(false);
    expect(billedCents(usage!)).toBe(12);
  });

  it("Codex: turn.completed's usage, flagged as the thread's running totals", async () => {
    const result = await replay(CODEX_STREAM);
    expect(result.usage).toEqual(CODEX_USAGE);
    expect(usageIsCumulative(result)).toBe(true);
    expect(billedCents(normalizeUsage(result)!)).toBe(0);
  });

  it("a wrapper's result line adds what the stream cannot say: billing, model, biller", async () => {
    const wrapper = line({ result: { ok: true }, billingType: 'subscription', model: 'gpt-5-codex' });
    const result = await replay(CODEX_STREAM, wrapper);
    expect(result.usage).toMatchObject({ inputTokens: 24763, billingType: 'subscription_included', provider: 'openai', model: 'gpt-5-codex', cumulative: true });

    const bedrock = line({ result: { ok: true }, biller: 'aws_bedrock', billing_type: 'api' });
    const claude = await replay(CLAUDE_STREAM, bedrock);
    // Claude's result line was replaced, but what it reported was used all the same.
    expect(claude.usage).toMatchObject({ cachedInputTokens: 15000, costUsd: 0.1234, billingType: 'metered_api', provider: 'anthropic', biller: 'aws_bedrock' });
  });
});

describe('usage on the lines of a run', () => {
  it('Codex: a later turn.completed replaces an earlier one (each is the running total)', () => {
    expect(usageOf([CODEX_LINES[0], turnCompleted(16504, 0, 20), turnCompleted(85681, 70000, 40)])).toMatchObject({
      inputTokens: 85681,
      cachedInputTokens: 70000,
      outputTokens: 40,
      cumulative: true,
    });
  });

  it("Heartbeat's result line: camelCase or snake_case, the cost at the top or inside usage", () => {
    expect(usageOf([line({ result: 1, usage: { input_tokens: 3, output_tokens: 4 }, cost_usd: 0.02, billing_type: 'api', provider: 'openai', model: 'gpt-5' })])).toEqual({
      input_tokens: 3,
      output_tokens: 4,
      inputTokens: 3,
      cachedInputTokens: 0,
      outputTokens: 4,
      costUsd: 0.02,
      billingType: 'metered_api',
      provider: 'openai',
      biller: 'openai',
      model: 'gpt-5',
    });
    expect(usageOf([line({ result: 1, usage: { costUsd: 1.5, note: 'kept' } })])).toMatchObject({ costUsd: 1.5, inputTokens: 0, note: 'kept' });
    expect(usageOf([line({ result: 1, costUsd: 0.5 })])).toMatchObject({ costUsd: 0.5, biller: 'unknown' });
  });

  it('a usage object that says nothing of tokens or cost is kept as the agent wrote it; no usage, no key', () => {
    expect(usageOf([line({ result: 1, usage: { note: 'x' } })])).toEqual({ note: 'x' });
    expect(usageOf([line({ result: 1, billingType: 'api' })])).toBeUndefined();
    expect(usageOf([CLAUDE_LINES[0]])).toBeUndefined();
    expect(usageOf([CODEX_LINES[0], 'plain log'])).toBeUndefined();
  });

  it("a wrapper's own counters after Codex's are this run's, unless it says they are running totals", () => {
    const own = line({ result: 1, usage: { inputTokens: 500, outputTokens: 5 } });
    expect(usageOf([CODEX_LINES.at(-1)!, own])).toMatchObject({ inputTokens: 500, outputTokens: 5, provider: 'openai' });
    expect(usageOf([CODEX_LINES.at(-1)!, own])).not.toHaveProperty('cumulative');
    const totals = line({ result: 1, usage: { inputTokens: 500, outputTokens: 5 }, usageIsCumulative: true });
    expect(usageOf([totals])).toMatchObject({ inputTokens: 500, cumulative: true });
  });

  it('Claude Code `--output-format json` (the result line alone): provider and model from modelUsage', () => {
    const result = JSON.parse(CLAUDE_LINES.at(-1)!);
    expect(usageOf([line(result)])).toMatchObject({ provider: 'anthropic', model: CLAUDE_MODEL, costUsd: 0.1234 });
    // Several models (a subagent on another one): none of them is the run's model.
    const twoModels = { ...result, modelUsage: { [CLAUDE_MODEL]: {}, 'claude-haiku-4-5': {} } };
    expect(usageOf([line(twoModels)])).toMatchObject({ provider: 'anthropic', model: null });
    expect(usageOf([CLAUDE_LINES[0], line(twoModels)])).toMatchObject({ model: CLAUDE_MODEL });
  });

  it("classifyLine's result carries what the line alone says; the lines stay what they were", () => {
    expect(classifyLine(CLAUDE_LINES.at(-1)!)).toMatchObject({
      kind: 'result',
      result: { usage: { cachedInputTokens: 15000, costUsd: 0.1234, provider: 'anthropic', model: CLAUDE_MODEL } },
    });
    expect(classifyLine(CODEX_LINES.at(-1)!).kind).toBe('event');
    expect(classifyLine(CLAUDE_LINES[0]).kind).toBe('event');
  });

  it('only the lines that carry usage are read for it', () => {
    expect(usageReportFromLine({ type: 'turn.started' })).toBeNull();
    expect(usageReportFromLine({ type: 'item.completed', item: { type: 'agent_message', usage: { input_tokens: 9 } } })).toBeNull();
    // An assistant message's usage is one request's: the result line totals them.
    expect(usageReportFromLine(JSON.parse(CLAUDE_LINES[1]))).toBeNull();
    expect(usageReportFromLine({ type: 'tool.result', result: {}, usage: { input_tokens: 9 } })).toBeNull();
  });
});
