// The script adapter: every step kind, cancellation during a sleep, issue actions, and validation.
import { describe, expect, it } from 'vitest';
import { adapterFor, builtInAdapters } from '../../../engine/adapters/index.ts';
import { scriptAdapter } from '../../../engine/adapters/script.ts';
import { HeartbeatError } from '../../../engine/model/errors.ts';
import { recordingExecution, waitFor } from '../../fixtures/agents/recording-execution.ts';

const script = (steps: unknown[]) => recordingExecution(scriptAdapter.parseConfig({ steps }));

function badInputMessage(config: unknown): string {
  try {
    scriptAdapter.parseConfig(config);
  } catch (error) {
    expect(error).toBeInstanceOf(HeartbeatError);
    expect((error as HeartbeatError).code).toBe('BAD_USER_INPUT');
    return (error as HeartbeatError).message;
  }
  throw new Error(`accepted ${JSON.stringify(config)}`);
}

describe('script adapter', () => {
  it('runs log, event, sleep, comment, document, result and usage steps in order', async () => {
    const rec = script([
      { log: 'hello' },
      { log: 'careful', stream: 'stderr' },
      { event: { type: 'tool.call', message: 'ls', level: 'warn', payload: { cmd: 'ls' } } },
      { sleepMs: 5 },
      { comment: 'Working on it' },
      { document: { key: 'plan', body: '1. do it' } },
      { usage: { inputTokens: 10 } },
      { result: { ok: true }, summary: 'done' },
    ]);
    expect(await scriptAdapter.execute(rec.execution)).toEqual({
      exitCode: 0,
      resultJson: { ok: true },
      summary: 'done',
      usage: { inputTokens: 10 },
    });
    expect(rec.metas).toEqual([{ adapter: 'script', steps: 8 }]);
    expect(rec.logs).toEqual([
      { stream: 'stdout', chunk: 'hello\n' },
      { stream: 'stderr', chunk: 'careful\n' },
    ]);
    expect(rec.events).toEqual([{ type: 'tool.call', message: 'ls', level: 'warn', payload: { cmd: 'ls' } }]);
    expect(rec.comments).toEqual(['Working on it']);
    expect(rec.documents).toEqual([{ key: 'plan', body: '1. do it' }]);
    expect(rec.spawns).toEqual([]);
  });

  it('no steps: succeeds with exit code 0', async () => {
    expect(await scriptAdapter.execute(script([]).execution)).toEqual({ exitCode: 0 });
  });

  it('exit stops the script with that code', async () => {
    const rec = script([{ log: 'a' }, { exit: 3 }, { log: 'never' }]);
    expect(await scriptAdapter.execute(rec.execution)).toEqual({
      exitCode: 3,
      errorMessage: 'Script exited with code 3',
    });
    expect(rec.output('stdout')).toBe('a\n');
    const ok = script([{ result: { x: 1 } }, { exit: 0 }, { log: 'never' }]);
    expect(await scriptAdapter.execute(ok.execution)).toEqual({ exitCode: 0, resultJson: { x: 1 } });
  });

  it('fail stops the script with message, code, error family and retry time', async () => {
    const rec = script([
      {
        fail: {
          message: 'Upstream 529',
          code: 'upstream_overloaded',
          errorFamily: 'transient_upstream',
          retryNotBefore: '2030-01-01T00:00:00Z',
        },
      },
      { log: 'never' },
    ]);
    expect(await scriptAdapter.execute(rec.execution)).toEqual({
      exitCode: 1,
      errorMessage: 'Upstream 529',
      errorCode: 'upstream_overloaded',
      errorFamily: 'transient_upstream',
      retryNotBefore: '2030-01-01T00:00:00Z',
    });
    expect(rec.logs).toEqual([]);
    expect(await scriptAdapter.execute(script([{ fail: { message: 'nope' } }]).execution)).toMatchObject({
      exitCode: 1,
      errorMessage: 'nope',
      errorCode: 'adapter_failed',
    });
  });

  it('throw rejects like a crashing adapter', async () => {
    await expect(scriptAdapter.execute(script([{ throw: 'kaboom' }]).execution)).rejects.toThrow('kaboom');
  });

  it('cancel during a sleep ends the script without waiting out the sleep and runs no further step', async () => {
    const rec = script([{ log: 'before' }, { sleepMs: 600_000 }, { log: 'after' }]);
    const running = scriptAdapter.execute(rec.execution);
    let ended = false;
    running.finally(() => (ended = true)).catch(() => {});
    await waitFor(() => rec.logs.length > 0, 'first log');
    rec.controller.abort();
    // The sleep is 600 s: a script still going at this deadline did not honour the cancel.
    await waitFor(() => ended, 'the cancelled script to end, well before its 600 s sleep would', 30_000);
    expect(await running).toEqual({ exitCode: null, errorMessage: 'Cancelled', errorCode: 'cancelled' });
    expect(rec.output('stdout')).toBe('before\n');
  }, 60_000);

  it('an issue action that fails makes the run fail', async () => {
    const rec = script([{ log: 'x' }, { comment: 'hi' }, { log: 'never' }]);
    rec.execution.issue = {
      addComment: () => Promise.reject(new Error('Run has no issue')),
      putDocument: () => Promise.reject(new Error('Run has no issue')),
    };
    expect(await scriptAdapter.execute(rec.execution)).toEqual({
      exitCode: 1,
      errorMessage: 'Run has no issue',
      errorCode: 'adapter_failed',
    });
    const doc = script([{ document: { key: 'plan', body: 'b' } }]);
    doc.execution.issue = rec.execution.issue;
    expect(await scriptAdapter.execute(doc.execution)).toMatchObject({ errorMessage: 'Run has no issue' });
  });

  it('rejects invalid steps with BAD_USER_INPUT naming the step and field', () => {
    expect(badInputMessage({})).toMatch(/adapterConfig\.steps: Required/);
    expect(badInputMessage({ steps: 'log' })).toMatch(/adapterConfig\.steps/);
    expect(badInputMessage({ steps: [{ log: 'a' }, 7] })).toMatch(/adapterConfig\.steps\[1\]/);
    expect(badInputMessage({ steps: [{}] })).toMatch(/steps\[0\]: a step needs exactly one of .*found none/);
    expect(badInputMessage({ steps: [{ log: 'a', exit: 0 }] })).toMatch(/steps\[0\].*found log, exit/);
    expect(badInputMessage({ steps: [{ log: 'a', colour: 'red' }] })).toMatch(/steps\[0\].*colour/);
    expect(badInputMessage({ steps: [{ log: 'a', stream: 'stdin' }] })).toMatch(/steps\[0\]\.stream/);
    expect(badInputMessage({ steps: [{ sleepMs: 600_001 }] })).toMatch(/steps\[0\]\.sleepMs/);
    expect(badInputMessage({ steps: [{ sleepMs: -1 }] })).toMatch(/steps\[0\]\.sleepMs/);
    expect(badInputMessage({ steps: [{ exit: 1.5 }] })).toMatch(/steps\[0\]\.exit/);
    expect(badInputMessage({ steps: [{ event: { message: 'm' } }] })).toMatch(/steps\[0\]\.event\.type: Required/);
    expect(badInputMessage({ steps: [{ event: { type: 't', level: 'loud' } }] })).toMatch(/event\.level/);
    expect(badInputMessage({ steps: [{ document: { key: 'plan' } }] })).toMatch(/document\.body: Required/);
    expect(badInputMessage({ steps: [{ result: 'text' }] })).toMatch(/steps\[0\]\.result/);
    expect(badInputMessage({ steps: [{ fail: { message: 'm', retryNotBefore: 'tomorrow' } }] })).toMatch(
      /fail\.retryNotBefore/,
    );
    expect(badInputMessage({ steps: Array.from({ length: 1001 }, () => ({ log: 'x' })) })).toMatch(/steps/);
    const longest = Array.from({ length: 1000 }, () => ({ exit: 0 }));
    expect(scriptAdapter.parseConfig({ steps: longest }).steps).toHaveLength(1000);
    expect(scriptAdapter.timeoutSec({ steps: [] })).toBe(0);
  });

  it('adapterFor returns built-ins, honours overrides and rejects unknown types', () => {
    expect(adapterFor('script')).toBe(scriptAdapter);
    expect(Object.keys(builtInAdapters).sort()).toEqual(['claude_code', 'codex', 'http', 'process', 'script']);
    expect(builtInAdapters.process.localChild).toBe(true);
    expect(builtInAdapters.http.localChild).toBe(false);
    const fake = { ...scriptAdapter, localChild: true };
    expect(adapterFor('script', { script: fake })).toBe(fake);
    expect(adapterFor('http', { script: fake })).toBe(builtInAdapters.http);
    expect(() => adapterFor('telepathy')).toThrow(/Unknown adapter type: telepathy/);
    expect(() => adapterFor('toString')).toThrow(/Unknown adapter type/);
  });
});
