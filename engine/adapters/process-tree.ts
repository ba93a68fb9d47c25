// A run's process tree on Linux, found through /proc without native code: its process group, the
// processes below the group's members by parent links, and every process carrying the run's marker in
// its environment. Descendants inherit the marker, so it finds those that left the group (`setsid`,
// a daemon's double fork) and were re-parented to init, where group and parent links lose them.
//
// What escapes the marker: a descendant that execs with an environment of its own making (`env -i`,
// sudo's env_reset, an exec that passes an explicit environment) or overwrites its environment block in
// place (some setproctitle implementations), when it has also left the group and the parent links from
// the group's members. /proc/<pid>/environ shows the block a process was started with: `unsetenv`,
// `clearenv` or Python's `os.environ.clear()` without an exec do not hide it. A process we may not read
// (another user's, a setuid program's) is not found either; we could not signal it anyway. Processes a
// descendant asks someone else to start (a service manager, a remote host) are not descendants at all.
//
// The marker is random, one per spawned child: it cannot be guessed, and no other run or spawn shares it
// (not even one with the same run token, as adapter tests have). A process that merely knows a run's id
// cannot get itself or another process into that run's tree by accident; anyone who can read the run's
// environment has the same uid and could signal its processes anyway.
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';

/** The environment variable holding a run's marker; set by the process adapter after adapterConfig.env. */
export const TREE_MARKER_VAR = '_HEARTBEAT_PROCESS_TREE';

/** This process's own marker, when it was started inside a run. */
const OWN_MARKER = process.env[TREE_MARKER_VAR] || undefined;

/** A new marker: 128 random bits, in hex. */
export function newTreeMarker(): string {
  return randomBytes(16).toString('hex');
}

/** One process as /proc/<pid>/stat describes it (the fields we need). */
export interface ProcessEntry {
  pid: number;
  ppid: number;
  pgrp: number;
  /** R, S, D, Z (zombie), X (dead), ... */
  state: string;
  /** Clock ticks after boot: with the pid, identifies a process (pids are reused, start times are not). */
  startTime: string;
  /** TREE_MARKER_VAR in its environment, once read (undefined: not read, unreadable, or not set). */
  marker?: string;
}

/** Parses /proc/<pid>/stat; null when it is not one. `comm` may hold spaces and ')': cut at the last ')'. */
export function parseStat(text: string): ProcessEntry | null {
  const open = text.indexOf(' (');
  const close = text.lastIndexOf(')');
  if (open <= 0 || close < open) return null;
  const pid = Number(text.slice(0, open));
  // After "pid (comm) ": state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime
  // stime cutime cstime priority nice num_threads itrealvalue starttime ...
  const fields = text.slice(close + 2).split(' ');
  if (!Number.isInteger(pid) || pid <= 0 || fields.length < 20) return null;
  const [state, ppid, pgrp] = fields;
  return { pid, ppid: Number(ppid), pgrp: Number(pgrp), state, startTime: fields[19] };
}

/** The value of `name` in a /proc/<pid>/environ block (NUL-separated NAME=value entries). */
export function environValue(environ: Buffer, name: string): string | undefined {
  const key = Buffer.from(`${name}=`);
  for (let at = 0; at < environ.length; ) {
    const end = environ.indexOf(0, at);
    const stop = end === -1 ? environ.length : end;
    if (stop - at >= key.length && environ.compare(key, 0, key.length, at, at + key.length) === 0) {
      return environ.toString('utf8', at + key.length, stop);
    }
    at = stop + 1;
  }
  return undefined;
}

const gone = (entry: ProcessEntry) => entry.state === 'Z' || entry.state === 'X';

export interface TreeQuery {
  /** The run's process group. */
  pgid: number;
  /** Markers of the run: a live process carrying one belongs to it. */
  markers: ReadonlySet<string>;
  /** Processes found before (pid -> start time): they belong to it while the same process lives. */
  known?: ReadonlyMap<number, string>;
  /** This process: neither it nor its ancestors are ever part of a tree it stops. */
  self: number;
  /**
   * The marker in this process's own environment, if it runs inside a run (a server started by an
   * agent): that run is not one this process stops, so its marker never counts.
   */
  ownMarker?: string;
}

