// What a careless or hostile child writes on stdout/stderr: lines without end, NUL characters,
// floods of short lines. The server must stay bounded and every run must still be recorded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOG_CHUNK_LIMITS } from '../../../engine/rules/bounding.ts';
import { classifyLine } from '../../../engine/adapters/lines.ts';
import { LineSplitter, MAX_LINE_CHARS } from '../../../engine/adapters/line-splitter.ts';
import { processAdapter } from '../../../engine/adapters/process.ts';
import { createAgent, enqueue, runFinished } from '../../support/api.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { recordingExecution } from '../../fixtures/agents/recording-execution.ts';

/** A child running `script` with node: no fixture file needed. */
const nodeScript = (script: string) => ({ command: process.execPath, args: ['-e', script] });

/** Writes `text` `times` times to stdout, honouring backpressure, then `after`. */
const writeRepeated = (text: string, times: number, after: string) => `
  const piece = ${JSON.stringify(text)}; let left = ${times};
  const go = () => { while (left-- > 0) if (!process.stdout.write(piece)) return process.stdout.once('drain', go);
    process.stdout.write(${JSON.stringify(after)}); };
  go();`;

describe('line splitting bounds', () => {
  it('a line longer than the limit comes out in bounded pieces; the next lines are whole', () => {
    const splitter = new LineSplitter(100);
    const out: string[] = [];
    for (let i = 0; i < 50; i++) out.push(...splitter.push('x'.repeat(30)));
    out.push(...splitter.push('y\nnext line\n'), ...splitter.end());
    expect(out.slice(-1)).toEqual(['next line']);
    const pieces = out.slice(0, -1);
    expect(pieces.length).toBeGreaterThan(1);
    for (const piece of pieces) expect(piece.length).toBeLessThanOrEqual(130);
    expect(pieces.join('')).toBe('x'.repeat(1500) + 'y');
  });

  it('a JSON \\u0000 escape never yields a NUL; an escaped backslash before u0000 is kept as text', () => {
    expect(classifyLine('{"type":"t\\u0000","message":"a\\u0000b","payload":{"k\\u0000":"\\\\\\u0000"}}')).toEqual({
      kind: 'event',
      event: { type: 't\uFFFD', message: 'a\uFFFDb', level: null, stream: null, color: null, payload: { 'k\uFFFD': '\\\uFFFD' } },
    });
    expect(classifyLine('{"type":"t","message":"a\\\\u0000b"}')).toMatchObject({ event: { message: 'a\\u0000b' } });
  });
});

