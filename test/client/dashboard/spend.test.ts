// Cost in the console, in a real browser against a real server: a run's cost on its page (cents,
// tokens, billing), nothing for a run that cost nothing, and the Spend panel's last 14 days per day
// and per agent (under the runs).
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { costEvents, heartbeatRuns } from '../../../db/schema.ts';
import { createAgent, runGid } from '../../support/api.ts';
import { closeBrowserSuite, startBrowserSuite } from '../../support/chromium.ts';
import type { TestServer } from '../../support/server.ts';
import { openDashboard, openPage, runPath } from './page.ts';

const DAY_MS = 86_400_000;
const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

describe('console: cost and spend', () => {
  let server: TestServer;
  let browser: Browser;
  let baseUrl: string;
  beforeAll(async () => void ({ server, browser, baseUrl } = await startBrowserSuite()), 180_000);
  afterAll(() => closeBrowserSuite({ server, browser }));

  /** A finished run of the agent and, unless `cents` is null, its cost event at `at`. */
  async function seedRun(agentId: string, at: Date, cents: number | null) {
    const [run] = await server.database.db
      .insert(heartbeatRuns)
      .values({ companyId: server.companyId, agentId, status: 'succeeded', createdAt: at, startedAt: at, finishedAt: at, resultJson: { ok: true } })
      .returning({ id: heartbeatRuns.id });
    if (cents !== null) {
      await server.database.db.insert(costEvents).values({
        companyId: server.companyId, runId: run.id, agentId, provider: 'anthropic', biller: 'anthropic', billingType: 'metered_api', model: 'claude-sonnet-4',
        inputTokens: 12_345, cachedInputTokens: 6_000, outputTokens: 789, costUsd: cents / 100, costCents: cents, occurredAt: at,
      });
    }
    return run.id;
  }

  it("shows a run's cost on its page, and the last 14 days' spend per day and per agent", async () => {
    const coder = await createAgent(server, { name: 'coder' });
    const reviewer = await createAgent(server, { name: 'reviewer' });
    const now = Date.now();
    const billed = await seedRun(coder, new Date(now - 60_000), 1_234);
    await seedRun(coder, new Date(now - 3 * DAY_MS), 300);
    await seedRun(reviewer, new Date(now - 3 * DAY_MS), 100);
    // Older than 14 days: not in the panel.
    await seedRun(reviewer, new Date(now - 20 * DAY_MS), 99_900);
    const unbilled = await seedRun(coder, new Date(now - 30_000), null);

    const { page, errors } = await openPage(browser);
    await openDashboard(page, baseUrl, server.adminKey, '/runs');
    const spend = page.getByTestId('spend');
    await expect.poll(() => page.getByTestId('spend-total').innerText(), { timeout: 15_000 }).toBe('$16.34');
    const days = spend.locator('[data-testid="spend-days"] .day');
    expect(await days.count()).toBe(14);
    expect(await days.last().getAttribute('data-day')).toBe(utcDay(now));
    expect(await spend.locator(`.day[data-day="${utcDay(now)}"]`).getAttribute('data-cents')).toBe('1234');
    expect(await spend.locator(`.day[data-day="${utcDay(now - 3 * DAY_MS)}"]`).getAttribute('data-cents')).toBe('400');
    expect(await page.getByTestId('spend-agents').innerText()).toBe('coder\n$15.34\nreviewer\n$1.00');

    await page.goto(`${baseUrl}${runPath(runGid(billed))}`);
    await expect.poll(() => page.getByTestId('run-cost').innerText(), { timeout: 15_000 }).toBe('$12.34 (1,234¢)\n12,345 in · 6,000 cached · 789 out\nmetered api · claude-sonnet-4');
    if (process.env.DASHBOARD_SCREENSHOTS) await page.screenshot({ path: `${process.env.DASHBOARD_SCREENSHOTS}/spend.png` });

    await page.goto(`${baseUrl}${runPath(runGid(unbilled))}`);
    // Its detail loaded (the result comes with it), and still no cost.
    await expect.poll(() => page.getByTestId('run-outcome').locator('details summary', { hasText: 'Result' }).count(), { timeout: 15_000 }).toBe(1);
    expect(await page.getByTestId('run-cost').count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);
});
