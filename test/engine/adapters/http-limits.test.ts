// What an http endpoint sends is bounded before it is held: an endless line, an oversized JSON body
// and control characters in an error page cannot make the server buffer without bound or fail the write.
import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpEndpoint, startHttpEndpoint } from '../../support/http-endpoint.ts';
import { httpAdapter } from '../../../engine/adapters/http.ts';
import { recordingExecution } from '../../fixtures/agents/recording-execution.ts';

const MiB = 1024 * 1024;
const LIMIT = 4 * MiB;

/** Writes `count` times `fill` in chunks of 64 Ki of them, honouring backpressure. */
async function writeMany(res: ServerResponse, fill: string, count: number): Promise<void> {
  const chunk = fill.repeat(64 * 1024);
  for (let sent = 0; sent < count; sent += 64 * 1024) {
    if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
  }
}

const routes: Record<string, (res: ServerResponse) => Promise<void> | void> = {
  async '/long-line'(res) {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.write('{"type":"before"}\n');
    await writeMany(res, 'a', 5 * MiB);
    res.end('\n{"result":{"ok":true}}\n');
  },
  async '/long-tail'(res) {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.write('x');
    await writeMany(res, 'é', 5 * MiB);
    res.end();
  },
  async '/big-json'(res) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"result":{"blob":"');
    await writeMany(res, 'c', 5 * MiB);
    res.end('"}}');
  },
  async '/many-events'(res) {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    for (let i = 0; i < 20_000; i++) {
      if (!res.write(`${JSON.stringify({ type: 'tick', message: String(i) })}\n`)) await new Promise((resolve) => res.once('drain', resolve));
    }
    res.end('{"result":{"ok":true}}\n');
  },
  '/control-error'(res) {
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('bad\u0000thing \u001b[31mred\u001b[0m\ttab');
  },
};

describe('http adapter limits', () => {
  let endpoint: HttpEndpoint;
  let base: string;

  beforeAll(async () => {
    endpoint = await startHttpEndpoint((req, res) => {
      req.resume();
      req.on('end', () => void (routes[req.url ?? '/'] ?? ((r: ServerResponse) => r.writeHead(404).end()))(res));
    });
    base = endpoint.base;
  });
  afterAll(async () => {
    await endpoint?.close();
  });

  const run = (path: string) => recordingExecution(httpAdapter.parseConfig({ url: base + path, timeoutSec: 60 }));

  /** Pieces of an over-long line: each about the limit at most (the splitter checks per chunk read). */
  const expectPieces = (pieces: string[]) => {
    expect(pieces.length).toBeGreaterThan(1);
    for (const piece of pieces) expect(piece.length).toBeLessThanOrEqual(LIMIT + 64 * 1024);
  };

  it('reads on only once a backlogged run has caught up: every event once, in order', async () => {
    let asked = 0;
    let waited = 0;
    const rec = recordingExecution(httpAdapter.parseConfig({ url: `${base}/many-events`, timeoutSec: 60 }), {
      backlog: () => (++asked % 2 === 0 ? new Promise<void>((resolve) => setImmediate(() => resolve(void waited++))) : null),
    });
    expect(await httpAdapter.execute(rec.execution)).toEqual({ exitCode: 0, resultJson: { ok: true } });
    expect(waited).toBeGreaterThan(0);
    expect(rec.events.map((e) => e.message)).toEqual(Array.from({ length: 20_000 }, (_, i) => String(i)));
  });

  it('an over-long line comes out in pieces of about 4 MiB, each a log line; the lines after it are still read', async () => {
    const rec = run('/long-line');
    expect(await httpAdapter.execute(rec.execution)).toEqual({ exitCode: 0, resultJson: { ok: true } });
    expect(rec.events.map((e) => e.type)).toEqual(['before']);
    const pieces = rec.output('stdout').split('\n').slice(0, -1);
    expectPieces(pieces);
    expect(pieces.join('')).toBe('a'.repeat(5 * MiB));
  });

  it('an over-long last line without a newline is broken the same way, never inside a character', async () => {
    const rec = run('/long-tail');
    expect(await httpAdapter.execute(rec.execution)).toEqual({ exitCode: 0 });
    const pieces = rec.output('stdout').split('\n').slice(0, -1);
    expectPieces(pieces);
    expect(pieces.join('')).toBe(`x${'é'.repeat(5 * MiB)}`);
  });

  it('a JSON body over 4 MiB is not parsed: its start is logged and marked', async () => {
    const rec = run('/big-json');
    expect(await httpAdapter.execute(rec.execution)).toEqual({ exitCode: 0 });
    const output = rec.output('stdout');
    expect(output.startsWith('{"result":{"blob":"ccc')).toBe(true);
    expect(output.slice(LIMIT)).toBe(' [heartbeat dropped the rest of a JSON body over 4 MiB]\n');
  });

  it('control characters in an error body are left out of the error message', async () => {
    expect(await httpAdapter.execute(run('/control-error').execution)).toEqual({
      exitCode: null,
      errorMessage: 'HTTP 500 Internal Server Error: badthing [31mred[0m\ttab',
      errorCode: 'adapter_failed',
    });
  });
});
