// The `heartbeat` command line: `serve` runs the server; `keys create` mints an API key.
import { Command, Option } from 'commander';
import { registerClientCommands } from '../client/cli.ts';
import { apiKeyRoleValues, type ApiKeyRole } from '../db/enums.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './logger.ts';

// The server and the database tooling load only for the commands that use them, so the client
// commands start quickly.
const serverModules = async () => ({
  ...(await import('./app.ts')),
  ...(await import('./banner.ts')),
});
const databaseModules = async () => ({
  ...(await import('./cli-database.ts')),
  ...(await import('../engine/api-keys.ts')),
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
    const app = await startHeartbeat(config, logger);
    process.stdout.write(startupBanner(app, config));

    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting without waiting');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal }, 'shutting down');
      app.close().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });

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
