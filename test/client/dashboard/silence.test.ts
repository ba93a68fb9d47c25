// Silent runs in the console (docs/engine.md §17): a running run's liveness cell shows its
// output-silence level as it changes, live. The server flags a run after 1 s of silence here.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, enqueue, gql, runGid } from '../../support/api.ts';
import { closeBrowserSuite, launchChromium } from '../../support/chromium.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { waitFor } from '../../support/wait.ts';
import { openDashboard, openPage, runRow } from './page.ts';

describe('console: silent runs', () => {
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    server = await startTestServer({ env: { HEARTBEAT_SILENCE_SUSPICIOUS_SEC: '1', HEARTBEAT_SILENCE_CRITICAL_SEC: '86400' } });
    browser = await launchChromium();
  }, 180_000);
  afterAll(() => closeBrowserSuite({ server, browser }));

  it('marks a silent run SUSPICIOUS, then SNOOZED, and no more once dismissed', async () => {
    const agentId = await createAgent(server, { adapterConfig: { steps: [{ sleepMs: 60_000 }] } });
    const { runId } = await enqueue(server, { agentId });
    await waitFor('the run to start', async () => (await server.database.db.query.heartbeatRuns.findFirst({ where: { id: runId! } }))?.status === 'running');
    const id = runGid(runId!);
    const { page, errors } = await openPage(browser);
    await openDashboard(page, server.graphqlUrl.replace(/\/graphql$/, ''), server.adminKey, '/runs');
    const badge = runRow(page, id).locator('[data-testid="run-silence"]');
    const level = async () => ((await badge.count()) > 0 ? badge.getAttribute('data-level') : null);
    // The loop flags it within a tick or two of its first silent second; the row follows live.
    await expect.poll(level, { timeout: 15_000 }).toBe('SUSPICIOUS');
    expect(await badge.innerText()).toBe('suspicious');
    expect(await badge.getAttribute('title')).toMatch(/^No output for \d+s$/);

    await gql(server, 'mutation($id: ID!, $u: DateTime!) { snoozeRunSilence(id: $id, until: $u) { id } }', { id, u: new Date(Date.now() + 3_600_000).toISOString() });
    await expect.poll(level, { timeout: 15_000 }).toBe('SNOOZED');
    await gql(server, 'mutation($id: ID!) { dismissRunSilence(id: $id) { id } }', { id });
    await expect.poll(() => badge.count(), { timeout: 15_000 }).toBe(0);
    expect(await runRow(page, id).getAttribute('data-status')).toBe('RUNNING');
    expect(errors).toEqual([]);
    await page.close();
    await gql(server, 'mutation($id: ID!) { cancelRun(id: $id) { id } }', { id });
  });
});
