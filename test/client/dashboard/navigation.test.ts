// The console's real URLs, in a real browser against a real server: a filtered runs view and a run
// are links that load directly and again after a reload, the back button walks back through filter
// changes and pages, unknown addresses say so, and each of these pages renders (screenshots).
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, enqueue, runFinished, runGid } from '../../support/api.ts';
import { closeBrowserSuite, startBrowserSuite } from '../../support/chromium.ts';
import type { TestServer } from '../../support/server.ts';
import { openDashboard, openPage, pathOf, runPath, runRow } from './page.ts';

const rowIds = (page: Page) => page.locator('[data-testid="run-row"]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-run-id')));

describe('console: addresses', () => {
  let server: TestServer;
  let browser: Browser;
  let baseUrl: string;
  let shots: string;
  let failed: string;
  let succeeded: string;
  beforeAll(async () => {
    ({ server, browser, baseUrl } = await startBrowserSuite());
    // DASHBOARD_SCREENSHOTS keeps them for a look; by default they go to a temporary directory.
    shots = process.env.DASHBOARD_SCREENSHOTS ?? (await mkdtemp(join(tmpdir(), 'heartbeat-console-shots-')));
    const flaky = await createAgent(server, { name: 'flaky', adapterConfig: { steps: [{ fail: { message: 'upstream 503', code: 'upstream_down' } }] } });
    const steady = await createAgent(server, { name: 'steady', adapterConfig: { steps: [{ log: 'all good' }, { result: { ok: true }, summary: 'shipped the release notes' }] } });
    failed = (await enqueue(server, { agentId: flaky })).runId!;
    await runFinished(server, failed);
    succeeded = (await enqueue(server, { agentId: steady })).runId!;
    await runFinished(server, succeeded);
  }, 180_000);
  afterAll(async () => {
    await closeBrowserSuite({ server, browser });
    if (shots && !process.env.DASHBOARD_SCREENSHOTS) await rm(shots, { recursive: true, force: true });
  });

  /** A screenshot of the page as it is now, written and not empty. */
  async function screenshot(page: Page, name: string) {
    const path = join(shots, `${name}.png`);
    await page.screenshot({ path, fullPage: true });
    expect((await stat(path)).size).toBeGreaterThan(5_000);
  }

  it('loads a filtered runs view from its link and after a reload, and the back button undoes filter changes', async () => {
    const { page, errors } = await openPage(browser);
    await openDashboard(page, baseUrl, server.adminKey, '/runs?status=FAILED');
    await expect.poll(() => rowIds(page), { timeout: 15_000 }).toEqual([runGid(failed)]);
    expect(await page.getByTestId('status-filter-FAILED').getAttribute('aria-pressed')).toBe('true');
    await screenshot(page, 'runs-filtered');
    await page.reload();
    await expect.poll(() => rowIds(page), { timeout: 15_000 }).toEqual([runGid(failed)]);

    // Another status: a new address, both runs; back: the failed one alone again.
    await page.getByTestId('status-filter-SUCCEEDED').click();
    await expect.poll(() => pathOf(page)).toBe('/runs?status=SUCCEEDED,FAILED');
    await expect.poll(() => rowIds(page), { timeout: 15_000 }).toEqual([runGid(succeeded), runGid(failed)]);
    await page.goBack();
    await expect.poll(() => pathOf(page)).toBe('/runs?status=FAILED');
    await expect.poll(() => rowIds(page), { timeout: 15_000 }).toEqual([runGid(failed)]);

    // An agent: the filter is in the address too.
    await page.getByTestId('clear-filters').click();
    await expect.poll(() => pathOf(page)).toBe('/runs');
    const steadyOption = page.getByTestId('agent-filter').locator('option', { hasText: 'steady' });
    await page.getByTestId('agent-filter').selectOption(await steadyOption.getAttribute('value'));
    await expect.poll(() => rowIds(page), { timeout: 15_000 }).toEqual([runGid(succeeded)]);
    expect(pathOf(page)).toMatch(/^\/runs\?agent=/);

    // Search by the short id, then by words of the summary: the search is in the address.
    await page.getByTestId('clear-filters').click();
    await expect.poll(() => rowIds(page), { timeout: 15_000 }).toEqual([runGid(succeeded), runGid(failed)]);
    await page.getByTestId('runs-search').fill(succeeded.slice(0, 8));
    await expect.poll(() => pathOf(page), { timeout: 5_000 }).toBe(`/runs?q=${succeeded.slice(0, 8)}`);
    await expect.poll(() => rowIds(page), { timeout: 15_000 }).toEqual([runGid(succeeded)]);
    await page.getByTestId('runs-search').fill('upstream');
    await page.getByTestId('runs-search').press('Enter');
    await expect.poll(() => rowIds(page), { timeout: 15_000 }).toEqual([runGid(failed)]);
    // A view nothing matches says so.
    await page.goto(`${baseUrl}/runs?q=no-such-words-anywhere`);
    await expect.poll(() => page.getByTestId('runs-empty').innerText(), { timeout: 15_000 }).toMatch(/^No runs match these filters/);
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);

  it('loads a run from its link and after a reload; the back button returns to the list', async () => {
    const { page, errors } = await openPage(browser);
    await openDashboard(page, baseUrl, server.adminKey, runPath(runGid(succeeded)));
    await expect.poll(() => page.getByTestId('run-status').getAttribute('data-status'), { timeout: 15_000 }).toBe('SUCCEEDED');
    expect(await page.getByTestId('run-id').innerText()).toBe(runGid(succeeded));
    await expect.poll(() => page.getByTestId('run-log').innerText(), { timeout: 15_000 }).toContain('all good');
    await screenshot(page, 'run');
    await page.reload();
    await expect.poll(() => page.getByTestId('run-summary').innerText(), { timeout: 15_000 }).toBe('shipped the release notes');

    // To the list through the nav, into the failed run, and back twice.
    await page.getByTestId('nav-runs').click();
    await runRow(page, runGid(failed)).click();
    await expect.poll(() => pathOf(page)).toBe(`/runs/${runGid(failed)}`);
    await expect.poll(() => page.getByTestId('run-error').innerText(), { timeout: 15_000 }).toBe('upstream 503 (upstream_down)');
    await page.goBack();
    await expect.poll(() => pathOf(page)).toBe('/runs');
    await expect.poll(() => rowIds(page), { timeout: 15_000 }).toContain(runGid(failed));
    await page.goBack();
    await expect.poll(() => pathOf(page)).toBe(`/runs/${runGid(succeeded)}`);
    await expect.poll(() => page.getByTestId('run-status').getAttribute('data-status'), { timeout: 15_000 }).toBe('SUCCEEDED');
    // Its agent links to the agent's page.
    await page.getByTestId('run-agent-link').click();
    await expect.poll(() => pathOf(page)).toMatch(/^\/agents\/.+/);
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);

  it('says so for a run that does not exist and an address with no page; /dashboard is the overview now', async () => {
    const { page, errors } = await openPage(browser);
    await openDashboard(page, baseUrl, server.adminKey, runPath(runGid(randomUUID())));
    await expect.poll(() => page.getByTestId('run-missing').isVisible(), { timeout: 15_000 }).toBe(true);
    await page.goto(`${baseUrl}/runs/one/too-deep`);
    await expect.poll(() => page.getByTestId('not-found-page').isVisible(), { timeout: 15_000 }).toBe(true);
    await screenshot(page, 'not-found');
    await page.goto(`${baseUrl}/dashboard`);
    await expect.poll(() => pathOf(page), { timeout: 15_000 }).toBe('/');
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
