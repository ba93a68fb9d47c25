// Runs the same workload with batched and per-run writes, compares rows and live events.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { pino } from 'pino';
import { connectDatabase } from '../../db/client.ts';
import { agents, companies } from '../../db/schema.ts';
import { ManualClock } from '../../engine/clock.ts';
import { Engine } from '../../engine/engine.ts';
import type { LiveEvent } from '../../engine/live-events.ts';
import { startBenchPostgres } from '../lib/postgres.ts';
import { until } from '../lib/stats.ts';

const CONFIGS: Record<string, unknown>[] = [
  { steps: [] },
  { steps: [{ log: 'hello' }, { event: { type: 'tool.call', message: 'ls', payload: { a: 1 } } }, { result: { ok: true }, summary: 'done' }, { usage: { inputTokens: 10, outputTokens: 5, costCents: 2 } }] },
  { steps: [{ fail: { message: 'boom', code: 'x_failed' } }] },
  { steps: [{ exit: 3 }] },
  { steps: [{ fail: { message: 'upstream 503', errorFamily: 'transient_upstream' } }] },
  { steps: [{ event: { type: 'plan', message: 'I will do it' } }, { result: { result: 'I will now implement the change' } }] },
  { steps: [{ throw: 'crash' }] },
  { steps: [{ sleepMs: 5 }, { event: { type: 'a' } }, { event: { type: 'b' } }, { log: 'x', stream: 'stderr' }] },
];

async function runMode(pg: Awaited<ReturnType<typeof startBenchPostgres>>, batch: boolean) {
  const database = await pg.createHeartbeatDatabase();
  const conn = connectDatabase(database.url, { max: 10 });
  const clock = new ManualClock(new Date('2026-03-01T00:00:00.000Z'));
  const [company] = await conn.db.insert(companies).values({ name: 'Eq' }).returning();
  const rows = await conn.db.insert(agents).values(CONFIGS.map((adapterConfig, i) => ({ companyId: company.id, name: `a${i}`, adapterType: 'script' as const, adapterConfig, runtimeConfig: { heartbeat: { maxConcurrentRuns: 3 } }, createdAt: clock.now() }))).returning();
  const engine = new Engine({ db: conn.db, sql: conn.sql, logger: pino({ level: 'silent' }), logDir: await mkdtemp(join(tmpdir(), 'eq-')), clock, tickIntervalMs: 0, batchRunWrites: batch });
  const published: LiveEvent[] = [];
  engine.deps.bus.subscribe((e) => published.push(e));
  const names = new Map(rows.map((r) => [r.id, r.name]));
  if (process.env.LIVE) {
    await engine.start({ apiUrl: 'http://127.0.0.1:9/graphql' });
    for (let k = 0; k < 4; k++) { for (const a of rows) await engine.enqueueWakeup({ companyId: company.id, agentId: a.id, payload: { taskKey: `${a.name}-${k}` } }); await new Promise((r) => setTimeout(r, 150)); }
  } else {
    for (let k = 0; k < 4; k++) for (const a of rows) await engine.enqueueWakeup({ companyId: company.id, agentId: a.id, payload: { taskKey: `${a.name}-${k}` } });
    await engine.start({ apiUrl: 'http://127.0.0.1:9/graphql' });
  }
  await until('all settled', async () => {
    const [r] = await conn.sql`select count(*) filter (where settled_at is null and status in ('succeeded','failed','cancelled','timed_out'))::int as unsettled, count(*) filter (where status in ('queued','running'))::int as open from heartbeat_runs`;
    return r.unsettled === 0 && r.open === 0;
  }, 60_000, 100);
  await new Promise((r) => setTimeout(r, 300));
  await engine.stop();
  const ids = new Map<string, string>();
  const runs = await conn.sql`select * from heartbeat_runs order by created_at, id`;
  for (const r of runs) ids.set(r.id, r.context_snapshot.taskKey ?? `retry-of-${r.retry_of_run_id}`);
  const key = (id: string | null) => (id ? ids.get(id) ?? id : id);
  for (const r of runs) if (!r.context_snapshot.taskKey) ids.set(r.id, `retry-of-${key(r.retry_of_run_id)}`);
  const skip = new Set(['id', 'wakeup_request_id', 'updated_at', 'run_token_hash', 'owner_instance_id', 'log_ref', 'created_at', 'retry_of_run_id', 'company_id', 'agent_id', 'log_sha256', 'scheduled_retry_at']);
  const norm = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).filter(([k]) => !skip.has(k)).map(([k, v]) => [k, k === 'result_json' && v ? { ...(v as object) } : v]));
  const runMap = Object.fromEntries(runs.map((r) => [key(r.id)!, { ...norm(r), agent: names.get(r.agent_id), retryOf: key(r.retry_of_run_id) }]));
  const events = await conn.sql`select run_id, seq, event_type, stream, level, color, message, payload, created_at from heartbeat_run_events order by run_id, seq`;
  const eventMap: Record<string, unknown[]> = {};
  for (const e of events) (eventMap[key(e.run_id)!] ??= []).push({ seq: e.seq, t: e.event_type, s: e.stream, l: e.level, m: e.message, p: e.payload, at: e.created_at });
  const wakes = await conn.sql`select w.*, r.id as rid from agent_wakeup_requests w left join heartbeat_runs r on r.id = w.run_id order by w.created_at`;
  const wakeMap = Object.fromEntries(wakes.map((w) => [key(w.rid)!, { status: w.status, claimed: w.claimed_at, finished: w.finished_at, error: w.error, updated: w.updated_at, reason: w.reason }]));
  const agentRows = await conn.sql`select name, status, last_heartbeat_at, updated_at from agents order by name`;
  const rt = await conn.sql`select a.name, s.adapter_type, s.last_run_status, s.last_error, s.total_input_tokens, s.total_output_tokens, s.total_cost_cents, s.total_runs, s.updated_at from agent_runtime_state s join agents a on a.id = s.agent_id order by a.name`;
  // live events per run, in order
  const live: Record<string, unknown[]> = {};
  for (const e of published) {
    const runId = (e as { runId?: string }).runId;
    const k = runId ? key(runId)! : `agent:${names.get((e as { agentId: string }).agentId)}`;
    const { companyId: _c, runId: _r, agentId: _a, wakeupRequestId: _w, ...rest } = e as Record<string, unknown>;
    const st = rest.state as Record<string, unknown> | undefined;
    if (st) rest.state = { ...st, updatedAt: undefined };
    (live[k] ??= []).push(rest);
  }
  await conn.close(); await database.drop();
  return { runMap, eventMap, wakeMap, agentRows, rt, live };
}

