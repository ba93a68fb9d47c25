// CPU time spent by each part of a scenario, from /proc (Linux): the bench process itself, a
// server child, and the embedded PostgreSQL cluster (its postmaster, the backends alive now, and
// the backends that already exited, which the kernel folds into the postmaster's child times).
// On a machine with two cores, the milliseconds of CPU each part spends per job or request say
// where the ceiling comes from better than any wall-clock number.
import { readdirSync, readFileSync } from 'node:fs';

/** /proc reports times in USER_HZ ticks, which Linux fixes at 100 per second for user space. */
const TICKS_PER_SECOND = 100;

interface ProcStat {
  ppid: number;
  /** utime + stime, in clock ticks. */
  own: number;
  /** cutime + cstime: children that exited and were waited for, in clock ticks. */
  reaped: number;
}

function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name may hold spaces and parentheses: fields start after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(fields[1]), own: Number(fields[11]) + Number(fields[12]), reaped: Number(fields[13]) + Number(fields[14]) };
}

/** CPU milliseconds a process has spent so far (null when it is gone or /proc is missing). */
export function processCpuMs(pid: number): number | null {
  const stat = readStat(pid);
  return stat ? (stat.own * 1000) / TICKS_PER_SECOND : null;
}

/** CPU milliseconds a process and all its descendants, alive or exited, have spent so far. */
export function processTreeCpuMs(root: number): number | null {
  const rootStat = readStat(root);
  if (!rootStat) return null;
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = readStat(pid);
    if (stat) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), pid]);
  }
  let ticks = rootStat.own + rootStat.reaped;
  const pending = [...(children.get(root) ?? [])];
  while (pending.length > 0) {
    const pid = pending.pop()!;
    const stat = readStat(pid);
    if (!stat) continue;
    ticks += stat.own;
    pending.push(...(children.get(pid) ?? []));
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/** Counts CPU milliseconds of several named parts between `start()` and `stop()`. */
export class CpuMeter {
  private readonly startedAt = new Map<string, number>();

  constructor(private readonly parts: Record<string, () => number | null>) {}

  start(): void {
    for (const [name, read] of Object.entries(this.parts)) {
      const value = read();
      if (value !== null) this.startedAt.set(name, value);
    }
  }

  /** CPU milliseconds per part since `start()`; parts that could not be read are left out. */
  stop(): Record<string, number> {
    const spent: Record<string, number> = {};
    for (const [name, read] of Object.entries(this.parts)) {
      const before = this.startedAt.get(name);
      const after = read();
      if (before !== undefined && after !== null) spent[name] = after - before;
    }
    return spent;
  }
}

/** The bench process's own CPU milliseconds (all threads), from Node rather than /proc. */
export function selfCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}
