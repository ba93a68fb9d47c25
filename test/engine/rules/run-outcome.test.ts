import { describe, expect, it } from 'vitest';
import type { RunStatus } from '../../../db/enums.ts';
import type { AdapterResult } from '../../../engine/adapters/types.ts';
import {
  buildResultJson,
  gateStopMetadata,
  resolveRunOutcome,
  runSummaryText,
  stopMetadataFor,
  type RunOutcome,
  type StopMetadata,
  type TerminalRunStatus,
} from '../../../engine/rules/run-outcome.ts';

const running = { status: 'running' as RunStatus, error: null, errorCode: null };

describe('resolveRunOutcome', () => {
  it.each<[RunStatus]>([['succeeded'], ['failed'], ['cancelled'], ['timed_out']])(
    'keeps a row that is already %s',
    (status) => {
      expect(resolveRunOutcome({ status, error: 'x', errorCode: 'y' }, { exitCode: 0 })).toBeNull();
    },
  );

  it.each<[string, { status: RunStatus; error: string | null; errorCode: string | null }, AdapterResult, RunOutcome]>([
    ['empty result succeeds', running, {}, { status: 'succeeded', error: null, errorCode: null }],
    ['exit 0 succeeds', running, { exitCode: 0 }, { status: 'succeeded', error: null, errorCode: null }],
    ['exit null succeeds', running, { exitCode: null }, { status: 'succeeded', error: null, errorCode: null }],
    ['queued row resolves too', { status: 'queued', error: null, errorCode: null }, { exitCode: 0 }, { status: 'succeeded', error: null, errorCode: null }],
    ['exit 0 with an unrelated code still succeeds', running, { exitCode: 0, errorCode: 'x' }, { status: 'succeeded', error: null, errorCode: null }],
    ['timedOut wins over exit 0', running, { timedOut: true, exitCode: 0 }, { status: 'timed_out', error: 'Timed out', errorCode: 'timeout' }],
    ['timedOut keeps the adapter message', running, { timedOut: true, errorMessage: 'slow', errorCode: 'x' }, { status: 'timed_out', error: 'slow', errorCode: 'timeout' }],
    ['non-zero exit fails', running, { exitCode: 2 }, { status: 'failed', error: 'Adapter failed', errorCode: 'adapter_failed' }],
    ['message with exit 0 fails', running, { exitCode: 0, errorMessage: 'bad' }, { status: 'failed', error: 'bad', errorCode: 'adapter_failed' }],
    ['adapter code is kept', running, { exitCode: 1, errorMessage: 'upstream 529', errorCode: 'claude_transient_upstream' }, { status: 'failed', error: 'upstream 529', errorCode: 'claude_transient_upstream' }],
    ['empty message counts as none', running, { exitCode: 0, errorMessage: '' }, { status: 'succeeded', error: null, errorCode: null }],
    ['adapter cancel', running, { errorCode: 'cancelled', errorMessage: 'aborted', exitCode: 143 }, { status: 'cancelled', error: 'aborted', errorCode: 'cancelled' }],
    ['adapter cancel with exit 0 and no message', running, { errorCode: 'cancelled' }, { status: 'cancelled', error: 'Cancelled', errorCode: 'cancelled' }],
    [
      'adapter cancel prefers the row error and code',
      { status: 'running', error: 'Cancelled due to agent pause', errorCode: 'paused_code' },
      { errorCode: 'cancelled', errorMessage: 'aborted' },
      { status: 'cancelled', error: 'Cancelled due to agent pause', errorCode: 'paused_code' },
    ],
  ])('%s', (_name, row, result, expected) => {
    expect(resolveRunOutcome(row, result)).toEqual(expected);
  });
});

