// A real Heartbeat server on an ephemeral port, over a test database of its own.
import { companies } from '../../db/schema.ts';
import { generateApiKey } from '../../engine/access/api-keys.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHeartbeat, type HeartbeatApp, type StartOptions } from '../../server/app.ts';
import { loadConfig } from '../../server/config.ts';
import { createLogger } from '../../server/logger.ts';
import { afterAll, beforeAll } from 'vitest';
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
  /** HEARTBEAT_DATA_DIR of this server (run logs live under logs/). */
  dataDir: string;
  close(): Promise<void>;
}

export async function startTestServer(
  options: { database?: TestDatabase; env?: Record<string, string>; engine?: StartOptions['engine']; onQuery?: StartOptions['onQuery'] } = {},
): Promise<TestServer> {
  const database = options.database ?? (await createTestDatabase());
  const adminKey = generateApiKey();
  const dataDir = await mkdtemp(join(tmpdir(), 'heartbeat-test-data-'));
  const config = loadConfig({
    DATABASE_URL: database.url,
    PORT: '0',
    HEARTBEAT_BOOTSTRAP_KEY: adminKey,
    HEARTBEAT_DATA_DIR: dataDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // Test agents run fixtures from the checkout and work in directories the test made (root-only in
    // CI's fresh clone): as the server's user. The sandbox itself is tested with it on (agent-isolation).
    HEARTBEAT_AGENT_SANDBOX: 'none',
    ...options.env,
  });
  const app = await startHeartbeat(config, createLogger(config.logLevel), { engine: options.engine, onQuery: options.onQuery });
  const [company] = await database.db.select({ id: companies.id }).from(companies).limit(1);
  return {
    app,
    database,
    graphqlUrl: app.graphqlUrl,
    wsUrl: app.graphqlUrl.replace(/^http/, 'ws'),
    adminKey: app.bootstrap?.adminKey ?? adminKey,
    companyId: company.id,
    dataDir,
    close: async () => {
      await app.close();
      if (!options.database) await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Two instances sharing one database for the enclosing suite: started before its tests, closed
 * after them (`b` first). Read `a` and `b` inside tests, once they are started.
 */
export function useInstancePair(options: { bEnv?: Record<string, string> } = {}): { readonly a: TestServer; readonly b: TestServer } {
  let a: TestServer | undefined;
  let b: TestServer | undefined;
  beforeAll(async () => {
    a = await startTestServer();
    b = await startTestServer({ database: a.database, env: options.bEnv });
  }, 60_000);
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });
  return {
    get a() {
      if (!a) throw new Error('the instance pair is not started yet (read it inside a test)');
      return a;
    },
    get b() {
      if (!b) throw new Error('the instance pair is not started yet (read it inside a test)');
      return b;
    },
  };
}