describe.concurrent('process adapter output bounds', () => {
  it('a 20 MB line without newline is logged in bounded chunks; output after it still counts', async () => {
    const rec = recordingExecution(
      processAdapter.parseConfig(nodeScript(writeRepeated('x'.repeat(1 << 16), 320, '\n{"type":"after"}\n'))),
    );
    expect(await processAdapter.execute(rec.execution)).toEqual({ exitCode: 0, signal: null });
    const chunks = rec.logs.map((l) => l.chunk);
    expect(chunks.join('').replaceAll('\n', '')).toBe('x'.repeat(320 << 16));
    for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(MAX_LINE_CHARS + (1 << 16) + 1);
    expect(rec.events.map((e) => e.type)).toEqual(['after']);
  });

  it('a flood of short lines is logged in a few chunks, in order with the events between them', async () => {
    const script = writeRepeated('line\n', 100_000, '{"type":"middle"}\nlast\n');
    const order: string[] = [];
    const rec = recordingExecution(processAdapter.parseConfig(nodeScript(script)), {
      onLog: (stream, chunk) => {
        rec.logs.push({ stream, chunk });
        order.push('log');
      },
      onEvent: (event) => order.push(event.type),
    });
    expect(await processAdapter.execute(rec.execution)).toEqual({ exitCode: 0, signal: null });
    expect(rec.output('stdout')).toBe('line\n'.repeat(100_000) + 'last\n');
    expect(rec.logs.length).toBeLessThan(1_000);
    for (const { chunk } of rec.logs) expect(chunk.length).toBeLessThanOrEqual(LOG_CHUNK_LIMITS.live);
    expect(order.slice(-2)).toEqual(['middle', 'log']);
  });

  it('stops reading while the run is backlogged and reads on after: every event once, in order', async () => {
    const script = `
      let i = 0;
      const go = () => { while (i < 20000) if (!process.stdout.write(JSON.stringify({ type: 'tick', message: String(i++) }) + '\\n')) return process.stdout.once('drain', go);
        process.stdout.write('{"result":{"ok":true}}\\n'); };
      go();`;
    let asked = 0;
    let paused = 0;
    const rec = recordingExecution(processAdapter.parseConfig(nodeScript(script)), {
      // Every other read finds the run backlogged until the next turn of the event loop.
      backlog: () => (++asked % 2 === 0 ? new Promise<void>((resolve) => setImmediate(() => resolve(void paused++))) : null),
    });
    expect(await processAdapter.execute(rec.execution)).toEqual({ exitCode: 0, signal: null, resultJson: { ok: true } });
    expect(paused).toBeGreaterThan(0);
    expect(rec.events.map((e) => e.message)).toEqual(Array.from({ length: 20_000 }, (_, i) => String(i)));
  });

  it('NUL characters on stdout, stderr and in JSON lines reach no callback', async () => {
    const script = `
      process.stdout.write('raw \\u0000 nul\\n');
      process.stderr.write('err \\u0000 nul\\n');
      process.stdout.write('{"type":"x\\\\u0000","message":"m\\\\u0000","payload":{"k\\\\u0000":"v\\\\u0000"}}\\n');
      process.stdout.write('{"result":{"r":"\\\\u0000"},"summary":"s\\\\u0000"}\\n');`;
    const rec = recordingExecution(processAdapter.parseConfig(nodeScript(script)));
    const result = await processAdapter.execute(rec.execution);
    const seen = JSON.stringify({ result, logs: rec.logs, events: rec.events });
    expect(seen).not.toContain('\\u0000');
    expect(rec.output('stdout')).toBe('raw \uFFFD nul\n');
    expect(rec.output('stderr')).toBe('err \uFFFD nul\n');
    expect(rec.events).toEqual([{ type: 'x\uFFFD', message: 'm\uFFFD', level: null, stream: null, color: null, payload: { 'k\uFFFD': 'v\uFFFD' } }]);
    expect(result).toMatchObject({ resultJson: { r: '\uFFFD' }, summary: 's\uFFFD' });
  });
});

describe('process runs through the engine', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it('a flood of events is stored whole, in order, the adapter reading only as fast as the run stores', async () => {
    const script = `
      let i = 0;
      const go = () => { while (i < 30000) if (!process.stdout.write(JSON.stringify({ type: 'tick', message: String(i++) }) + '\\n')) return process.stdout.once('drain', go); };
      go();`;
    const agentId = await createAgent(server, { adapterType: 'process', adapterConfig: nodeScript(script) });
    const { runId } = await enqueue(server, { agentId });
    const run = await runFinished(server, runId!);
    expect(run.status).toBe('succeeded');
    const ticks = await server.database.db.query.runEvents.findMany({ where: { runId: runId!, eventType: 'tick' }, orderBy: { seq: 'asc' } });
    expect(ticks.map((e) => e.message)).toEqual(Array.from({ length: 30_000 }, (_, i) => String(i)));
    expect(ticks.at(-1)!.seq - ticks[0].seq).toBe(29_999);
  });

  it('with NUL output, finish, with their output, events and result stored', async () => {
    const script = `
      process.stdout.write('out \\u0000\\n'); process.stderr.write('err \\u0000\\n');
      process.stdout.write('{"type":"tool.call","message":"m\\\\u0000"}\\n{"result":{"r":"\\\\u0000"}}\\n');`;
    const agentId = await createAgent(server, { adapterType: 'process', adapterConfig: nodeScript(script) });
    const { runId } = await enqueue(server, { agentId });
    const run = await runFinished(server, runId!);
    expect(run).toMatchObject({ status: 'succeeded', stdoutExcerpt: 'out \uFFFD\n', stderrExcerpt: 'err \uFFFD\n' });
    expect(run.resultJson).toMatchObject({ r: '\uFFFD' });
    const events = await server.database.db.query.runEvents.findMany({ where: { runId: runId!, eventType: 'tool.call' } });
    expect(events.map((e) => e.message)).toEqual(['m\uFFFD']);
  });
});
