// A viewer key in the console: the key's role (viewerRole) says it may only read, so Cancel and
// Retry are never offered, on a failed run's page nor on a running one's, while an admin key sees
// them on the same pages.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, enqueue, gql, runFinished, runGid } from '../../support/api.ts';
import { closeBrowserSuite, startBrowserSuite } from '../../support/chromium.ts';
import type { TestServer } from '../../support/server.ts';
import { waitFor } from '../../support/wait.ts';
import { openDashboard, openPage, runPath, runRow } from './page.ts';

describe('console with a viewer key', () => {
  let server: TestServer;
  let browser: Browser;
  let baseUrl: string;
  beforeAll(async () => void ({ server, browser, baseUrl } = await startBrowserSuite()), 180_000);
  afterAll(() => closeBrowserSuite({ server, browser }));

  it('offers no Cancel or Retry to a key that may only read', async () => {
    const failing = await createAgent(server, { adapterConfig: { steps: [{ fail: { message: 'no' } }] } });
    const { runId: failed } = await enqueue(server, { agentId: failing });
    await runFinished(server, failed!);
    const sleeping = await createAgent(server, { adapterConfig: { steps: [{ sleepMs: 60_000 }] } });
    const { runId: running } = await enqueue(server, { agentId: sleeping });
    await waitFor('the run to start', async () => (await server.database.db.query.heartbeatRuns.findFirst({ where: { id: running! } }))?.status === 'running');
    const { createApiKey } = await gql(server, 'mutation { createApiKey(name: "watcher", role: VIEWER) { key } }');

    const { page, errors } = await openPage(browser);
    await openDashboard(page, baseUrl, createApiKey.key, '/runs');
    await runRow(page, runGid(failed!)).click();
    // The failed run's page is shown, without the actions an admin key would get.
    await expect.poll(() => page.getByTestId('run-id').innerText(), { timeout: 15_000 }).toBe(runGid(failed!));
    await expect.poll(() => page.getByTestId('run-status').getAttribute('data-status')).toBe('FAILED');
    expect(await page.getByTestId('retry-button').count()).toBe(0);
    expect(await page.getByTestId('cancel-button').count()).toBe(0);
    await page.goto(`${baseUrl}${runPath(runGid(running!))}`);
    await expect.poll(() => page.getByTestId('run-status').getAttribute('data-status'), { timeout: 15_000 }).toBe('RUNNING');
    expect(await page.getByTestId('cancel-button').count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();

    // The same pages with an admin key: the actions are there (the viewer's absence is the role's doing).
    const admin = await openPage(browser);
    await openDashboard(admin.page, baseUrl, server.adminKey, runPath(runGid(running!)));
    await expect.poll(() => admin.page.getByTestId('cancel-button').isVisible(), { timeout: 15_000 }).toBe(true);
    await admin.page.goto(`${baseUrl}${runPath(runGid(failed!))}`);
    await expect.poll(() => admin.page.getByTestId('retry-button').isVisible(), { timeout: 15_000 }).toBe(true);
    expect(admin.errors).toEqual([]);
    await admin.page.close();
    await gql(server, 'mutation($id: ID!) { cancelRun(id: $id) { id } }', { id: runGid(running!) });
  }, 90_000);
});
