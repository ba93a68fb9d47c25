// The script adapter's `session` step: what a scripted agent reports about its session
// (docs/engine.md §12.4), and how its config is checked.
import { describe, expect, it } from 'vitest';
import { scriptAdapter } from '../../../engine/adapters/script.ts';
import { HeartbeatError } from '../../../engine/model/errors.ts';
import { SESSION_DISPLAY_ID_MAX, SESSION_PARAMS_MAX_BYTES } from '../../../engine/rules/sessions.ts';
import { recordingExecution } from '../../fixtures/agents/recording-execution.ts';

const run = (steps: unknown[]) => scriptAdapter.execute(recordingExecution(scriptAdapter.parseConfig({ steps })).execution);

function badInputMessage(session: unknown): string {
  try {
    scriptAdapter.parseConfig({ steps: [{ log: 'first' }, { session }] });
  } catch (error) {
    expect(error).toBeInstanceOf(HeartbeatError);
    expect((error as HeartbeatError).code).toBe('BAD_USER_INPUT');
    return (error as HeartbeatError).message;
  }
  throw new Error(`accepted ${JSON.stringify(session)}`);
}

describe('script adapter: session step', () => {
  it('reports the session it names; the params name it too', async () => {
    expect(await run([{ session: { id: 'sess-1', params: { cwd: '/w' }, displayId: 'fix login' } }, { result: { ok: true } }])).toEqual({
      exitCode: 0,
      resultJson: { ok: true },
      session: { sessionId: 'sess-1', sessionParams: { cwd: '/w', sessionId: 'sess-1' }, sessionDisplayId: 'fix login' },
    });
    expect(await run([{ session: { id: 'sess-2' } }])).toEqual({ exitCode: 0, session: { sessionId: 'sess-2' } });
  });

  it('clear: true clears the session; the last session step wins', async () => {
    expect(await run([{ session: { id: 'a' } }, { session: { clear: true } }])).toEqual({ exitCode: 0, session: { clearSession: true } });
    expect(await run([{ session: { clear: true } }, { session: { id: 'b' } }])).toEqual({ exitCode: 0, session: { sessionId: 'b' } });
  });

  it('the report stands however the script ends', async () => {
    expect(await run([{ session: { id: 'c' } }, { fail: { message: 'boom' } }])).toMatchObject({ errorMessage: 'boom', session: { sessionId: 'c' } });
    expect(await run([{ session: { id: 'd' } }, { exit: 2 }])).toMatchObject({ exitCode: 2, session: { sessionId: 'd' } });
  });

  it('without a session step the result has no session key', async () => {
    expect(await run([{ log: 'hi' }])).not.toHaveProperty('session');
  });

  it('rejects a malformed session step with BAD_USER_INPUT naming the field', () => {
    const neither = /steps\[1\]\.session: Expected \{ id, params\?, displayId\? \} to name the session, or \{ clear: true \}/;
    for (const session of [{}, 'sess', { id: 5 }, { clear: false }, { id: 'a', clear: true }, { id: 'a', params: [1] }]) {
      expect(badInputMessage(session)).toMatch(neither);
    }
    expect(badInputMessage({ id: '  ' })).toMatch(/steps\[1\]\.session\.id: Expected a non-empty id/);
    expect(badInputMessage({ id: 'a', colour: 'red' })).toMatch(/steps\[1\]\.session.*colour/);
    expect(badInputMessage({ id: 'a', displayId: 'd'.repeat(SESSION_DISPLAY_ID_MAX + 1) })).toMatch(/steps\[1\]\.session\.displayId/);
    const tooBig = { blob: 'x'.repeat(SESSION_PARAMS_MAX_BYTES) };
    expect(badInputMessage({ id: 'a', params: tooBig })).toMatch(new RegExp(`steps\\[1\\]\\.session\\.params: Expected at most ${SESSION_PARAMS_MAX_BYTES} bytes`));
  });

  it('a session step with another step kind in it is refused like any mixed step', () => {
    expect(() => scriptAdapter.parseConfig({ steps: [{ session: { id: 'a' }, log: 'x' }] })).toThrow(/steps\[0\].*found log, session/);
  });
});
