// An agent's own directory under the server's data directory: where a process-type agent (process,
// claude_code, codex) whose config sets no `cwd` runs, instead of the server's own directory. One
// directory per company, one per agent in it: <data dir>/agents/<company id>/<agent id>.
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export function agentDirectory(dataDir: string, companyId: string, agentId: string): string {
  return resolve(join(dataDir, 'agents', companyId, agentId));
}

/**
 * Creates `dir` and whichever of its parents are missing, each with mode 0700 (only the server's user
 * may enter it); a directory that already exists is left as it is. Synchronous: it is a syscall or two
 * before a spawn, which is synchronous too, and keeps a run's start free of extra turns.
 */
export function ensurePrivateDirectory(dir: string): void {
  const target = resolve(dir);
  const firstCreated = mkdirSync(target, { recursive: true, mode: 0o700 });
  if (firstCreated === undefined) return;
  // mkdir's mode passes through the umask: set it again on every directory this call created.
  for (let created = target; ; created = dirname(created)) {
    chmodSync(created, 0o700);
    if (created === firstCreated || dirname(created) === created) break;
  }
}

/**
 * Lets other users pass through (not list) every directory above `dir`, as the embedded database's
 * start does for its user: an agent running as its company's user (root server) must reach its own
 * directory, even when the data directory sits in a root-only one such as /root or a `mktemp -d`.
 */
export function grantSearchToParents(dir: string): void {
  for (let parent = dirname(resolve(dir)); parent !== dirname(parent); parent = dirname(parent)) {
    const { mode } = statSync(parent);
    if (!(mode & 0o001)) chmodSync(parent, (mode & 0o7777) | 0o001);
  }
}
