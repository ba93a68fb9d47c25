// Agent output at scale: many `process` runs at once, each an agent (bench/agents/chatty.mjs) that
// prints JSON event lines on a steady schedule (a burst every 100 ms), while graphql-ws clients in
// this process watch every run through `runEvents(runId:, afterSeq: 0)`, on a Heartbeat server in
// its own process.
//
// Phases at full size (one server per round; the durations are below, at SECONDS):
// - 1x, the target's size: 100 runs x 50 lines/s (5,000 lines/s), 10 subscribers per run (1,000);
// - 4x, until something gives: 100 runs x 200 lines/s (20,000 lines/s), the same 1,000 subscribers;
// - 4x-ingest: the same without subscribers, what storing the lines costs on its own;
// - text: 100 runs x 50 plain-text lines/s (a coding CLI's output) into the run logs.
// `--quick`: 5 runs x 20 lines/s for 3 s with 20 subscribers, then 5 runs of text for 2 s.
//
// Each phase: agents are created, one run each is woken (claimed and started at once: each agent
// process waits for a go file), every subscriber subscribes and gets the run's first stored event,
// then the go file is created and the agents print. Checked: every line is stored (each run's events
// in the database: N ticks, payload seq 0..N-1 in seq order) and delivered to every subscriber (all
// N, event seq and payload seq strictly increasing); a text run's logBytes and stored pieces equal
// the bytes it printed. A broken pipeline (a line lost, duplicated or out of order) fails the bench,
// except in the 4x phases, which record what gave. Measured: line -> subscriber latency (from the
// `at` the agent stamped when it wrote the line to the client's receipt, same host and clock),
// due -> subscriber (adds the agent's lag behind its schedule), line -> stored (the event's
// created_at), CPU per 1,000 lines of the server, PostgreSQL, the bench's clients and the agents,
// WAL per 1,000 lines, and a per-second timeline of the CPU, to tell what gave first: latency,
// storing, the server's or the machine's CPU, backpressure (lines an agent wrote while its pipe was
// full: the adapter stops reading while its run has over 2,000 events unwritten), lost lines or
// subscribers cut off. The answer goes into the notes.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { connectDatabase } from '../../db/client.ts';
import { agents } from '../../db/schema.ts';
import { generateApiKey } from '../../engine/index.ts';
import { encodeGlobalId } from '../../schema/global-id.ts';
import { type ChildServer, startChild } from '../lib/child.ts';
import { processCpuMs, processTreeCpuMs, selfCpuMs } from '../lib/cpu.ts';
import type { Scenario, ScenarioContext } from '../lib/scenario.ts';
import { nowMs, sleep, until } from '../lib/stats.ts';

const SCENARIO = 'agent-output';
const AGENT_SCRIPT = fileURLToPath(new URL('../agents/chatty.mjs', import.meta.url));
const QUERY = 'subscription Watch($run: ID!, $after: Int) { runEvents(runId: $run, afterSeq: $after) { seq eventType payload } }';
const CONNECT_CONCURRENCY = 100;
/** The bar of the target (targets.ts): line -> subscriber p99, in ms. */
const AGENT_OUTPUT_P99_BAR_MS = 100;
/** The agents print a burst of lines every this many milliseconds (chatty.mjs explains why). */
const AGENT_TICK_MS = 100;
/** A line written this much later than its schedule wanted: its agent was starved of CPU. */
const LATE_MS = 100;
/** Latency timeline windows (by the line's due time), seconds. */
const WINDOW_S = 5;
/** Machine CPU this busy (both cores) in a second counts as saturated. */
const SATURATED = 0.95;
/** The server (one Node thread) this busy in a second counts as saturated. */
const SERVER_SATURATED = 0.9;
/** A subscriber cut off (SLOW_CONSUMER, a closed socket) subscribes again from its last seq, this many times at most. */
const MAX_RESUMES = 20;