describe('stopMetadataFor', () => {
  const base = { errorCode: null, error: null, configuredTimeoutSec: undefined, adapterDefaultTimeoutSec: 0 };

  it.each<[string, TerminalRunStatus, string | null, string | null, string]>([
    ['succeeded', 'succeeded', null, null, 'completed'],
    ['timed_out', 'timed_out', 'timeout', 'Timed out', 'timeout'],
    ['failed with process_lost', 'failed', 'process_lost', 'Process lost', 'process_lost'],
    ['failed otherwise', 'failed', 'adapter_failed', 'boom', 'adapter_failed'],
    ['failed with a cancelled-looking message', 'failed', 'agent_not_found', 'paused budget', 'adapter_failed'],
    ['cancelled by control plane', 'cancelled', 'cancelled', 'Cancelled by control plane', 'cancelled'],
    ['cancelled without error text', 'cancelled', 'cancelled', null, 'cancelled'],
    ['cancelled by agent pause', 'cancelled', 'cancelled', 'Cancelled due to agent pause', 'paused'],
    ['cancelled PAUSED upper case', 'cancelled', 'cancelled', 'Agent PAUSED', 'paused'],
    ['cancelled by budget', 'cancelled', 'cancelled', 'Budget exceeded', 'budget_paused'],
    ['budget wins over pause', 'cancelled', 'cancelled', 'Paused: monthly BUDGET reached', 'budget_paused'],
  ])('stopReason: %s', (_name, status, errorCode, error, stopReason) => {
    const stop = stopMetadataFor({ ...base, status, errorCode, error });
    expect(stop.stopReason).toBe(stopReason);
    expect(stop.timeoutFired).toBe(stopReason === 'timeout');
  });

  it.each<[string, unknown, number, Pick<StopMetadata, 'effectiveTimeoutSec' | 'timeoutConfigured' | 'timeoutSource'>]>([
    ['configured', 300, 0, { effectiveTimeoutSec: 300, timeoutConfigured: true, timeoutSource: 'config' }],
    ['configured fraction is floored', 30.9, 0, { effectiveTimeoutSec: 30, timeoutConfigured: true, timeoutSource: 'config' }],
    ['configured 0 means none, still from config', 0, 600, { effectiveTimeoutSec: 0, timeoutConfigured: false, timeoutSource: 'config' }],
    ['configured 0.5 floors to none', 0.5, 600, { effectiveTimeoutSec: 0, timeoutConfigured: false, timeoutSource: 'config' }],
    ['missing uses the adapter default', undefined, 600, { effectiveTimeoutSec: 600, timeoutConfigured: true, timeoutSource: 'default' }],
    ['missing with default 0 (local adapters)', undefined, 0, { effectiveTimeoutSec: 0, timeoutConfigured: false, timeoutSource: 'default' }],
    ['negative uses the default', -5, 120, { effectiveTimeoutSec: 120, timeoutConfigured: true, timeoutSource: 'default' }],
    ['string uses the default', '300', 120, { effectiveTimeoutSec: 120, timeoutConfigured: true, timeoutSource: 'default' }],
    ['NaN uses the default', Number.NaN, 120, { effectiveTimeoutSec: 120, timeoutConfigured: true, timeoutSource: 'default' }],
    ['Infinity uses the default', Number.POSITIVE_INFINITY, 0, { effectiveTimeoutSec: 0, timeoutConfigured: false, timeoutSource: 'default' }],
    ['null uses the default', null, 45, { effectiveTimeoutSec: 45, timeoutConfigured: true, timeoutSource: 'default' }],
  ])('timeout: %s', (_name, configuredTimeoutSec, adapterDefaultTimeoutSec, expected) => {
    expect(
      stopMetadataFor({ ...base, status: 'succeeded', configuredTimeoutSec, adapterDefaultTimeoutSec }),
    ).toMatchObject(expected);
  });

  it('records a timeout that fired', () => {
    expect(
      stopMetadataFor({ status: 'timed_out', errorCode: 'timeout', error: 'Timed out', configuredTimeoutSec: 60, adapterDefaultTimeoutSec: 0 }),
    ).toEqual({ stopReason: 'timeout', effectiveTimeoutSec: 60, timeoutConfigured: true, timeoutSource: 'config', timeoutFired: true });
  });

  it('manual cancellation of a local run (seed scenario 7)', () => {
    expect(
      stopMetadataFor({ status: 'cancelled', errorCode: 'cancelled', error: 'Cancelled by control plane', configuredTimeoutSec: undefined, adapterDefaultTimeoutSec: 0 }),
    ).toEqual({ stopReason: 'cancelled', effectiveTimeoutSec: 0, timeoutConfigured: false, timeoutSource: 'default', timeoutFired: false });
  });
});

