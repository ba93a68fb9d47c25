// The `heartbeat` command line: `serve` runs the server; `keys create` mints an API key.
import { Command, Option } from 'commander';
import type { pino as Pino } from 'pino';
import { registerClientCommands } from '../client/cli.ts';
import { rejectUnknownCommand } from '../client/cli-unknown-command.ts';
import type { ApiKeyRole } from '../db/enums.ts';
import type { loadConfig as LoadConfig } from './config.ts';
import type { createLogger as CreateLogger, Logger } from './logger.ts';

// The server, its settings (read through the engine), its logger and the database tooling load only
// for the commands that use them, so the client commands start quickly. The CLI usually runs
// compiled (bin/cli-bundle.js), without them: these modules are TypeScript, loaded through tsx.
let typeScript: Promise<void> | undefined;
async function serverModule<T>(load: () => Promise<T>): Promise<T> {
  typeScript ??= import.meta.url.endsWith('.ts') ? Promise.resolve() : import('tsx/esm/api').then(({ register }) => void register());
  await typeScript;
  return load();
}
const serverModules = () => serverModule(async () => ({ ...(await import('./app.ts')), ...(await import('./banner.ts')) }));
const databaseModules = () => serverModule(async () => ({ ...(await import('./cli-database.ts')), ...(await import('../engine/index.ts')) }));

// Set before the action of any server command runs (see the preAction hook below).
let loadConfig: typeof LoadConfig;
let createLogger: typeof CreateLogger;
let pino: typeof Pino;

const program = new Command()
  .name('heartbeat')
  .description('Heartbeat: a control plane for AI-agent runs')
  .showHelpAfterError();

program
  .command('serve', { isDefault: true })
  .description('run the server (embedded PostgreSQL unless DATABASE_URL is set)')
  .option('--demo', 'add demo agents and issues to the first company, unless they are there already')
  .addOption(new Option('--remove-demo', 'remove the demo agents and issues (with their runs), then serve').conflicts('demo'))
  .action(async (options: { demo?: boolean; removeDemo?: boolean }) => {
    const config = loadConfig();
    const logger = createLogger(config.logLevel);
    const { startHeartbeat, startupBanner } = await serverModules();
    const starting = startHeartbeat(config, logger);
    // Listening from the start: a Ctrl-C during startup waits for it, then stops what it started
    // (the embedded PostgreSQL runs detached, so nothing else would stop it). If startup fails,
    // this action reports it and exits; the stop has nothing left to do.
    onStopSignals(logger, () => starting.then((app) => app.close(), () => new Promise<never>(() => {})));
    const app = await starting;
    process.stdout.write(startupBanner(app, config));
    if (options.demo || options.removeDemo) await serveDemo(app, options.demo ? 'seed' : 'remove', logger);
  });

/**
 * `serve --demo` and `serve --remove-demo` (README, Demo): once the server is up, adds the demo data
 * to the first company, or removes it, and says so under the banner. A failure is reported and the
 * server keeps serving: the demo is an extra, not the server's job.
 */
async function serveDemo(app: import('./demo.ts').DemoApp, action: 'seed' | 'remove', logger: Logger): Promise<void> {
  const { demoCompanyId, seedDemo, removeDemo } = await serverModule(() => import('./demo.ts'));
  const counted = (counts: { agents: number; issues: number }) =>
    `${counts.agents} agent${counts.agents === 1 ? '' : 's'}, ${counts.issues} issue${counts.issues === 1 ? '' : 's'}`;
  try {
    const companyId = await demoCompanyId(app.db);
    if (action === 'remove') {
      process.stdout.write(`Demo data removed: ${counted(await removeDemo(app, companyId))}.\n`);
      return;
    }
    const demo = await seedDemo(app, companyId);
    const earlier = demo.created ? '' : ', added by an earlier start';
    process.stdout.write(`Demo data: ${counted(demo)}${earlier} (remove with \`npm start -- --remove-demo\`)\n`);
  } catch (error) {
    logger.error({ err: error }, `demo data: ${action} failed`);
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`heartbeat: could not ${action === 'seed' ? 'add' : 'remove'} the demo data (the server keeps running): ${message}\n`);
  }
}

