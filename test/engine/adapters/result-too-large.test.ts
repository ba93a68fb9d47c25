// A result line over the 4 MiB line limit fails the run (result_too_large) instead of leaving it without
// its result: from a real child process, and from an http endpoint's NDJSON stream.
import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpAdapter } from '../../../engine/adapters/http.ts';
import { RESULT_TOO_LARGE } from '../../../engine/adapters/lines.ts';
import { MAX_LINE_CHARS } from '../../../engine/adapters/line-splitter.ts';
import { processAdapter } from '../../../engine/adapters/process.ts';
import { resolveRunOutcome } from '../../../engine/rules/run-outcome.ts';
import { recordingExecution } from '../../fixtures/agents/recording-execution.ts';
import { type HttpEndpoint, startHttpEndpoint } from '../../support/http-endpoint.ts';

const MiB = 1024 * 1024;
const MESSAGE = 'The result line is over the 4 MiB line limit: it was logged in pieces, not read as the result';

/** A child writing `head`, `MiBs` MiB of `x`, then `tail`, honouring backpressure. */
const writer = (head: string, MiBs: number, tail: string) => ({
  command: process.execPath,
  args: [
    '-e',
    `const piece = 'x'.repeat(1 << 16); let left = ${MiBs * 16};
     process.stdout.write(${JSON.stringify(head)});
     const go = () => { while (left-- > 0) if (!process.stdout.write(piece)) return process.stdout.once('drain', go);
       process.stdout.write(${JSON.stringify(tail)}); };
     go();`,
  ],
});

describe.concurrent('process adapter: a result line over the limit', () => {
  it('fails with result_too_large and a message naming the limit; the run maps it to failed', async () => {
    const rec = recordingExecution(processAdapter.parseConfig(writer('{"result":{"blob":"', 5, '"}}\n')));
    const result = await processAdapter.execute(rec.execution);
    expect(result).toEqual({ exitCode: 0, signal: null, errorCode: RESULT_TOO_LARGE, errorMessage: MESSAGE });
    expect(resolveRunOutcome({ status: 'running', error: null, errorCode: null }, result)).toEqual({
      status: 'failed',
      error: MESSAGE,
      errorCode: RESULT_TOO_LARGE,
    });
    expect(rec.output('stdout').length).toBeGreaterThan(MAX_LINE_CHARS); // logged in pieces, as before
  });

  it('an event line over the limit stays log output, and a small result line after it is the result', async () => {
    const rec = recordingExecution(processAdapter.parseConfig(writer('{"type":"tool.output","result":"', 5, '"}\n{"result":{"ok":true}}\n')));
    expect(await processAdapter.execute(rec.execution)).toEqual({ exitCode: 0, signal: null, resultJson: { ok: true } });
    expect(rec.events).toEqual([]);
  });

  it('a non-zero exit keeps result_too_large: the result line says more than the exit code', async () => {
    const config = writer('{"result":"', 5, '"}\n');
    config.args[1] = `process.exitCode = 3;\n${config.args[1]}`;
    const rec = recordingExecution(processAdapter.parseConfig(config));
    expect(await processAdapter.execute(rec.execution)).toMatchObject({ exitCode: 3, errorCode: RESULT_TOO_LARGE, errorMessage: MESSAGE });
  });
});

describe('http adapter: an NDJSON result line over the limit', () => {
  let endpoint: HttpEndpoint;
  beforeAll(async () => {
    endpoint = await startHttpEndpoint((req, res: ServerResponse) => {
      req.resume();
      req.on('end', async () => {
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        res.write('{"type":"before"}\n{"summary":"big","result":{"blob":"');
        const chunk = 'x'.repeat(64 * 1024);
        for (let sent = 0; sent < 5 * MiB; sent += chunk.length) {
          if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
        }
        res.end('"}}\n');
      });
    });
  });
  afterAll(async () => {
    await endpoint?.close();
  });

  it('fails with result_too_large', async () => {
    const rec = recordingExecution(httpAdapter.parseConfig({ url: `${endpoint.base}/`, timeoutSec: 60 }));
    expect(await httpAdapter.execute(rec.execution)).toEqual({ exitCode: 0, errorCode: RESULT_TOO_LARGE, errorMessage: MESSAGE });
    expect(rec.events.map((event) => event.type)).toEqual(['before']);
  });
});
