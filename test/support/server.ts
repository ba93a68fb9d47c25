// A real Heartbeat server on an ephemeral port, over a test database of its own.
import { companies } from '../../db/schema.ts';
import { generateApiKey } from '../../engine/api-keys.ts';
import { startHeartbeat, type HeartbeatApp } from '../../server/app.ts';
import { loadConfig } from '../../server/config.ts';
import { createLogger } from '../../server/logger.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';

export interface TestServer {
  app: HeartbeatApp;
  database: TestDatabase;
  graphqlUrl: string;
  /** ws://.../graphql */
  wsUrl: string;
  /** The bootstrap admin key of the first company. */
  adminKey: string;
  companyId: string;
  close(): Promise<void>;
}

export async function startTestServer(
  options: { database?: TestDatabase; env?: Record<string, string> } = {},
): Promise<TestServer> {
  const database = options.database ?? (await createTestDatabase());
  const adminKey = generateApiKey();
  const config = loadConfig({
    DATABASE_URL: database.url,
    PORT: '0',
    HEARTBEAT_BOOTSTRAP_KEY: adminKey,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...options.env,
  });
  const app = await startHeartbeat(config, createLogger(config.logLevel));
  const [company] = await database.db.select({ id: companies.id }).from(companies).limit(1);
  return {
    app,
    database,
    graphqlUrl: app.graphqlUrl,
    wsUrl: app.graphqlUrl.replace(/^http/, 'ws'),
    adminKey: app.bootstrap?.adminKey ?? adminKey,
    companyId: company.id,
    close: async () => {
      await app.close();
      if (!options.database) await database.drop();
    },
  };
}