interface Phase {
  /** Short name (BENCH_AGENT_OUTPUT_PHASES picks by it); with the sizes, the prefix of the phase's metric names. */
  name: string;
  mode: 'json' | 'text';
  runs: number;
  rate: number;
  seconds: number;
  /** Subscribers per run (json only). */
  perRun: number;
  /** Lost or disordered lines fail the bench (false: the "until something gives" phase records them). */
  strict: boolean;
}

interface Watcher {
  run: number;
  client: Client;
  lastSeq: number;
  lastTick: number;
  ticks: number;
  disorder: number;
  errors: number;
  resumes: number;
  cut: boolean;
  ready: boolean;
  done: boolean;
  lastError: string | null;
}

/** Nearest-rank percentile of a sorted typed array. */
const pct = (sorted: Float64Array, p: number) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];

/** Busy and total CPU ticks of the whole machine (all cores), from /proc/stat. */
function machineTicks(): { busy: number; total: number } | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    return { busy: total - fields[3] - fields[4], total };
  } catch {
    return null;
  }
}

/** Samples every second what the machine, the server and PostgreSQL spent: the phase's timeline. */
function cpuTimeline(ctx: ScenarioContext, serverPid: number) {
  const samples: Array<{ t: number; machine: number; server: number; postgres: number | null }> = [];
  let last = { at: nowMs(), machine: machineTicks(), server: processCpuMs(serverPid), postgres: ctx.pg.cpuMs() };
  const t0 = last.at;
  const timer = setInterval(() => {
    const now = { at: nowMs(), machine: machineTicks(), server: processCpuMs(serverPid), postgres: ctx.pg.cpuMs() };
    const wall = now.at - last.at;
    if (now.machine && last.machine && now.server !== null && last.server !== null) {
      samples.push({
        t: (now.at - t0) / 1000,
        machine: (now.machine.busy - last.machine.busy) / Math.max(1, now.machine.total - last.machine.total),
        server: (now.server - last.server) / wall,
        postgres: now.postgres !== null && last.postgres !== null ? (now.postgres - last.postgres) / wall : null,
      });
    }
    last = now;
  }, 1000);
  return {
    samples,
    stop: () => clearInterval(timer),
  };
}