/**
 * The live processes of a run's tree in a process table: the group's members, the marked processes and
 * those found before, and everything below them by parent links. Zombies are left out (nothing more can
 * be done to them), and so are pid 1, `self` and its ancestors, whatever their marker or group says,
 * and what is below them only through them (this process's other children).
 */
export function selectTree(table: readonly ProcessEntry[], query: TreeQuery): ProcessEntry[] {
  const byPid = new Map(table.map((entry) => [entry.pid, entry]));
  const spared = new Set<number>([0, 1]);
  for (let pid: number | undefined = query.self; pid !== undefined && pid > 1 && !spared.has(pid); pid = byPid.get(pid)?.ppid) {
    spared.add(pid);
  }
  const children = new Map<number, ProcessEntry[]>();
  for (const entry of table) {
    if (gone(entry)) continue;
    const siblings = children.get(entry.ppid);
    if (siblings) siblings.push(entry);
    else children.set(entry.ppid, [entry]);
  }
  const found = new Map<number, ProcessEntry>();
  const queue = table.filter(
    (entry) =>
      !gone(entry) &&
      (entry.pgrp === query.pgid ||
        (entry.marker !== undefined && entry.marker !== query.ownMarker && query.markers.has(entry.marker)) ||
        query.known?.get(entry.pid) === entry.startTime),
  );
  while (queue.length > 0) {
    const entry = queue.pop()!;
    // Not through a spared one either: below this process are other runs' trees.
    if (found.has(entry.pid) || spared.has(entry.pid)) continue;
    found.set(entry.pid, entry);
    queue.push(...(children.get(entry.pid) ?? []));
  }
  return [...found.values()];
}

/** Every process in /proc, as its stat says; null without a readable /proc (not Linux). */
export async function readProcessTable(): Promise<ProcessEntry[] | null> {
  let names: string[];
  try {
    names = await readdir('/proc');
  } catch {
    return null;
  }
  const table: ProcessEntry[] = [];
  for (const name of names) {
    if (name.charCodeAt(0) > 57) continue; // pids are digits; skip "self", "sys", ...
    try {
      const entry = parseStat(await readFile(`/proc/${name}/stat`, 'utf8'));
      if (entry) table.push(entry);
    } catch {
      // exited meanwhile, or not a pid
    }
  }
  return table;
}

/** Reads the marker of each live entry that `wanted` picks (async: a big table never blocks the loop). */
export async function readMarkers(entries: readonly ProcessEntry[], wanted: (entry: ProcessEntry) => boolean = () => true): Promise<void> {
  for (const entry of entries) {
    if (gone(entry) || !wanted(entry)) continue;
    try {
      entry.marker = environValue(await readFile(`/proc/${entry.pid}/environ`), TREE_MARKER_VAR);
    } catch {
      // exited meanwhile, or not ours to read (EACCES)
    }
  }
}

/**
 * The run's tree now. With `environ`, every process's marker is read (a file read per process);
 * without, only the group, the known processes and what is below them are found, from stat alone.
 * Without a marker of its own, the target takes the markers its group's members carry, read on every
 * look until one is found (the reaper knows only the group: it finds what left the group while anything
 * is still in it). Null: no /proc.
 */
export async function scanRunTree(
  target: { pgid: number; markers: Set<string>; known?: ReadonlyMap<number, string> },
  options: { environ: boolean },
): Promise<ProcessEntry[] | null> {
  const table = await readProcessTable();
  if (!table) return null;
  if (target.markers.size === 0) {
    await readMarkers(table, (entry) => entry.pgrp === target.pgid);
    for (const entry of table) {
      if (entry.pgrp === target.pgid && entry.marker && entry.marker !== OWN_MARKER) target.markers.add(entry.marker);
    }
  }
  if (options.environ && target.markers.size > 0) await readMarkers(table, (entry) => entry.marker === undefined);
  return selectTree(table, { pgid: target.pgid, markers: target.markers, known: target.known, self: process.pid, ownMarker: OWN_MARKER });
}
