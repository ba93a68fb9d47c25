// The `heartbeat` command line: `serve` runs the server; `keys create` mints an API key.
import { Command, Option } from 'commander';
import { pino } from 'pino';
import { registerClientCommands } from '../client/cli.ts';
import { apiKeyRoleValues, type ApiKeyRole } from '../db/enums.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createLogger, type Logger } from './logger.ts';

// The server and the database tooling load only for the commands that use them, so the client
// commands start quickly.
const serverModules = async () => ({
  ...(await import('./app.ts')),
  ...(await import('./banner.ts')),
});
const databaseModules = async () => ({
  ...(await import('./cli-database.ts')),
  ...(await import('../engine/index.ts')),
});

const program = new Command()
  .name('heartbeat')
  .description('Heartbeat: a control plane for AI-agent runs')
  .showHelpAfterError();

program
  .command('serve', { isDefault: true })
  .description('run the server (embedded PostgreSQL unless DATABASE_URL is set)')
  .action(async () => {
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
  });

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

const keys = program.command('keys').description('manage API keys');
keys
  .command('create')
  .description('create an API key and print it (the only time it is shown)')
  .option('--name <name>', 'a label to tell keys apart', 'cli')
  .addOption(new Option('--role <role>', 'what the key may do').choices(apiKeyRoleValues).default('admin'))
  .option('--company <id>', 'company id (default: the first company)')
  .action(async (options: { name: string; role: ApiKeyRole; company?: string }) => {
    const config = loadConfig();
    const { openCliDatabase, createApiKey } = await databaseModules();
    const database = await openCliDatabase(config);
    try {
      const companyId = options.company ?? (await database.firstCompanyId());
      if (!companyId) throw new ConfigError('There is no company yet: start the server once first.');
      const key = await createApiKey(database.db, {
        companyId,
        name: options.name,
        role: options.role,
      });
      process.stdout.write(`${key.key}\n`);
    } finally {
      await database.close();
    }
  });

registerClientCommands(program);

program.parseAsync().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`heartbeat: ${message}\n`);
  process.exit(1);
});
