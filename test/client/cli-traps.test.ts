// The traps a newcomer fell into with the real `heartbeat` binary: a URL without /graphql (or one
// that is no GraphQL endpoint at all), `keys create` writing somewhere unsaid, short and bare run
// ids, a mistyped command, and every command paying for transpiling the sources.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compiledCli } from '../../bin/cli-bundle.js';
import { heartbeatRuns } from '../../db/schema.ts';
import { agentGid, createAgent, runGid } from '../support/api.ts';
import { createTestDatabase } from '../support/database.ts';
import { spawnHeartbeat } from '../support/process.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let scratch: string;
beforeAll(async () => {
  server = await startTestServer();
  scratch = await mkdtemp(join(tmpdir(), 'heartbeat-cli-traps-'));
});
afterAll(async () => {
  await server?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** The binary with this server's URL and key (unless `env` says otherwise): stdout and stderr apart. */
async function heartbeat(args: string[], env: Record<string, string | undefined> = {}) {
  const child = spawnHeartbeat(args, { HEARTBEAT_URL: server.graphqlUrl, HEARTBEAT_API_KEY: server.adminKey, ...env });
  let stdout = '';
  let stderr = '';
  child.child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const code = await child.exited;
  return { code, stdout, stderr };
}

const origin = () => new URL(server.graphqlUrl).origin;

// Each command is a child process (a second or more under a busy suite, more when it compiles).
describe('heartbeat CLI traps', { timeout: 180_000 }, () => {
  it('takes the server address without /graphql', async () => {
    await createAgent(server, { name: 'trap-url-agent' });
    for (const url of [origin(), `${origin()}/`]) {
      const listed = await heartbeat(['agents', 'list'], { HEARTBEAT_URL: url });
      expect(listed).toMatchObject({ code: 0, stderr: '' });
      expect(listed.stdout).toContain('trap-url-agent');
    }
    const flag = await heartbeat(['--url', origin(), 'agents', 'list', '--json'], { HEARTBEAT_URL: undefined });
    expect(JSON.parse(flag.stdout).map((a: { name: string }) => a.name)).toContain('trap-url-agent');
  });

  it('answers a URL that is no GraphQL endpoint (a web page, a 404, other JSON) with one line naming it, never the page', async () => {
    const page = `<!doctype html><html><body>${'<p>a dashboard</p>'.repeat(500)}</body></html>`;
    const web: Server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page));
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    try {
      const webUrl = `http://127.0.0.1:${(web.address() as AddressInfo).port}/graphql`;
      const watch = ['runs', 'watch', runGid('00000000-0000-4000-8000-000000000000')]; // a subscription, over WebSocket
      for (const [url, status, args] of [[webUrl, 200, ['runs', 'list']], [webUrl, 200, watch], [`${origin()}/nope`, 404, ['runs', 'list']], [`${origin()}/healthz`, 200, ['runs', 'list']]] as const) {
        const refused = await heartbeat([...args], { HEARTBEAT_URL: url });
        expect(refused.code).toBe(1);
        expect(refused.stdout).toBe('');
        expect(refused.stderr).toMatch(new RegExp(`^heartbeat: ${url.replace(/[.?]/g, '\\$&')} is not a Heartbeat GraphQL endpoint: it answered ${status}\\b.*; expected GraphQL JSON from the server's /graphql, e\\.g\\. http://127\\.0\\.0\\.1:4000/graphql\\n$`));
        expect(refused.stderr).not.toContain('<');
      }
      const notUrl = await heartbeat(['runs', 'list'], { HEARTBEAT_URL: 'localhost:4000' });
      expect(notUrl).toEqual({ code: 2, stdout: '', stderr: 'heartbeat: "localhost:4000" is not an http(s) URL; set HEARTBEAT_URL (or pass --url) to the server, e.g. http://127.0.0.1:4000\n' });
    } finally {
      await new Promise((resolve) => web.close(resolve));
    }
  });

  it('keys create: stdout is the key alone, stderr names the database without its password, and the server takes the key', async () => {
    const url = new URL(server.database.url);
    // The embedded cluster has a password; a PostgreSQL that trusts local connections takes any.
    url.password ||= 'not-shown-anywhere';
    const password = decodeURIComponent(url.password);
    const created = await heartbeat(['keys', 'create', '--name', 'trap-key', '--role', 'viewer'], { DATABASE_URL: url.toString(), HEARTBEAT_DATA_DIR: join(scratch, 'unused') });
    expect(created, created.stderr).toMatchObject({ code: 0, stdout: expect.stringMatching(/^hb_\S+\n$/) });
    url.password = '';
    expect(created.stderr).toBe(`heartbeat: created viewer key "trap-key" in ${url.toString()} (DATABASE_URL)\n`);
    expect(created.stderr).not.toContain(password);
    expect(await heartbeat(['agents', 'list', '--json'], { HEARTBEAT_API_KEY: created.stdout.trim() })).toMatchObject({ code: 0, stderr: '' });
  });

  it('keys create refuses a data directory with no Heartbeat database, naming it, and creates nothing there', async () => {
    const dataDir = join(scratch, 'elsewhere');
    const refused = await heartbeat(['keys', 'create'], { DATABASE_URL: undefined, HEARTBEAT_DATA_DIR: dataDir });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toBe(
      `heartbeat: no Heartbeat database in ${join(dataDir, 'pg')}: run this with the server's settings (HEARTBEAT_DATA_DIR, a path relative to the directory it is run from, or DATABASE_URL), or start the server once first\n`,
    );
    expect(existsSync(dataDir)).toBe(false);
  });

  it('takes a run by short id (ambiguous ones listed), by bare UUID or global id; NOT_FOUND and BAD_USER_INPUT otherwise', async () => {
    const agentId = await createAgent(server, { name: 'trap-short-agent' });
    const [first, second] = ['abcd1234-1111-4000-8000-000000000001', 'abcd1234-2222-4000-8000-000000000002'];
    await server.database.db.insert(heartbeatRuns).values([
      { id: first, companyId: server.companyId, agentId, status: 'succeeded' },
      { id: second, companyId: server.companyId, agentId, status: 'failed' },
    ]);
    const listed = await heartbeat(['runs', 'list', '--agent', 'trap-short-agent']);
    expect(listed.stdout.split('\n').slice(1, 3).map((line) => line.split(/\s+/)[0])).toEqual(['abcd1234', 'abcd1234']);

    const ambiguous = await heartbeat(['runs', 'show', 'abcd1234']);
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr).toMatch(/^heartbeat: run id abcd1234 is ambiguous: it starts /);
    expect(ambiguous.stderr).toContain(`${first} (succeeded, agent trap-short-agent, created `);
    expect(ambiguous.stderr).toContain(`${second} (failed, agent trap-short-agent, created `);
    expect(ambiguous.stderr).toMatch(/; give more of it \(BAD_USER_INPUT\)\n$/);

    for (const [id, wanted] of [['abcd1234-2222', second], [second, second], [second.toUpperCase(), second], [runGid(first), first]]) {
      const shown = await heartbeat(['runs', 'show', id, '--json']);
      expect(shown.code, shown.stderr).toBe(0);
      expect(JSON.parse(shown.stdout).id).toBe(runGid(wanted));
    }
    expect(await heartbeat(['runs', 'show', 'ffff0000'])).toEqual({ code: 1, stdout: '', stderr: 'heartbeat: no run ffff0000 (NOT_FOUND)\n' });
    expect(await heartbeat(['runs', 'cancel', 'not-a-run'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'heartbeat: "not-a-run" is not a run id: give its id, its UUID or at least its first 4 characters (BAD_USER_INPUT)\n',
    });
  });

  it('takes an agent by bare UUID or short id, as well as by name and global id', async () => {
    const agentId = await createAgent(server, { name: 'trap-id-agent' });
    for (const id of [agentId, agentId.slice(0, 8), agentGid(agentId), 'trap-id-agent']) {
      const shown = await heartbeat(['agents', 'show', id, '--json']);
      expect(shown.code, shown.stderr).toBe(0);
      expect(JSON.parse(shown.stdout)).toMatchObject({ id: agentGid(agentId), name: 'trap-id-agent' });
    }
  });

  it('names an unknown command, with the closest one, and exits non-zero; no command still serves', async () => {
    expect(await heartbeat(['rnus', 'list'])).toEqual({ code: 1, stdout: '', stderr: "heartbeat: unknown command 'rnus' (did you mean 'runs'?); see heartbeat --help\n" });
    expect(await heartbeat(['--url', origin(), 'isues'])).toEqual({ code: 1, stdout: '', stderr: "heartbeat: unknown command 'isues' (did you mean 'issues'?); see heartbeat --help\n" });
    expect(await heartbeat(['frobnicate'])).toEqual({ code: 1, stdout: '', stderr: "heartbeat: unknown command 'frobnicate'; see heartbeat --help\n" });

    const database = await createTestDatabase();
    const serving = spawnHeartbeat([], { DATABASE_URL: database.url, PORT: '0', HEARTBEAT_DATA_DIR: join(scratch, 'serve') });
    try {
      await serving.waitFor(/GraphiQL:\s+\S+/, 120_000);
      serving.child.kill('SIGTERM');
      expect(await serving.exited).toBe(0);
    } finally {
      serving.child.kill('SIGKILL');
      await database.drop();
    }
  });

  it('runs a client command compiled: no TypeScript source and no tsx is loaded', async () => {
    // A module hook, in the child, that records every module it loads.
    const log = join(scratch, 'loaded.txt');
    const hooks = join(scratch, 'record-hooks.mjs');
    const register = join(scratch, 'record-register.mjs');
    await writeFile(hooks, `import { appendFileSync } from 'node:fs';\nexport async function resolve(specifier, context, next) {\n  const resolved = await next(specifier, context);\n  appendFileSync(${JSON.stringify(log)}, resolved.url + '\\n');\n  return resolved;\n}\n`);
    await writeFile(register, `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${hooks}`)});\n`);
    const listed = await heartbeat(['agents', 'list'], { NODE_OPTIONS: `--import=${register}` });
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    const loaded = (await readFile(log, 'utf8')).trim().split('\n');
    expect(loaded.some((url) => url.endsWith('/bin/heartbeat.js'))).toBe(true); // the hook saw the command load
    expect(loaded.filter((url) => /\.tsx?$|\/node_modules\/tsx\//.test(url))).toEqual([]);
  });
});

describe('the compiled CLI', { timeout: 120_000 }, () => {
  /** Runs a bundle and returns what it printed. */
  const output = (bundle: string | null) => execFileSync(process.execPath, [bundle!], { encoding: 'utf8' });

  it('is built once, used while its sources are unchanged, and built again when one changes, even keeping its size and time', async () => {
    const root = await mkdtemp(join(tmpdir(), 'heartbeat-cli-bundle-'));
    try {
      const cacheDir = join(root, 'cache');
      await writeFile(join(root, 'main.ts'), "import { word } from './word.ts';\nconsole.log(word satisfies string);\n");
      await writeFile(join(root, 'word.ts'), "export const word = 'first';\n");
      const options = { root, entry: 'main.ts', cacheDir };

      const first = await compiledCli(options);
      expect(output(first)).toBe('first\n');
      expect(await compiledCli(options)).toBe(first);

      // Same size, same modification time: only the content says it changed.
      const { atime, mtime } = await stat(join(root, 'word.ts'));
      await writeFile(join(root, 'word.ts'), "export const word = 'other';\n");
      await utimes(join(root, 'word.ts'), atime, mtime);
      const second = await compiledCli(options);
      expect(second).not.toBe(first);
      expect(output(second)).toBe('other\n');

      // A new import is a change of the file that imports it.
      await writeFile(join(root, 'extra.ts'), "export const extra = 'and more';\n");
      await writeFile(join(root, 'main.ts'), "import { word } from './word.ts';\nimport { extra } from './extra.ts';\nconsole.log(word, extra);\n");
      expect(output(await compiledCli(options))).toBe('other and more\n');
      await writeFile(join(root, 'extra.ts'), "export const extra = 'changed';\n");
      expect(output(await compiledCli(options))).toBe('other changed\n');
      expect((await readdir(cacheDir)).filter((file) => file.endsWith('.json'))).toEqual(['main.json']);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('is null when the sources cannot be compiled (the command then runs them through tsx)', async () => {
    const root = await mkdtemp(join(tmpdir(), 'heartbeat-cli-bundle-'));
    try {
      await writeFile(join(root, 'main.ts'), "import { missing } from './missing.ts';\nconsole.log(missing);\n");
      expect(await compiledCli({ root, entry: 'main.ts', cacheDir: join(root, 'cache') })).toBeNull();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
