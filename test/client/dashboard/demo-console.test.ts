// The first minute of a new user: a server with the demo, and the console in a real browser. Within
// 15 s of the seed the runs page shows runs in several states, live, and every page draws with the
// demo's data (a screenshot of each).
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../../../server/demo.ts';
import { closeBrowserSuite, startBrowserSuite } from '../../support/chromium.ts';
import type { TestServer } from '../../support/server.ts';
import { waitFor } from '../../support/wait.ts';
import { openDashboard, openPage } from './page.ts';

/** The statuses the runs table shows now. */
const shownStatuses = (page: Page) =>
  page.$$eval('[data-testid="run-row"]', (rows) => [...new Set(rows.map((row) => (row as HTMLElement).dataset.status ?? ''))]);

describe('the console on the demo', () => {
  let server: TestServer;
  let browser: Browser;
  let baseUrl: string;
  let shots: string;
  beforeAll(async () => {
    ({ server, browser, baseUrl } = await startBrowserSuite());
    shots = await mkdtemp(join(tmpdir(), 'heartbeat-demo-shots-'));
  }, 180_000);
  afterAll(async () => {
    await closeBrowserSuite({ server, browser });
    if (!process.env.DASHBOARD_SCREENSHOTS) await rm(shots, { recursive: true, force: true });
  });

  it('shows live runs in several states within 15 s, and every page draws with them', { timeout: 180_000 }, async () => {
    const { page, errors, blocked } = await openPage(browser, { width: 1280, height: 860 });
    await openDashboard(page, baseUrl, server.adminKey);
    await page.goto(`${baseUrl}/runs`);
    await page.locator('[data-testid="runs-table"], [data-testid="runs-empty"]').first().waitFor();

    const seeded = Date.now();
    await seedDemo(server.app, server.companyId);
    // Arrived over the live feed: the page is not reloaded.
    const states = await waitFor(
      'runs in several states on the runs page',
      async () => {
        const statuses = await shownStatuses(page);
        return ['SUCCEEDED', 'RUNNING', 'FAILED'].every((status) => statuses.includes(status)) && statuses.length >= 4 ? statuses : null;
      },
      { timeoutMs: 15_000 },
    );
    expect(Date.now() - seeded).toBeLessThan(15_000);
    expect(states.length).toBeGreaterThanOrEqual(4);

    const screenshot = async (name: string) => {
      const file = join(shots, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      expect((await stat(file)).size).toBeGreaterThan(10_000);
    };
    await screenshot('runs');

    const runId = await page.locator('[data-testid="run-row"][data-status="FAILED"]').first().getAttribute('data-run-id');
    await page.goto(`${baseUrl}/runs/${encodeURIComponent(runId!)}`);
    await page.getByText(/demo-/).first().waitFor();
    await screenshot('run');

    for (const [path, name, text] of [
      ['/', 'overview', /Runs per minute|runs per minute/i],
      ['/agents', 'agents', /demo-builder/],
      ['/issues', 'issues', /\[demo\]/],
    ] as const) {
      await page.goto(`${baseUrl}${path}`);
      await page.getByText(text).first().waitFor();
      await screenshot(name);
    }
    const agentHref = await page.goto(`${baseUrl}/agents`).then(() => page.locator('a', { hasText: 'demo-migrator' }).first().getAttribute('href'));
    await page.goto(`${baseUrl}${agentHref}`);
    await page.getByText('demo-migrator').first().waitFor();
    await screenshot('agent');
    const issueHref = await page.goto(`${baseUrl}/issues`).then(() => page.locator('a', { hasText: '[demo]' }).first().getAttribute('href'));
    await page.goto(`${baseUrl}${issueHref}`);
    await page.getByText('[demo]').first().waitFor();
    await screenshot('issue');

    expect(errors).toEqual([]);
    expect(blocked).toEqual([]);
  });
});
