// Checking and stopping processes by pid, by process group and by run (Linux /proc where it matters).
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { scanRunTree } from './process-tree.ts';

const POLL_MS = 50;

/** kill(pid, 0), zombies excluded: ESRCH means gone; EPERM means alive (someone else's). */
export function pidAlive(pid: number | null | undefined): boolean {
  if (!pid || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** True while any process of the group exists (signal 0 only checks). */
export async function groupAlive(pgid: number): Promise<boolean> {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    // EPERM means it exists but belongs to someone else; treat as alive.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // Signal 0 also reaches zombies: a killed grandchild stays one until its new parent (init)
  // reaps it, which some inits do lazily. No signal can do more to a zombie, so on Linux only
  // members that are not zombies count.
  return process.platform !== 'linux' || hasLiveMember(pgid);
}

// Async so a big process table never blocks the engine's event loop.
async function hasLiveMember(pgid: number): Promise<boolean> {
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return true;
  }
  for (const name of entries) {
    if (name.charCodeAt(0) > 57) continue; // pids are digits; skip "self", "sys", ...
    let stat: string;
    try {
      stat = await readFile(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile, or not a pid
    }
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so cut at the last ')'.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') return true;
  }
  return false;
}

export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

/** Signals one process; false when it is gone (ESRCH) or not ours (EPERM). */
function signalProcess(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** After the SIGKILL, how many more looks for what is left (forked meanwhile, or not dead yet). */
const KILL_PASSES = 10;

/**
 * Stops a run's whole tree: its process group, what is below the group's members, and (on Linux) every
 * process carrying the run's marker (process-tree.ts), also those that left the group. SIGTERM first,
 * SIGKILL to whatever is left after the grace period. Without `marker` (the reaper knows only the
 * group) it takes the markers the group's members carry. Resolves once the tree is gone or has been
 * SIGKILLed; `cancel()` stops the polling (no timer outlives the run).
 *
 * Each process is signalled right after a look at /proc that found it alive (with the start time it had
 * when first found): its pid could only have been reused within that look, a window of milliseconds.
 */
export function terminateGroup(pgid: number, graceSec: number, marker?: string): { done: Promise<void>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const deadline = Date.now() + Math.max(1, graceSec) * 1000;
  const target = { pgid, markers: new Set(marker ? [marker] : []), known: new Map<number, string>() };
  let killPasses = 0;

  /** One look and the signals it calls for; false when nothing of the tree is left. */
  const sweep = async (signal: NodeJS.Signals, environ: boolean, everyone: boolean): Promise<boolean> => {
    const tree = await scanRunTree(target, { environ });
    if (stopped) return true;
    if (tree === null) {
      // No /proc: the group is all we can see.
      if (everyone) signalGroup(pgid, signal);
      return groupAlive(pgid);
    }
    if (everyone) signalGroup(pgid, signal);
    for (const entry of tree) {
      // SIGTERM once per process (a second one could restart its shutdown); SIGKILL to all.
      if (everyone || target.known.get(entry.pid) !== entry.startTime) signalProcess(entry.pid, signal);
      target.known.set(entry.pid, entry.startTime);
    }
    return tree.length > 0;
  };

  const check = async () => {
    if (stopped) return;
    if (killPasses > 0) {
      const left = await sweep('SIGKILL', true, true);
      if (stopped) return;
      if (!left || killPasses++ >= KILL_PASSES) return finish();
    } else if (Date.now() >= deadline) {
      await sweep('SIGKILL', true, true);
      killPasses = 1;
    } else {
      // Stat alone each poll; the environment too before calling it done (a marked process may have
      // been re-parented away from everything found so far).
      const alive = (await sweep('SIGTERM', false, false)) || (await sweep('SIGTERM', true, false));
      if (stopped) return;
      if (!alive) return finish();
    }
    if (!stopped) timer = setTimeout(check, POLL_MS);
  };

  const start = async () => {
    // Parent links (and a reaper's markers, from the group) first, while the group's members still live
    // to show them; then every process's marker.
    await sweep('SIGTERM', false, true);
    await sweep('SIGTERM', true, false);
    if (!stopped) timer = setTimeout(check, POLL_MS);
  };
  void start();
  return {
    done,
    cancel() {
      stopped = true;
      clearTimeout(timer);
      finish();
    },
  };
}