describe('gateStopMetadata', () => {
  it.each<[string, 'dependency_gate' | 'stale_queued_run_gate']>([
    ['issue_dependencies_blocked', 'dependency_gate'],
    ['issue_not_found', 'stale_queued_run_gate'],
    ['issue_assignee_changed', 'stale_queued_run_gate'],
  ])('%s via %s', (code, timeoutSource) => {
    expect(gateStopMetadata(code, timeoutSource)).toEqual({
      stopReason: code,
      effectiveTimeoutSec: 0,
      timeoutConfigured: false,
      timeoutSource,
      timeoutFired: false,
    });
  });
});

describe('buildResultJson', () => {
  const stop = gateStopMetadata('x', 'dependency_gate');
  const stopKeys = { ...stop };

  it.each<[string, AdapterResult, Record<string, unknown>]>([
    ['nothing from the adapter', {}, { ...stopKeys }],
    ['resultJson is copied', { resultJson: { a: 1, summary: 'done' } }, { a: 1, summary: 'done', ...stopKeys }],
    ['errorFamily added', { errorFamily: 'transient_upstream' }, { errorFamily: 'transient_upstream', ...stopKeys }],
    ['adapter errorFamily beats resultJson', { resultJson: { errorFamily: 'old' }, errorFamily: 'new' }, { errorFamily: 'new', ...stopKeys }],
    ['resultJson errorFamily kept when adapter has none', { resultJson: { errorFamily: 'old' }, errorFamily: null }, { errorFamily: 'old', ...stopKeys }],
    [
      'retryNotBefore twice',
      { retryNotBefore: '2026-04-01T00:00:00.000Z' },
      { retryNotBefore: '2026-04-01T00:00:00.000Z', transientRetryNotBefore: '2026-04-01T00:00:00.000Z', ...stopKeys },
    ],
    ['stop metadata overrides adapter keys', { resultJson: { stopReason: 'fake', timeoutFired: true } }, { ...stopKeys }],
    ['summary added when absent', { summary: 'Did it' }, { summary: 'Did it', ...stopKeys }],
    ['summary added when resultJson summary is blank', { resultJson: { summary: '  ' }, summary: 'Did it' }, { summary: 'Did it', ...stopKeys }],
    ['summary added when resultJson summary is not a string', { resultJson: { summary: 3 }, summary: 'Did it' }, { summary: 'Did it', ...stopKeys }],
    ['resultJson summary kept', { resultJson: { summary: 'Mine' }, summary: 'Other' }, { summary: 'Mine', ...stopKeys }],
    ['blank adapter summary not added', { summary: '   ' }, { ...stopKeys }],
  ])('%s', (_name, result, expected) => {
    expect(buildResultJson(result, stop)).toEqual(expected);
  });

  it('does not mutate the adapter resultJson', () => {
    const resultJson = { a: 1 };
    buildResultJson({ resultJson, summary: 's', errorFamily: 'f' }, stop);
    expect(resultJson).toEqual({ a: 1 });
  });
});

describe('runSummaryText', () => {
  it.each<[string, Record<string, unknown> | null | undefined, string | null]>([
    ['null', null, null],
    ['undefined', undefined, null],
    ['empty', {}, null],
    ['summary first', { summary: 'S', result: 'R', message: 'M' }, 'S'],
    ['result next', { summary: '  ', result: 'R', message: 'M' }, 'R'],
    ['message last', { summary: null, result: 5, message: 'M' }, 'M'],
    ['trimmed', { summary: '  hello \n' }, 'hello'],
    ['only blanks', { summary: '', result: ' ', message: '\n' }, null],
    ['500 chars kept', { summary: 'a'.repeat(500) }, 'a'.repeat(500)],
    ['501 chars cut', { summary: 'a'.repeat(501) }, `${'a'.repeat(497)}...`],
  ])('%s', (_name, resultJson, expected) => {
    expect(runSummaryText(resultJson)).toBe(expected);
  });
});
