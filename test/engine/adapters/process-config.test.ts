// Process adapter configs that look valid but would mislead: environment names that smuggle a
// variable in, a working directory that does not exist.
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { processAdapter } from '../../../engine/adapters/process.ts';
import { HeartbeatError } from '../../../engine/model/errors.ts';
import { recordingExecution } from '../../fixtures/agents/recording-execution.ts';

function parseError(config: unknown): HeartbeatError {
  try {
    processAdapter.parseConfig(config);
  } catch (error) {
    if (error instanceof HeartbeatError) return error;
    throw error;
  }
  throw new Error('config was accepted');
}

describe('process adapter config', () => {
  it('refuses environment names holding "=" (they would forge HEARTBEAT_* variables) or empty', () => {
    for (const name of ['HEARTBEAT_RUN_TOKEN=forged', '']) {
      const error = parseError({ command: 'x', env: { [name]: 'value' } });
      expect(error.code).toBe('BAD_USER_INPUT');
      expect(error.message).toContain(`adapterConfig.env.${name}`);
    }
    // "=" in a value is fine.
    expect(processAdapter.parseConfig({ command: 'x', env: { A: 'b=c' } }).env).toEqual({ A: 'b=c' });
  });

  it('a missing working directory is named as such, not blamed on the command', async () => {
    const cwd = join(tmpdir(), `heartbeat-no-such-dir-${process.pid}`);
    const rec = recordingExecution(processAdapter.parseConfig({ command: process.execPath, args: ['-e', ''], cwd }));
    const result = await processAdapter.execute(rec.execution);
    expect(result).toMatchObject({ exitCode: null, errorCode: 'adapter_failed' });
    expect(result.errorMessage).toContain(`cwd ${cwd} does not exist`);
  });
});
