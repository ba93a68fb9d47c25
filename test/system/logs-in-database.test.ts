// Logs in the database (docs/engine.md §6.5): two instances with separate data directories on one
// database; a run executed on A has its whole log, windows of it and its tail readable on B; a large
// log is read by window without the server holding it; retention reports a log expired, not empty;
// a log written to a file before the upgrade is read, then imported.
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { heartbeatRuns, wakeupRequests } from '../../db/schema.ts';
import { importFileLogs } from '../../engine/runs/file-logs.ts';
import { createAgent, enqueue, gql, runFinished, runGid } from '../support/api.ts';
import { useInstancePair } from '../support/server.ts';
import { chattyLog } from '../support/agent-output.ts';

const CHATTY = fileURLToPath(new URL('../fixtures/agents/chatty-agent.mjs', import.meta.url));

const WINDOW = `query($id: ID!, $stream: LogStream, $offset: Float, $limit: Int) {
  run(id: $id) { logBytes logSha256 logExpiredAt logWindow(stream: $stream, offset: $offset, limitBytes: $limit) { text offset nextOffset totalBytes expired } } }`;
const LOG = `query($id: ID!, $stream: LogStream, $tail: Int) { run(id: $id) { log(stream: $stream, tailBytes: $tail) } }`;


describe('logs in the database', () => {
  const pair = useInstancePair();
  /** A query on B with A's key: the company and its keys are the database's, shared. */
  const onB = (query: string, variables: Record<string, unknown>) => gql(pair.b, query, variables, pair.a.adminKey);

  it('a run executed on A: its log, its windows and its tail are read on B', async () => {
    const { a } = pair;
    const lines = 3_000;
    const agentId = await createAgent(a, { adapterType: 'process', adapterConfig: { command: process.execPath, args: [CHATTY, String(lines)] } });
    const { runId } = await enqueue(a, { agentId });
    const run = await runFinished(a, runId!);
    expect(run.status).toBe('succeeded');
    expect(run.ownerInstanceId).toBe(a.app.engine.instanceId);
    // stdout and stderr interleave as the agent's pipes delivered them: compare each stream exactly,
    // and the whole log by its size and digest.
    const id = runGid(runId!);
    for (const stream of ['STDOUT', 'STDERR'] as const) {
      expect((await onB(LOG, { id, stream })).run.log).toBe(chattyLog(lines, stream === 'STDOUT' ? 'stdout' : 'stderr').replace(/\n$/, '\n'));
    }
    const whole: string = (await onB(LOG, { id })).run.log;
    const bytes = Buffer.byteLength(whole);
    expect(bytes).toBe(Buffer.byteLength(chattyLog(lines, null)));
    const { run: stored } = await onB(WINDOW, { id, offset: 0, limit: 1 });
    expect(stored).toMatchObject({ logBytes: bytes, logSha256: createHash('sha256').update(whole).digest('hex'), logExpiredAt: null });

    // Paged by windows on B: every window ends on a character, the pages join into the whole log.
    let offset = 0;
    let paged = '';
    for (let page = 0; offset < bytes; page++) {
      const { logWindow } = (await onB(WINDOW, { id, offset, limit: 7_001 })).run;
      expect(logWindow).toMatchObject({ offset, totalBytes: bytes, expired: false });
      expect(logWindow.nextOffset - logWindow.offset).toBe(Buffer.byteLength(logWindow.text));
      expect(logWindow.nextOffset - logWindow.offset).toBeLessThanOrEqual(7_001);
      paged += logWindow.text;
      offset = logWindow.nextOffset;
      expect(page).toBeLessThan(100);
    }
    expect(paged).toBe(whole);
    // The tail, and a window of one stream from inside a character (it starts at the next one).
    const tail: string = (await onB(LOG, { id, tail: 100 })).run.log;
    expect(whole.endsWith(tail)).toBe(true);
    expect(Buffer.byteLength(tail)).toBeLessThanOrEqual(100);
    const stdout = chattyLog(lines, 'stdout');
    const inside = Buffer.from(stdout).indexOf('é') + 1;
    const { logWindow } = (await onB(WINDOW, { id, stream: 'STDOUT', offset: inside, limit: 20 })).run;
    expect(logWindow.offset).toBe(inside + 1);
    expect(stdout.startsWith(logWindow.text, Buffer.from(stdout).subarray(0, inside + 1).toString().length)).toBe(true);
  });

  it('a 200 MB log is read window by window without the server holding it', async () => {
    const { a } = pair;
    const db = a.database.db;
    const agentId = await createAgent(a, { adapterConfig: { steps: [] } });
    const [wake] = await db.insert(wakeupRequests).values({ companyId: a.companyId, agentId, source: 'on_demand', status: 'completed' }).returning();
    const now = new Date();
    const [run] = await db
      .insert(heartbeatRuns)
      .values({ companyId: a.companyId, agentId, status: 'succeeded', wakeupRequestId: wake.id, logStore: 'postgres', logRef: 'big', startedAt: now, finishedAt: now, settledAt: now })
      .returning();
    const piece = 64 * 1024;
    const pieces = 3_200; // 200 MiB
    await db.execute(sql`
      insert into heartbeat_run_log_chunks (run_id, company_id, log_offset, stream, stream_offset, bytes, text)
      select ${run.id}::uuid, ${a.companyId}::uuid, g * ${piece}, 'stdout', g * ${piece}, ${piece}, repeat(chr(97 + (g % 26)), ${piece})
      from generate_series(0, ${pieces - 1}) g`);
    const id = runGid(run.id);
    const total = piece * pieces;
    // What the server keeps, not what it has yet to collect: measured after a full collection.
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const retained = () => {
      gc();
      const usage = process.memoryUsage();
      return usage.heapUsed + usage.arrayBuffers;
    };
    const before = retained();
    const samples: number[] = [];
    // And at any moment (a whole-log read would take hundreds of MB for each request, even briefly).
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = 0;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss - rssBefore)), 5);
    let offset = 0;
    let windows = 0;
    while (offset < total) {
      const { logWindow } = (await onB(WINDOW, { id, offset, limit: 1024 * 1024 })).run;
      expect(logWindow.totalBytes).toBe(total);
      if (windows % 20 === 0) expect(logWindow.text.slice(0, 1)).toBe(String.fromCharCode(97 + ((offset / piece) % 26)));
      offset = logWindow.nextOffset;
      windows += 1;
      if (windows % 10 === 0) samples.push(retained() - before);
    }
    clearInterval(sampler);
    expect(windows).toBe(200);
    expect(rssPeak).toBeLessThan(128 * 1024 * 1024);
    // Reading it costs the server a window's worth and its pool's connection buffers (each grown to
    // the largest answer it read, 1 MiB and a bit), once: what it keeps does not grow with the log
    // (the least kept over the last samples against the first, all connections used), and is never
    // near its 200 MiB. (A sample may catch the other instance's loop at work: the least is compared.)
    const mib = 1024 * 1024;
    const least = (values: number[]) => Math.min(...values);
    expect(least(samples.slice(-5)) - least(samples.slice(2, 7))).toBeLessThan(4 * mib);
    expect(Math.max(...samples)).toBeLessThan(64 * mib);
  }, 120_000);

  it('a log removed by retention is expired, not empty', async () => {
    const { a } = pair;
    const agentId = await createAgent(a, { adapterConfig: { steps: [{ log: 'soon gone' }] } });
    const { runId } = await enqueue(a, { agentId });
    await runFinished(a, runId!);
    const id = runGid(runId!);
    expect((await gql(a, LOG, { id })).run.log).toBe('soon gone\n');
    const { expireLogs } = await import('../../engine/runs/log-retention.ts');
    // Kept for a day: not yet; a day and a minute later, gone.
    expect(await expireLogs(a.app.engine.deps, new Date(Date.now() + 60_000), 1)).toBe(0);
    expect(await expireLogs(a.app.engine.deps, new Date(Date.now() + 86_460_000), 1)).toBeGreaterThanOrEqual(1);
    const { run } = await gql(a, WINDOW, { id, offset: 0 });
    expect(run.logExpiredAt).not.toBeNull();
    expect(run.logWindow).toMatchObject({ text: '', expired: true });
    expect((await gql(a, LOG, { id })).run.log).toBeNull();
    expect(await a.database.db.query.runLogChunks.findMany({ where: { runId: runId! } })).toEqual([]);
  });

  it('a log written to a file before the upgrade is read from it, then imported', async () => {
    const { a } = pair;
    const db = a.database.db;
    const agentId = await createAgent(a, { adapterConfig: { steps: [] } });
    const [wake] = await db.insert(wakeupRequests).values({ companyId: a.companyId, agentId, source: 'on_demand', status: 'completed' }).returning();
    const now = new Date();
    const logRef = `${a.companyId}/legacy-run.ndjson`;
    const [run] = await db
      .insert(heartbeatRuns)
      .values({ companyId: a.companyId, agentId, status: 'succeeded', wakeupRequestId: wake.id, logStore: 'file', logRef, logBytes: 1, startedAt: now, finishedAt: now, settledAt: now })
      .returning();
    const path = join(a.app.engine.deps.settings.logDir, logRef);
    await mkdir(dirname(path), { recursive: true });
    const entries = [
      { stream: 'stdout', chunk: 'first line\n' },
      { stream: 'stderr', chunk: 'a warning\n' },
      { stream: 'stdout', chunk: 'second line ✓\n' },
    ];
    await writeFile(path, entries.map((e) => JSON.stringify({ ts: now.toISOString(), ...e }) + '\n').join(''));
    const id = runGid(run.id);
    const whole = 'first line\na warning\nsecond line ✓\n';
    expect((await gql(a, LOG, { id })).run.log).toBe(whole);
    expect(await importFileLogs(a.app.engine.deps)).toBeGreaterThanOrEqual(1);
    const imported = await db.query.heartbeatRuns.findFirst({ where: { id: run.id } });
    expect(imported).toMatchObject({ logStore: 'postgres', logBytes: Buffer.byteLength(whole), logSha256: createHash('sha256').update(whole).digest('hex') });
    expect((await gql(a, LOG, { id })).run.log).toBe(whole);
    expect((await gql(a, LOG, { id, stream: 'STDERR' })).run.log).toBe('a warning\n');
    // Imported once: a second pass finds nothing to do.
    expect(await importFileLogs(a.app.engine.deps)).toBe(0);
  });
});
