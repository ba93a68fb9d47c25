// A chatty agent for the bench (bench/scenarios/agent-output.ts), run by the `process` adapter.
//
//   node chatty.mjs <json|text> <lines per second> <seconds> <go file> [tick ms, default 100]
//
// Waits until the go file exists (the bench creates it once every subscriber is listening), then
// prints `rate * seconds` lines on stdout on a steady schedule, a burst every tick (rate * tick / 1000
// lines, one write), then its result line. Bursts, as a CLI flushes what it has, because waking is
// what costs an agent: one Node process waking 50 times a second spends about 0.25 ms a wake, which
// for 100 runs is more than half of a 2-core machine; waking 10 times a second costs a quarter of that.
// `json`: run events, `{"type":"bench.tick","message":"<run> <seq>","payload":{"seq","at","due"}}`;
// `text`: plain log lines as a coding CLI prints them. `at` is when the line was written and `due`
// when the schedule wanted it (its tick), both epoch milliseconds (performance.timeOrigin +
// performance.now(), comparable with the bench's clock on the same host); at - due is this process's
// own lag (its timers starved of CPU).
// Node does not block on a full pipe: what the pipe cannot take waits in this process's memory, as
// it would in any Node CLI. A line written while the pipe was full (the adapter stops reading while
// its run's writes are backlogged) is "held": its wait is part of the line -> subscriber latency.
// The result line reports the lines and bytes printed, the lag and the held lines.
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';

const [mode, rateArg, secondsArg, goFile, tickArg] = process.argv.slice(2);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const tickMs = Number(tickArg ?? 100);
if ((mode !== 'json' && mode !== 'text') || !(rate > 0) || !(seconds > 0) || !goFile || !(tickMs > 0)) {
  process.stderr.write('usage: chatty.mjs <json|text> <lines per second> <seconds> <go file> [tick ms]\n');
  process.exit(2);
}
const total = Math.round(rate * seconds);
const run = process.env.HEARTBEAT_RUN_ID ?? 'run';
const now = () => performance.timeOrigin + performance.now();
/** A bench that went away never creates the go file: give up rather than wait for ever. */
const WAIT_LIMIT_MS = 10 * 60_000;

const waitStarted = Date.now();
const parent = process.ppid;
await new Promise((resolve) => {
  const poll = () => {
    if (existsSync(goFile)) return resolve();
    // The bench removed the go file's directory (its phase failed), or the server is gone.
    const gone = !existsSync(dirname(goFile)) ? 'the go file\'s directory is gone' : process.ppid !== parent ? 'the server is gone' : null;
    const reason = gone ?? (Date.now() - waitStarted > WAIT_LIMIT_MS ? `no go file after ${WAIT_LIMIT_MS / 1000} s` : null);
    if (reason) {
      process.stderr.write(`chatty.mjs: ${reason}\n`);
      process.exit(3);
    }
    setTimeout(poll, 10);
  };
  poll();
});

// Runs started by the same go file would otherwise print in step, every burst of every run at the
// same instant, which no set of real runs does: each starts somewhere in its first interval.
const start = now() + Math.random() * Math.max(tickMs, 1000 / rate);
let seq = 0;
let bytes = 0;
let maxLagMs = 0;
let lateLines = 0;
/** Seconds after the start when the first line was written over 100 ms late (null: none was). */
let firstLateS = null;
/** Lines written while the pipe was full (bytes left waiting in this process), the most bytes waiting, and since when. */
let heldLines = 0;
let maxBufferedBytes = 0;
let firstHeldS = null;

function line(n, due) {
  const at = now();
  const lag = at - due;
  if (lag > maxLagMs) maxLagMs = lag;
  if (lag > 100) {
    lateLines += 1;
    firstLateS ??= Math.round((due - start) / 100) / 10;
  }
  if (mode === 'json') {
    return `${JSON.stringify({ type: 'bench.tick', message: `${run} ${n}`, payload: { seq: n, at, due } })}\n`;
  }
  // About 100 bytes, one of them a three-byte character: logBytes counts UTF-8 bytes.
  return `${run} ${n} at ${at.toFixed(3)} compiling src/module-${n % 97}.ts … ok (${(n * 7) % 1000} ms)\n`;
}

let tick = 0;
function pump() {
  // Every tick that is due goes out, its lines in one write; ticks that fell behind catch up here.
  while (seq < total && start + tick * tickMs <= now()) {
    const due = start + tick * tickMs;
    const until = Math.min(total, Math.floor(((tick + 1) * tickMs * rate) / 1000));
    const first = seq;
    let text = '';
    for (; seq < until; seq++) text += line(seq, due);
    tick += 1;
    if (text === '') continue;
    bytes += Buffer.byteLength(text);
    process.stdout.write(text);
    const buffered = process.stdout.writableLength;
    if (buffered > 0) {
      heldLines += seq - first;
      if (buffered > maxBufferedBytes) maxBufferedBytes = buffered;
      firstHeldS ??= Math.round((due - start) / 100) / 10;
    }
  }
  if (seq < total) {
    setTimeout(pump, Math.max(0, start + tick * tickMs - now()));
    return;
  }
  const result = { lines: total, bytes, maxLagMs: Math.round(maxLagMs * 10) / 10, lateLines, firstLateS, heldLines, maxBufferedBytes, firstHeldS, seconds: (now() - start) / 1000 };
  process.stdout.write(`${JSON.stringify({ result, summary: `${total} ${mode} lines at ${rate}/s` })}\n`);
}

pump();
