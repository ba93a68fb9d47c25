// A run's retry chain on its page, in a real browser against a real server: a failed run links
// forward to its automatic retry and the retry back to it (the back button retraces the steps), and
// Retry on a run whose automatic retry is already scheduled moves that retry up, and says so,
// instead of queueing another run.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, enqueue, runFinished, runGid } from '../../support/api.ts';
import { closeBrowserSuite, startBrowserSuite } from '../../support/chromium.ts';
import type { TestServer } from '../../support/server.ts';
import { waitFor } from '../../support/wait.ts';
import { openDashboard, openPage, pathOf, runPath } from './page.ts';

describe('console: a run’s retries', () => {
  let server: TestServer;
  let browser: Browser;
  let baseUrl: string;
  beforeAll(async () => void ({ server, browser, baseUrl } = await startBrowserSuite()), 180_000);
  afterAll(() => closeBrowserSuite({ server, browser }));

  it('links a failed run to its scheduled retry and back, and Retry moves that retry up', async () => {
    const agentId = await createAgent(server, {
      name: 'flaky',
      adapterConfig: { steps: [{ event: { type: 'progress', message: 'calling upstream' } }, { fail: { message: 'upstream 503', errorFamily: 'transient_upstream' } }] },
    });
    const failed = (await enqueue(server, { agentId })).runId!;
    await runFinished(server, failed);
    const retriesOf = () => server.database.db.query.heartbeatRuns.findMany({ where: { retryOfRunId: failed } });
    const [scheduled] = await waitFor('the automatic retry', async () => ((await retriesOf()).length ? retriesOf() : null));
    expect(scheduled.status).toBe('scheduled_retry');

    const { page, errors } = await openPage(browser);
    await openDashboard(page, baseUrl, server.adminKey, runPath(runGid(failed)));
    const forward = page.getByTestId('retry-link');
    await expect.poll(() => forward.getAttribute('data-run-id'), { timeout: 15_000 }).toBe(runGid(scheduled.id));
    expect(await page.getByTestId('run-retries').innerText()).toContain('scheduled retry');
    expect(await page.getByTestId('retry-of-link').count()).toBe(0);

    // Forward to the retry, which links back; back again with the link, then with the browser.
    await forward.click();
    await expect.poll(() => pathOf(page)).toBe(`/runs/${runGid(scheduled.id)}`);
    await expect.poll(() => page.getByTestId('run-status').getAttribute('data-status'), { timeout: 15_000 }).toBe('SCHEDULED_RETRY');
    expect(await page.getByTestId('run-retries').innerText()).toMatch(/1 of \d+, due in \d+m \d{2}s/);
    await page.getByTestId('retry-of-link').click();
    await expect.poll(() => pathOf(page)).toBe(`/runs/${runGid(failed)}`);
    await expect.poll(() => page.getByTestId('run-status').getAttribute('data-status'), { timeout: 15_000 }).toBe('FAILED');
    await page.goBack();
    await expect.poll(() => pathOf(page)).toBe(`/runs/${runGid(scheduled.id)}`);
    await page.goBack();
    await expect.poll(() => pathOf(page)).toBe(`/runs/${runGid(failed)}`);

    // Retry now: the scheduled retry is moved up, and that is what the page says and shows.
    await expect.poll(() => page.getByTestId('retry-button').isVisible(), { timeout: 15_000 }).toBe(true);
    await page.getByTestId('retry-button').click();
    const banner = page.getByTestId('error-banner');
    await expect.poll(() => (banner.isVisible().then((shown) => (shown ? banner.innerText() : ''))), { timeout: 15_000 }).toMatch(/^Retry moved up: runs now/);
    expect(await banner.getAttribute('data-kind')).toBe('notice');
    await expect.poll(() => pathOf(page)).toBe(`/runs/${runGid(scheduled.id)}`);
    await expect.poll(() => page.getByTestId('run-status').getAttribute('data-status'), { timeout: 15_000 }).not.toBe('SCHEDULED_RETRY');
    // No second retry of the failed run: the one scheduled is the one that runs.
    const retries = await retriesOf();
    expect(retries.map((run) => run.id)).toEqual([scheduled.id]);
    expect(retries[0].status).not.toBe('scheduled_retry');
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);
});