async function phaseRun(ctx: ScenarioContext, server: ChildServer, databaseUrl: string, key: string, phase: Phase, round: number): Promise<void> {
  const { mode, runs, rate, seconds, perRun } = phase;
  const label = phaseLabel(phase);
  const lines = Math.round(rate * seconds);
  const subscribers = mode === 'json' ? runs * perRun : 0;
  const db = connectDatabase(databaseUrl, { max: 2, applicationName: 'heartbeat-bench-observer' });
  const goDir = await mkdtemp(join(tmpdir(), 'heartbeat-bench-go-'));
  const goFile = join(goDir, 'go');
  const watchers: Watcher[] = [];
  let sampler: ReturnType<typeof cpuTimeline> | null = null;
  try {
    const companyId = String(server.ready.companyId);
    const rows = await db.db
      .insert(agents)
      .values(
        Array.from({ length: runs }, (_, i) => ({
          companyId,
          name: `bench-chatty-r${round}-${label.replace(/\W+/g, '-')}-${i}`,
          adapterType: 'process' as const,
          adapterConfig: { command: process.execPath, args: [AGENT_SCRIPT, mode, String(rate), String(seconds), goFile, String(AGENT_TICK_MS)] },
          runtimeConfig: { heartbeat: { maxConcurrentRuns: 1, wakeOnDemand: true } },
        })),
      )
      .returning({ id: agents.id });
    const setupStart = nowMs();
    const runIds = await Promise.all(rows.map((row) => server.request<string | null>('wake', { agentId: row.id })));
    if (runIds.some((id) => !id)) throw new Error(`${SCENARIO}: a wakeup made no run`);
    const ids = runIds as string[];

    // Latency samples, one per line per subscriber.
    const capacity = subscribers * lines;
    const fromAt = new Float64Array(capacity);
    const fromDue = new Float64Array(capacity);
    const dueAt = new Float32Array(capacity);
    let n = 0;
    let extra = 0;
    let start = Number.POSITIVE_INFINITY;
    let lastDelivery = 0;
    const wsUrl = String(server.ready.graphqlUrl).replace(/^http/, 'ws');

    const subscribe = (w: Watcher) => {
      w.cut = false;
      w.client.subscribe<{ runEvents: { seq: number; eventType: string; payload: { seq: number; at: number; due: number } | null } }>(
        { query: QUERY, variables: { run: encodeGlobalId('HeartbeatRun', ids[w.run]), after: Math.max(0, w.lastSeq) } },
        {
          next: (message) => {
            if (!message.data) {
              w.errors += 1;
              w.cut = true;
              w.lastError = message.errors?.map((e) => e.message).join('; ') ?? 'no data';
              return;
            }
            const event = message.data.runEvents;
            w.ready = true;
            if (event.seq <= w.lastSeq) w.disorder += 1;
            w.lastSeq = event.seq;
            if (event.eventType !== 'bench.tick' || !event.payload) return;
            const t = nowMs();
            const { seq, at, due } = event.payload;
            if (seq <= w.lastTick) w.disorder += 1;
            w.lastTick = seq;
            w.ticks += 1;
            lastDelivery = t;
            if (n < capacity) {
              fromAt[n] = t - at;
              fromDue[n] = t - due;
              dueAt[n] = (due - start) / 1000;
              n += 1;
            } else extra += 1;
          },
          error: (error) => {
            w.errors += 1;
            w.cut = true;
            w.lastError = error instanceof Error ? error.message : String((error as { reason?: string })?.reason ?? error);
            // A closed socket ends the subscription with an error, never a completion.
            if (w.resumes < MAX_RESUMES) {
              w.resumes += 1;
              subscribe(w);
            } else w.done = true;
          },
          complete: () => {
            // Cut off with a resume point (SLOW_CONSUMER): subscribe again from the last seq seen.
            if (w.cut && w.resumes < MAX_RESUMES) {
              w.resumes += 1;
              subscribe(w);
            } else w.done = true;
          },
        },
      );
    };

    if (subscribers > 0) {
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(CONNECT_CONCURRENCY, subscribers) }, async () => {
          while (next < subscribers) {
            const i = next++;
            const w: Watcher = {
              run: i % runs,
              client: createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${key}` }, retryAttempts: 0, keepAlive: 0, lazy: true }),
              lastSeq: 0,
              lastTick: -1,
              ticks: 0,
              disorder: 0,
              errors: 0,
              resumes: 0,
              cut: false,
              ready: false,
              done: false,
              lastError: null,
            };
            watchers.push(w);
            subscribe(w);
            // Live: it has the run's stored events (`run started`), so it now waits for new ones.
            await until('a subscriber to get its run\'s first event', () => w.ready || w.done, 60_000, 5);
          }
        }),
      );
      ctx.log(`${SCENARIO} round ${round} ${label}: ${subscribers} subscribers live after ${((nowMs() - setupStart) / 1000).toFixed(1)} s`);
      const dead = watchers.filter((w) => !w.ready);
      if (dead.length > 0) throw new Error(`${SCENARIO}: ${dead.length} subscribers never got an event (${dead[0].lastError})`);
    }

    // Go: from here to the last run settled (and every subscriber completed) is the measured window.
    const cpuParts = {
      server: () => processCpuMs(server.pid),
      postgres: () => ctx.pg.cpuMs(),
      clients: () => selfCpuMs(),
      // The agents are the server's children: its tree (exited children included) minus itself.
      agents: () => {
        const tree = processTreeCpuMs(server.pid);
        const own = processCpuMs(server.pid);
        return tree === null || own === null ? null : tree - own;
      },
    };
    const cpuBefore = Object.fromEntries(Object.entries(cpuParts).map(([part, read]) => [part, read()]));
    const walBefore = await ctx.pg.walBytes();
    sampler = cpuTimeline(ctx, server.pid);
    start = nowMs();
    await writeFile(goFile, '');
    const settledCount = async () =>
      (await db.sql<{ n: number }[]>`select count(*)::int as n from heartbeat_runs where id = any(${ids}::uuid[]) and settled_at is not null`)[0].n;
    await until('the runs to settle', async () => (await settledCount()) === runs, (seconds + 300) * 1000, 250);
    const settledAt = nowMs();
    await until('the subscribers to complete', () => watchers.every((w) => w.done), 120_000, 50).catch(() => null);
    const end = nowMs();
    sampler.stop();
    const walBytes = (await ctx.pg.walBytes()) - walBefore;
    const cpu: Record<string, number> = {};
    for (const [part, read] of Object.entries(cpuParts)) {
      const after = read();
      const before = cpuBefore[part];
      if (after !== null && before !== null && before !== undefined) cpu[part] = after - before;
    }

    // What the database holds: the runs' outcomes and each run's tick events in seq order.
    const outcomes = await db.sql<{ id: string; status: string; error: string | null; result: Record<string, number> | null; log_bytes: string | null; pieces: string | null }[]>`
      select r.id, r.status, r.error, r.result_json as result, r.log_bytes,
        (select coalesce(sum(c.bytes), 0) from heartbeat_run_log_chunks c where c.run_id = r.id) as pieces
      from heartbeat_runs r where r.id = any(${ids}::uuid[])`;
    const stored = await db.sql<{ run_id: string; n: number; lo: number | null; hi: number | null; disorder: number }[]>`
      select run_id, count(*)::int as n, min(ps) as lo, max(ps) as hi, count(*) filter (where ps <= prev)::int as disorder
      from (select run_id, (payload->>'seq')::int as ps, lag((payload->>'seq')::int) over (partition by run_id order by seq) as prev
            from heartbeat_run_events where run_id = any(${ids}::uuid[]) and event_type = 'bench.tick') t
      group by run_id`;
    const [toStored] = await db.sql<{ p50: number | null; p99: number | null }[]>`
      select percentile_disc(0.5) within group (order by d) as p50, percentile_disc(0.99) within group (order by d) as p99
      from (select extract(epoch from created_at) * 1000 - (payload->>'at')::float8 as d
            from heartbeat_run_events where run_id = any(${ids}::uuid[]) and event_type = 'bench.tick') t`;

    const problems: string[] = [];
    const failedRuns = outcomes.filter((o) => o.status !== 'succeeded');
    if (failedRuns.length > 0) problems.push(`${failedRuns.length} runs did not succeed (${failedRuns[0].status}: ${failedRuns[0].error})`);
    const printed = outcomes.reduce((sum, o) => sum + Number(o.result?.lines ?? 0), 0);
    const storedByRun = new Map(stored.map((s) => [s.run_id, s]));
    let storedLines = 0;
    let storedBad = 0;
    for (const id of ids) {
      const s = storedByRun.get(id);
      storedLines += mode === 'json' ? (s?.n ?? 0) : 0;
      if (mode === 'json' && (!s || s.n !== lines || s.lo !== 0 || s.hi !== lines - 1 || s.disorder > 0)) storedBad += 1;
    }
    if (mode === 'json' && storedBad > 0) problems.push(`${storedBad} runs' stored events are not ticks 0..${lines - 1} in order (stored ${storedLines} of ${runs * lines})`);

    const sum = (key: string) => outcomes.reduce((total, o) => total + Number(o.result?.[key] ?? 0), 0);
    const earliest = (key: string) => Math.min(Number.POSITIVE_INFINITY, ...outcomes.map((o) => (o.result?.[key] == null ? Number.POSITIVE_INFINITY : Number(o.result[key]))));
    const agentLag = Math.max(0, ...outcomes.map((o) => Number(o.result?.maxLagMs ?? 0)));
    const lateLines = sum('lateLines');
    const heldLines = sum('heldLines');
    const maxBuffered = Math.max(0, ...outcomes.map((o) => Number(o.result?.maxBufferedBytes ?? 0)));
    const wall = (end - start) / 1000;
    const totalLines = runs * lines;
    const per1k = (ms: number | undefined) => (ms === undefined ? undefined : (ms / totalLines) * 1000);
    const record = (name: string, unit: string, better: 'higher' | 'lower', value: number | undefined) => {
      if (value !== undefined && Number.isFinite(value)) ctx.results.record(SCENARIO, `${label}: ${name}`, unit, better, 'heartbeat', value);
    };
    for (const [part, ms] of Object.entries(cpu)) record(`CPU per 1,000 lines, ${part}`, 'ms', 'lower', per1k(ms));
    record('WAL per 1,000 lines', 'KiB', 'lower', (walBytes / totalLines) * 1000 / 1024);
    record('go -> last run settled', 's', 'lower', (settledAt - start) / 1000);
    record('agents: lines written while the pipe was full (held by backpressure)', 'lines', 'lower', heldLines);
    record('agents: a line written late by, at most (the agent starved of CPU)', 'ms', 'lower', agentLag);
    const peak = sampler.samples.reduce((max, s) => Math.max(max, s.machine), 0);
    const busy = sampler.samples.length ? sampler.samples.reduce((sum, s) => sum + s.machine, 0) / sampler.samples.length : Number.NaN;
    record('machine CPU busy, mean over the window', '%', 'lower', busy * 100);

    const serverShare = sampler.samples.length ? sampler.samples.reduce((total, x) => total + x.server, 0) / sampler.samples.length : Number.NaN;
    record('server CPU, share of one core (mean over the window)', '%', 'lower', serverShare * 100);

    let summary = '';
    let gave = '';
    if (mode === 'json') {
      record('lines stored / printed', '%', 'higher', (100 * storedLines) / totalLines);
      record('line -> stored p50', 'ms', 'lower', toStored?.p50 ?? undefined);
      record('line -> stored p99', 'ms', 'lower', toStored?.p99 ?? undefined);
      // The timeline: whichever of these came first (seconds after go) is what gave first.
      const events: Array<[number, string]> = [];
      let delivery = '';
      if (subscribers > 0) {
        const expected = subscribers * lines;
        const delivered = watchers.reduce((total, w) => total + w.ticks, 0);
        const short = watchers.filter((w) => w.ticks !== lines);
        const disordered = watchers.filter((w) => w.disorder > 0);
        const resumed = watchers.reduce((total, w) => total + w.resumes, 0);
        const unfinished = watchers.filter((w) => !w.done);
        if (short.length > 0) problems.push(`${short.length} subscribers got the wrong number of lines (${delivered} of ${expected}; e.g. ${short[0].ticks} of ${lines}${short[0].lastError ? `, ${short[0].lastError}` : ''})`);
        if (disordered.length > 0) problems.push(`${disordered.length} subscribers got events out of order`);
        if (unfinished.length > 0) problems.push(`${unfinished.length} subscriptions did not complete after their run settled`);
        const a = fromAt.subarray(0, n).sort();
        const d = fromDue.subarray(0, n).sort();
        record('lines delivered / expected', '%', 'higher', (100 * delivered) / expected);
        record('line -> subscriber p50', 'ms', 'lower', pct(a, 50));
        record('line -> subscriber p99', 'ms', 'lower', pct(a, 99));
        record('line -> subscriber max', 'ms', 'lower', pct(a, 100));
        record('due -> subscriber p99', 'ms', 'lower', pct(d, 99));
        record('subscribers cut off and resumed', 'count', 'lower', resumed);
        record('last line delivered, after the agents\' last', 's', 'lower', (lastDelivery - start) / 1000 - seconds);
        const windows = Math.ceil(seconds / WINDOW_S);
        const byWindow: number[][] = Array.from({ length: windows }, () => []);
        for (let i = 0; i < n; i++) byWindow[Math.min(windows - 1, Math.max(0, Math.floor(dueAt[i] / WINDOW_S)))].push(fromAt[i]);
        const windowP99 = byWindow.map((w) => (w.length ? pct(Float64Array.from(w).sort(), 99) : Number.NaN));
        const firstSlow = windowP99.findIndex((p) => p > AGENT_OUTPUT_P99_BAR_MS);
        if (firstSlow >= 0) events.push([firstSlow * WINDOW_S, `line -> subscriber p99 over ${AGENT_OUTPUT_P99_BAR_MS} ms from the ${firstSlow * WINDOW_S}-${(firstSlow + 1) * WINDOW_S} s window (${windowP99[firstSlow].toFixed(0)} ms; ${windowP99.map((p) => (Number.isNaN(p) ? '-' : p.toFixed(0))).join(' / ')} ms per ${WINDOW_S} s)`]);
        if (delivered < expected) events.push([Number.POSITIVE_INFINITY, `lines lost on the way to subscribers (${delivered} of ${expected} delivered)`]);
        if (resumed > 0) events.push([Number.POSITIVE_INFINITY, `${resumed} subscriptions cut off (SLOW_CONSUMER or closed) and resumed`]);
        delivery =
          `, delivered ${delivered}/${expected}${extra ? ` (+${extra} beyond)` : ''}, resumed ${resumed}, ` +
          `line -> subscriber p50 ${pct(a, 50).toFixed(1)} / p99 ${pct(a, 99).toFixed(1)} / max ${pct(a, 100).toFixed(0)} ms, due -> subscriber p99 ${pct(d, 99).toFixed(1)} ms`;
      }
      if (Number(toStored?.p99) > AGENT_OUTPUT_P99_BAR_MS) events.push([Number.POSITIVE_INFINITY, `storing fell behind: line -> stored p50 ${Number(toStored?.p50).toFixed(0)} ms, p99 ${Number(toStored?.p99).toFixed(0)} ms`]);
      const serverBusy = sampler.samples.find((x) => x.server >= SERVER_SATURATED);
      if (serverBusy) events.push([serverBusy.t - 1, `the server's CPU: ${(serverBusy.server * 100).toFixed(0)}% of a core from ${(serverBusy.t - 1).toFixed(0)} s, ${(serverShare * 100).toFixed(0)}% on average`]);
      const machineBusy = sampler.samples.find((x) => x.machine >= SATURATED);
      if (machineBusy) events.push([machineBusy.t - 1, `the machine's CPU: ${(machineBusy.machine * 100).toFixed(0)}% of both cores from ${(machineBusy.t - 1).toFixed(0)} s (server ${(machineBusy.server * 100).toFixed(0)}% of a core, PostgreSQL ${((machineBusy.postgres ?? 0) * 100).toFixed(0)}%)`]);
      const firstHeld = earliest('firstHeldS');
      if (Number.isFinite(firstHeld)) events.push([firstHeld, `backpressure: lines written while the pipe was full from ${firstHeld.toFixed(1)} s (${heldLines.toLocaleString('en-US')} lines, up to ${(maxBuffered / 1024).toFixed(0)} KiB waiting in an agent)`]);
      // A few lines late at the start (100 processes woken at once) are the harness's, not news.
      const firstLate = earliest('firstLateS');
      if (lateLines > totalLines / 100) events.push([firstLate, `the agents starved of CPU: lines written over ${LATE_MS} ms after their time from ${firstLate.toFixed(1)} s (${lateLines.toLocaleString('en-US')} lines, up to ${agentLag.toFixed(0)} ms)`]);
      if (storedLines < totalLines) events.push([Number.POSITIVE_INFINITY, `lines lost before the database (${storedLines} of ${totalLines} stored)`]);
      events.sort((x, y) => x[0] - y[0]);
      gave = events.length === 0 ? 'nothing gave' : `gave first: ${events[0][1]}${events.length > 1 ? `; then ${events.slice(1).map((e) => e[1]).join('; ')}` : ''}`;
      summary = `stored ${storedLines}/${totalLines}${delivery}, line -> stored p50 ${Number(toStored?.p50).toFixed(1)} / p99 ${Number(toStored?.p99).toFixed(1)} ms`;
    } else {
      const printedBytes = outcomes.reduce((sum, o) => sum + Number(o.result?.bytes ?? 0), 0);
      const logBytes = outcomes.reduce((sum, o) => sum + Number(o.log_bytes ?? 0), 0);
      const pieces = outcomes.reduce((sum, o) => sum + Number(o.pieces ?? 0), 0);
      const mismatched = outcomes.filter((o) => Number(o.log_bytes ?? 0) !== Number(o.result?.bytes ?? -1) || Number(o.pieces ?? 0) !== Number(o.log_bytes ?? 0));
      if (printed !== totalLines) problems.push(`agents reported ${printed} lines printed, not ${totalLines}`);
      if (mismatched.length > 0) problems.push(`${mismatched.length} runs' logs do not hold what they printed (logBytes ${logBytes}, stored pieces ${pieces}, printed ${printedBytes})`);
      record('log bytes stored / printed', '%', 'higher', (100 * pieces) / Math.max(1, printedBytes));
      summary = `printed ${printedBytes.toLocaleString('en-US')} B in ${printed} lines, logBytes ${logBytes.toLocaleString('en-US')} B, stored pieces ${pieces.toLocaleString('en-US')} B`;
    }
    // Per WINDOW_S seconds of the window: machine busy % (both cores) / server % of a core / PostgreSQL % of a core.
    const cpuWindows: string[] = [];
    for (let from = 0; from < sampler.samples.length; from += WINDOW_S) {
      const chunk = sampler.samples.slice(from, from + WINDOW_S);
      const mean = (pick: (x: (typeof chunk)[number]) => number) => (100 * chunk.reduce((total, x) => total + pick(x), 0)) / chunk.length;
      cpuWindows.push(`${mean((x) => x.machine).toFixed(0)}/${mean((x) => x.server).toFixed(0)}/${mean((x) => x.postgres ?? 0).toFixed(0)}`);
    }
    const cpuText = Object.entries(cpu).map(([part, ms]) => `${part} ${per1k(ms)!.toFixed(1)}`).join(', ');
    ctx.log(
      `${SCENARIO} round ${round} ${label}: ${summary}; CPU ms per 1,000 lines: ${cpuText}; WAL ${((walBytes / totalLines) * 1000 / 1024).toFixed(0)} KiB per 1,000 lines; ` +
        `machine CPU mean ${(busy * 100).toFixed(0)}% (peak ${(peak * 100).toFixed(0)}%); lines held on a full pipe ${heldLines}, slowest line ${agentLag.toFixed(0)} ms late; go -> settled ${((settledAt - start) / 1000).toFixed(1)} s of ${wall.toFixed(1)} s; ` +
        `CPU per ${WINDOW_S} s, machine % / server % of a core / PostgreSQL %: ${cpuWindows.join(' ')}${gave ? `; ${gave}` : ''}`,
    );
    if (gave) ctx.results.note(SCENARIO, `round ${round}, ${label}, ${seconds} s: ${gave}.`);
    if (problems.length > 0) {
      const text = `${label}: ${problems.join('; ')}`;
      if (phase.strict) throw new Error(`${SCENARIO}: ${text}`);
      ctx.log(`${SCENARIO} round ${round} ${text}`);
    }
  } finally {
    sampler?.stop();
    await Promise.allSettled(watchers.map((w) => w.client.dispose()));
    await db.close();
    await rm(goDir, { recursive: true, force: true });
  }
}

/** The phase's sizes: the prefix of its metric names (no duration: the bench may choose another). */
const phaseLabel = (p: Phase) =>
  `${p.name}: ${p.runs} runs x ${p.rate} lines/s${p.mode === 'text' ? ', plain text' : p.perRun > 0 ? `, ${(p.runs * p.perRun).toLocaleString('en-US')} subscribers` : ', no subscribers'}`;

/**
 * Seconds the agents print for at full size. The brief's size is 60 s at 1x, but the server falls
 * behind from the first second there (every second of output took about 2.5 s to deliver: 60 s made
 * a 3.5-minute phase, and 4x would take over 10 minutes), so the phases are short enough for a round
 * to take about 2 minutes. BENCH_AGENT_OUTPUT_SECONDS=60 sets every phase to 60 s;
 * BENCH_AGENT_OUTPUT_PHASES=1x,4x picks phases by name; BENCH_AGENT_OUTPUT_RATE=1 sets the lines per
 * second of each run in the 1x phase (to see what 1,000 subscribers cost at low rates).
 */
const SECONDS = { '1x': 15, '4x': 5, '4x-ingest': 10, text: 10 } as const;

function phases(quick: boolean): Phase[] {
  if (quick) {
    return [
      { name: 'quick', mode: 'json', runs: 5, rate: 20, seconds: 3, perRun: 4, strict: true },
      { name: 'quick text', mode: 'text', runs: 5, rate: 20, seconds: 2, perRun: 0, strict: true },
    ];
  }
  const override = process.env.BENCH_AGENT_OUTPUT_SECONDS ? Number(process.env.BENCH_AGENT_OUTPUT_SECONDS) : undefined;
  const all: Phase[] = [
    // The brief's size.
    { name: '1x', mode: 'json', runs: 100, rate: Number(process.env.BENCH_AGENT_OUTPUT_RATE ?? 50), seconds: override ?? SECONDS['1x'], perRun: 10, strict: true },
    // Until something gives: four times the lines of each run, the same runs and subscribers.
    { name: '4x', mode: 'json', runs: 100, rate: 200, seconds: override ?? SECONDS['4x'], perRun: 10, strict: false },
    // The same without subscribers: what storing the lines alone costs, and whether it keeps up.
    { name: '4x-ingest', mode: 'json', runs: 100, rate: 200, seconds: override ?? SECONDS['4x-ingest'], perRun: 0, strict: false },
    // A coding CLI's plain output: every byte in the run logs.
    { name: 'text', mode: 'text', runs: 100, rate: 50, seconds: override ?? SECONDS.text, perRun: 0, strict: true },
  ];
  const picked = process.env.BENCH_AGENT_OUTPUT_PHASES?.split(',').map((name) => name.trim());
  return picked ? all.filter((p) => picked.includes(p.name)) : all;
}

export const agentOutputScenario: Scenario = {
  name: SCENARIO,
  async run(ctx) {
    const list = phases(ctx.quick);
    ctx.results.note(
      SCENARIO,
      `process runs of bench/agents/chatty.mjs (one node process each, one run per agent), each printing JSON event lines ` +
        `(\`{"type":"bench.tick","payload":{"seq","at","due"}}\`) on a steady schedule, a burst (one write) every ${AGENT_TICK_MS} ms, after` +
        ' every subscriber got its run\'s first event; ' +
        'graphql-ws clients (one socket each) in the bench process on runEvents(runId:, afterSeq: 0); one Heartbeat server in its own process per round. ' +
        `Phases: ${list.map((p) => `${phaseLabel(p)}, for ${p.seconds} s`).join('; ')}. ` +
        'Latency from the `at` the agent stamped when writing the line (performance.timeOrigin + now(), same host) to the client: it includes time the line waited in the agent ' +
        'while the pipe was full (the adapter stops reading while its run has over 2,000 events unwritten; a line written then counts as held by backpressure); ' +
        'due -> subscriber adds the agent\'s own lag behind its schedule. ' +
        'CPU per 1,000 lines over go -> every run settled and every subscriber complete: the server process, PostgreSQL (all processes), the bench process (the clients), the agents. ' +
        'Lost or disordered lines fail the bench in every phase but the 4x ones, which record what gave (in the notes below).' +
        (ctx.quick
          ? ''
          : ' The target\'s size runs for 60 s; here each phase is shorter, because the server falls behind at 1x and every second of output takes seconds to deliver ' +
            '(60 s at 1x made a phase of 3.5 minutes; 4x would take over 10).'),
    );
    for (let round = 1; round <= ctx.rounds; round++) {
      const database = await ctx.pg.createHeartbeatDatabase();
      const key = generateApiKey();
      let server: ChildServer | null = null;
      try {
        server = await startChild('server.ts', { DATABASE_URL: database.url, HEARTBEAT_BOOTSTRAP_KEY: key });
        for (const phase of list) await phaseRun(ctx, server, database.url, key, phase, round);
      } finally {
        await server?.close();
        await sleep(100);
        await database.drop();
      }
    }
  },
};
