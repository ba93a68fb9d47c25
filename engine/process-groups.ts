// Checking and stopping processes by pid and by process group (Linux /proc where it matters).
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';

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

/**
 * SIGTERM the group, SIGKILL it if anything survives the grace period. Resolves once the group is
 * gone or has been SIGKILLed; `cancel()` stops the polling (no timer outlives the run).
 */
export function terminateGroup(pgid: number, graceSec: number): { done: Promise<void>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const deadline = Date.now() + Math.max(1, graceSec) * 1000;
  signalGroup(pgid, 'SIGTERM');
  const check = async () => {
    const alive = await groupAlive(pgid);
    if (stopped) return;
    if (!alive) return finish();
    if (Date.now() >= deadline) {
      signalGroup(pgid, 'SIGKILL');
      return finish();
    }
    timer = setTimeout(check, POLL_MS);
  };
  void check();
  return {
    done,
    cancel() {
      stopped = true;
      clearTimeout(timer);
      finish();
    },
  };
}

