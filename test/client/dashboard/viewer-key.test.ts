// A viewer key in the dashboard: the key's role (viewerRole) says it may only read, so Cancel and
// Retry are never offered.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, enqueue, gql, runFinished, runGid } from '../../support/api.ts';
import { closeBrowserSuite, startBrowserSuite } from '../../support/chromium.ts';
import type { TestServer } from '../../support/server.ts';
import { openDashboard, openPage, runRow } from './page.ts';

describe('dashboard with a viewer key', () => {
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => void ({ server, browser } = await startBrowserSuite()), 180_000);
  afterAll(() => closeBrowserSuite({ server, browser }));

  it('offers no Cancel or Retry to a key that may only read', async () => {
    const agentId = await createAgent(server, { adapterConfig: { steps: [{ fail: { message: 'no' } }] } });
    const { runId } = await enqueue(server, { agentId });
    await runFinished(server, runId!);
    const { createApiKey } = await gql(server, 'mutation { createApiKey(name: "watcher", role: VIEWER) { key } }');
    const { page, errors } = await openPage(browser);
    await openDashboard(page, server.graphqlUrl.replace(/\/graphql$/, ''), createApiKey.key);
    await runRow(page, runGid(runId!)).click();
    // The detail of the failed run is shown, without the actions an admin key would get.
    await expect.poll(() => page.getByTestId('run-id').innerText(), { timeout: 15_000 }).toBe(runGid(runId!));
    expect(await page.getByTestId('retry-button').count()).toBe(0);
    expect(await page.getByTestId('cancel-button').count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });
});
