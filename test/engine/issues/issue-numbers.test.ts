// Issue identifiers: <prefix>-<n>, numbered by the company's counter, distinct however many are
// created at once (the counter's statement commits on its own, engine/issues/issues.ts).
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { companies, issues } from '../../../db/schema.ts';
import { createAgent, createIssue } from '../../support/api.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

it('numbers issues created at the same moment 1..n, each once, and the counter says n', async () => {
  const agentId = await createAgent(server, {});
  const n = 24;
  // Half with an assignee (each queues a run), half without, all at once.
  const created = await Promise.all(Array.from({ length: n }, (_, i) => createIssue(server, { title: `at once ${i}`, assigneeAgentId: i % 2 ? agentId : undefined })));
  const rows = await server.database.db.select({ id: issues.id, identifier: issues.identifier }).from(issues).where(eq(issues.companyId, server.companyId));
  const [company] = await server.database.db.select().from(companies).where(eq(companies.id, server.companyId));
  expect(rows.map((row) => row.id).sort()).toEqual(created.map((issue) => issue.issueId).sort());
  const numbers = rows.map((row) => {
    const [prefix, number] = row.identifier!.split('-');
    expect(prefix).toBe(company.issuePrefix);
    return Number(number);
  });
  expect(numbers.sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  expect(company.issueCounter).toBe(n);
});