/**
 * Within this long of the first stop signal, another one is that signal relayed, not a person
 * insisting: a signal to the process group reaches npm, tsx and the server, and npm and tsx may each
 * pass theirs on to their child, so the server can get it two or three times within milliseconds.
 */
const RELAY_WINDOW_MS = 2_000;

/**
 * SIGINT/SIGTERM: stop gracefully (runs drain within HEARTBEAT_SHUTDOWN_GRACE_MS, the embedded
 * PostgreSQL stops last), then exit 0. Another one within RELAY_WINDOW_MS is a relayed duplicate
 * and ignored; one after that exits at once, with code 1 (the embedded PostgreSQL is still asked
 * to stop; runs left behind are recovered by the next start).
 */
function onStopSignals(logger: Logger, close: () => Promise<void>): void {
  let first: { signal: NodeJS.Signals; at: number } | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    const now = Date.now();
    if (first) {
      const afterMs = now - first.at;
      if (afterMs < RELAY_WINDOW_MS) {
        logger.info({ signal, afterMs }, `ignored relayed ${signal} (still shutting down; send it again to exit without waiting)`);
        return;
      }
      logger.warn({ signal, afterMs }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    first = { signal, at: now };
    logger.info({ signal }, 'shutting down');
    close().then(
      () => {
        logger.info({ signal }, 'stopped');
        exitAfterLogs(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        exitAfterLogs(1);
      },
    );
  };
  // pino's stream writes asynchronously, and at exit writes what is still buffered synchronously,
  // ahead of a write in flight: 'stopped' could come out before the line logged just before it.
  // So exit once the stream is idle ('drain'; logger.flush() does not wait for it).
  const exitAfterLogs = (code: number) => {
    const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as
      | (NodeJS.EventEmitter & { _writing?: boolean })
      | undefined;
    if (!stream?._writing) process.exit(code);
    stream.once('drain', () => process.exit(code));
    setTimeout(() => process.exit(code), 1_000);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

// Not db/enums.ts's list: that module loads drizzle. The compiler checks this one against its type.
const API_KEY_ROLES = Object.keys({ admin: 1, operator: 1, viewer: 1 } satisfies Record<ApiKeyRole, 1>);

const keys = program.command('keys').description('manage API keys');
keys
  .command('create')
  .description('create an API key and print it (the only time it is shown)')
  .option('--name <name>', 'a label to tell keys apart', 'cli')
  .addOption(new Option('--role <role>', 'what the key may do').choices(API_KEY_ROLES).default('admin'))
  .option('--company <id>', 'company id (default: the first company)')
  .action(async (options: { name: string; role: ApiKeyRole; company?: string }) => {
    // The settings `serve` reads, so the key lands in the database the server uses when both run
    // with the same environment; stderr says which one it was (stdout is the key alone, for scripts).
    const config = loadConfig();
    const { openCliDatabase, createApiKey } = await databaseModules();
    const database = await openCliDatabase(config);
    try {
      const companyId = options.company ?? (await database.firstCompanyId());
      if (!companyId) throw new Error(`there is no company yet in ${database.description}: start the server on it once first`);
      const key = await createApiKey(database.db, {
        companyId,
        name: options.name,
        role: options.role,
      });
      process.stdout.write(`${key.key}\n`);
      process.stderr.write(`heartbeat: created ${options.role} key "${options.name}" in ${database.description}\n`);
    } finally {
      await database.close();
    }
  });

const clientCommands = registerClientCommands(program);

// Whatever the server commands use is loaded before their action runs.
program.hook('preAction', async (_program, action) => {
  let command = action;
  while (command.parent && command.parent !== program) command = command.parent;
  if (clientCommands.has(command)) return;
  ({ loadConfig } = await serverModule(() => import('./config.ts')));
  ({ createLogger } = await serverModule(() => import('./logger.ts')));
  ({ pino } = await import('pino'));
});

rejectUnknownCommand(program, process.argv.slice(2));

program.parseAsync().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`heartbeat: ${message}\n`);
  process.exit(1);
});