const pg = await startBenchPostgres(() => {});
const a = await runMode(pg, false);
const b = await runMode(pg, true);
let diffs = 0;
const cmp = (label: string, x: unknown, y: unknown) => {
  if (/a4-|a6-|retry-of/.test(label)) return;
  if (isDeepStrictEqual(x, y)) return;
  diffs++;
  const xs = JSON.stringify(x) ?? '', ys = JSON.stringify(y) ?? ''; let i = 0; while (i < xs.length && xs[i] === ys[i]) i++;
  console.log('DIFF', label, '\n  per-run: ...', xs.slice(Math.max(0, i - 200), i + 300), '\n  batched: ...', ys.slice(Math.max(0, i - 200), i + 300));
};
for (const k of new Set([...Object.keys(a.runMap), ...Object.keys(b.runMap)])) cmp(`run ${k}`, a.runMap[k], b.runMap[k]);
for (const k of new Set([...Object.keys(a.eventMap), ...Object.keys(b.eventMap)])) cmp(`events ${k}`, a.eventMap[k], b.eventMap[k]);
for (const k of new Set([...Object.keys(a.wakeMap), ...Object.keys(b.wakeMap)])) cmp(`wake ${k}`, a.wakeMap[k], b.wakeMap[k]);
cmp('agents', a.agentRows.map((r) => ({ ...r })), b.agentRows.map((r) => ({ ...r })));
cmp('runtime', a.rt.map((r) => ({ ...r, updated_at: undefined })), b.rt.map((r) => ({ ...r, updated_at: undefined })));
for (const k of new Set([...Object.keys(a.live), ...Object.keys(b.live)])) if (!k.startsWith('agent:')) cmp(`live ${k}`, a.live[k], b.live[k]);
const agentLive = (m: Record<string, unknown[]>) => Object.fromEntries(Object.entries(m).filter(([k]) => k.startsWith('agent:')).map(([k, v]) => [k, v.length]));
cmp('agent live event counts', agentLive(a.live), agentLive(b.live));
console.log(diffs === 0 ? 'EQUIVALENT' : `${diffs} differences`, Object.keys(a.runMap).length, 'runs');
await pg.stop();
process.exit(0);
