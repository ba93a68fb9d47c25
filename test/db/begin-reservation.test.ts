// patches/postgres+3.4.9.patch: a BEGIN that postgres.js has written always reserves its connection
// (porsager/postgres#1189, #823). Unpatched, a BEGIN that fills a connection's pipeline is sent
// without reserving it: sql.begin() fails with UNSAFE_TRANSACTION while the transaction stays open on
// a connection the pool hands to other queries. Under load this failed about one run in 9,000 on
// issues (adapter_failed / outcome_not_recorded); here it is made to happen every time.
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

/** postgres.js' `max_pipeline` option (queries sent ahead on one connection), which its types leave out. */
const PIPELINE = (max: number) => ({ max_pipeline: max }) as Record<string, unknown>;

describe('sql.begin at the pipeline boundary', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database?.drop());

  it('reserves its connection when BEGIN is the query that fills the pipeline (max_pipeline 0: every query does)', async () => {
    const sql = postgres(database.url, { max: 1, onnotice: () => {}, ...PIPELINE(0) });
    try {
      const [row] = await sql.begin((tx) => tx<{ xid: string }[]>`select txid_current()::text as xid`);
      expect(row.xid).toMatch(/^\d+$/);
      // The connection came back out of its transaction: a later query is not inside it.
      const [{ xid }] = await sql<{ xid: string | null }[]>`select txid_current_if_assigned()::text as xid`;
      expect(xid).toBeNull();
    } finally {
      await sql.end({ timeout: 2 });
    }
  });
});
