// Servers under test run in child processes of the bench (so their memory and CPU are their own),
// started with the open-file limit raised to the hard limit and driven over IPC: every request
// gets one reply with the same id.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface ChildServer {
  pid: number;
  /** The child's first message (`{ type: 'ready', ... }`). */
  ready: Record<string, unknown>;
  request<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T>;
  close(): Promise<void>;
}

type Reply = { id: number; ok: boolean; value?: unknown; error?: string };

/** Answers requests from the parent; used by the child entry points. */
export function serveRequests(handlers: Record<string, (args: Record<string, unknown>) => unknown>): void {
  process.on('message', (message: { id: number; command: string; args?: Record<string, unknown> }) => {
    const handler = handlers[message.command];
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown command ${message.command}`);
        return handler(message.args ?? {});
      })
      .then(
        (value) => process.send!({ id: message.id, ok: true, value } satisfies Reply),
        (error: unknown) => process.send!({ id: message.id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies Reply),
      );
  });
  // The bench going away takes its servers with it.
  process.on('disconnect', () => process.exit(0));
}

export async function startChild(entry: string, env: Record<string, string>, options: { exposeGc?: boolean } = {}): Promise<ChildServer> {
  const script = fileURLToPath(new URL(`../${entry}`, import.meta.url));
  // BENCH_CHILD_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the servers under test.
  const extra = process.env.BENCH_CHILD_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? [];
  const nodeArgs = [...(options.exposeGc ? ['--expose-gc'] : []), ...extra, '--import', 'tsx', script];
  const child: ChildProcess = spawn('sh', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', process.execPath, ...nodeArgs], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
  let nextId = 0;
  const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`${entry} exited with ${code} before it was ready`));
    child.once('exit', onExit);
    child.once('message', (message) => {
      child.off('exit', onExit);
      resolve(message as Record<string, unknown>);
    });
  });
  child.on('message', (message: Reply) => {
    const pending = waiting.get(message.id);
    if (!pending) return;
    waiting.delete(message.id);
    if (message.ok) pending.resolve(message.value);
    else pending.reject(new Error(`${entry}: ${message.error}`));
  });
  child.once('exit', (code) => {
    exited = true;
    for (const pending of waiting.values()) pending.reject(new Error(`${entry} exited with ${code}`));
    waiting.clear();
  });
  return {
    pid: child.pid!,
    ready,
    request<T>(command: string, args: Record<string, unknown> = {}) {
      if (exited) return Promise.reject(new Error(`${entry} is not running`));
      const id = ++nextId;
      return new Promise<T>((resolve, reject) => {
        waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
        child.send({ id, command, args });
      });
    },
    async close() {
      if (exited) return;
      const request = new Promise<void>((resolve) => {
        const id = ++nextId;
        waiting.set(id, { resolve: () => resolve(), reject: () => resolve() });
        child.send({ id, command: 'stop', args: {} });
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await Promise.race([request.then(() => exit), exit]);
      clearTimeout(timer);
    },
  };
}
