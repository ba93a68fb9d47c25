// The pure parts of finding a run's process tree: /proc parsing, the marker, and which processes of a
// table belong to a run.
import { describe, expect, it } from 'vitest';
import {
  environValue,
  newTreeMarker,
  parseStat,
  type ProcessEntry,
  selectTree,
  TREE_MARKER_VAR,
} from '../../../engine/adapters/process-tree.ts';

/** A /proc/<pid>/stat line as Linux writes it (52 fields). */
const statLine = (pid: number, comm: string, state: string, ppid: number, pgrp: number, startTime: number) =>
  `${pid} (${comm}) ${state} ${ppid} ${pgrp} ${pgrp} 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 ${startTime} 1000 100 ${'0 '.repeat(30)}0\n`;

describe('parseStat', () => {
  it('reads pid, state, parent, group and start time', () => {
    expect(parseStat(statLine(42, 'node', 'S', 7, 42, 123456))).toEqual({ pid: 42, ppid: 7, pgrp: 42, state: 'S', startTime: '123456' });
  });

  it('a command name with spaces and parentheses does not shift the fields', () => {
    expect(parseStat(statLine(9, 'a) Z 1 1 (b', 'R', 3, 4, 99))).toEqual({ pid: 9, ppid: 3, pgrp: 4, state: 'R', startTime: '99' });
  });

  it('anything else is not a process', () => {
    for (const text of ['', 'garbage', '12 (x) S 1 2', 'x (node) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0']) {
      expect(parseStat(text)).toBeNull();
    }
  });
});

describe('environValue', () => {
  const block = (...entries: string[]) => Buffer.from(entries.map((entry) => `${entry}\0`).join(''));

  it('finds the variable first, in the middle or last, with or without the final NUL', () => {
    expect(environValue(block(`${TREE_MARKER_VAR}=abc`, 'PATH=/bin'), TREE_MARKER_VAR)).toBe('abc');
    expect(environValue(block('PATH=/bin', `${TREE_MARKER_VAR}=abc`, 'HOME=/root'), TREE_MARKER_VAR)).toBe('abc');
    expect(environValue(Buffer.from(`PATH=/bin\0${TREE_MARKER_VAR}=abc`), TREE_MARKER_VAR)).toBe('abc');
    expect(environValue(block(`${TREE_MARKER_VAR}=`), TREE_MARKER_VAR)).toBe('');
    expect(environValue(block('A=x=y'), 'A')).toBe('x=y');
  });

  it('names that only begin or end like it, a value that mentions it, and an empty block are not it', () => {
    expect(environValue(block(`X${TREE_MARKER_VAR}=no`, `${TREE_MARKER_VAR}_2=no`, `B=${TREE_MARKER_VAR}=no`), TREE_MARKER_VAR)).toBeUndefined();
    expect(environValue(Buffer.alloc(0), TREE_MARKER_VAR)).toBeUndefined();
    expect(environValue(block(TREE_MARKER_VAR), TREE_MARKER_VAR)).toBeUndefined();
  });
});

describe('the run marker', () => {
  it('is 128 random bits, new for every spawn', () => {
    const markers = new Set(Array.from({ length: 1_000 }, () => newTreeMarker()));
    expect(markers.size).toBe(1_000);
    for (const marker of markers) expect(marker).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('selectTree', () => {
  const p = (pid: number, ppid: number, pgrp: number, extra: Partial<ProcessEntry> = {}): ProcessEntry => ({
    pid,
    ppid,
    pgrp,
    state: 'S',
    startTime: String(pid * 10),
    ...extra,
  });
  const SELF = 50;
  // init, the server (self) under a shell, the run's group 100 with a child, a grandchild that left
  // the group (setsid) and one below it, a double-forked daemon re-parented to init, and bystanders.
  const table: ProcessEntry[] = [
    p(1, 0, 1),
    p(40, 1, 40), // the shell that started the server
    p(SELF, 40, 40),
    p(100, SELF, 100, { marker: 'm' }), // the run's child, leading its group
    p(101, 100, 100, { marker: 'm' }),
    p(102, 101, 102, { marker: 'm' }), // setsid
    p(103, 102, 102), // below it, environment replaced: found by its parent link
    p(200, 1, 200, { marker: 'm' }), // daemon: re-parented to init, only the marker says whose it is
    p(201, 200, 201), // its child without the marker
    p(300, 1, 300, { marker: 'other' }), // another run's
    p(301, 1, 301), // nobody's
    p(302, 1, 302, { marker: 'm', state: 'Z' }), // a zombie: already dead
  ];
  const pids = (entries: ProcessEntry[]) => entries.map((entry) => entry.pid).sort((a, b) => a - b);
  const query = { pgid: 100, markers: new Set(['m']), self: SELF };

  it('the group, the marked processes and everything below them; no zombie, no bystander', () => {
    expect(pids(selectTree(table, query))).toEqual([100, 101, 102, 103, 200, 201]);
  });

  it('without markers: the group and what is below it by parent links', () => {
    expect(pids(selectTree(table, { ...query, markers: new Set() }))).toEqual([100, 101, 102, 103]);
  });

  it('found before: kept while the same process lives, not when its pid was reused', () => {
    const known = new Map([
      [301, '3010'], // same start time: the same process
      [300, '1'], // another start time: the pid went to someone else
    ]);
    expect(pids(selectTree(table, { ...query, markers: new Set(), known }))).toEqual([100, 101, 102, 103, 301]);
  });

  it("the marker of a run this process itself runs in never counts (a server started by an agent)", () => {
    const inside = [...table, p(400, 1, 400, { marker: 'outer' }), p(401, 1, 401, { marker: 'outer' })];
    const markers = new Set(['m', 'outer']);
    expect(pids(selectTree(inside, { ...query, markers, ownMarker: 'outer' }))).toEqual([100, 101, 102, 103, 200, 201]);
    expect(pids(selectTree(inside, { ...query, markers }))).toEqual([100, 101, 102, 103, 200, 201, 400, 401]);
  });

  it('never this process, its ancestors or init, nor what is below them only through them', () => {
    // The server's shell and the server carry the marker and lead the group asked for; another run of
    // the server's (60) is below them.
    const odd = [
      ...table.map((entry) => ([1, 40, SELF].includes(entry.pid) ? { ...entry, marker: 'm' } : entry)),
      p(60, SELF, 60, { marker: 'another-run' }),
    ];
    expect(pids(selectTree(odd, { ...query, pgid: 40 }))).toEqual([100, 101, 102, 103, 200, 201]);
  });
});
