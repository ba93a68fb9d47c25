// A run's session on its page, in a real browser against a real server: the task it worked
// on, the session it resumed (or that it started a fresh one) and the one it left; nothing of the
// kind for a run with no task and no session.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heartbeatRuns } from '../../../db/schema.ts';
import { createAgent, runGid } from '../../support/api.ts';
import { closeBrowserSuite, startBrowserSuite } from '../../support/chromium.ts';
import type { TestServer } from '../../support/server.ts';
import { openDashboard, openPage, pathOf, runRow } from './page.ts';

describe('console: a run and its session', () => {
  let server: TestServer;
  let browser: Browser;
  let baseUrl: string;
  beforeAll(async () => void ({ server, browser, baseUrl } = await startBrowserSuite()), 180_000);
  afterAll(() => closeBrowserSuite({ server, browser }));

  it('shows the task key, the session resumed or "fresh session", and the session left', async () => {
    const agentId = await createAgent(server, { name: 'coder' });
    const finished = { companyId: server.companyId, agentId, status: 'succeeded' as const, startedAt: new Date(Date.now() - 5_000), finishedAt: new Date() };
    const [resumed, fresh, plain] = await server.database.db
      .insert(heartbeatRuns)
      .values([
        { ...finished, contextSnapshot: { taskKey: 'fix-dates' }, sessionIdBefore: 'sess-1', sessionIdAfter: 'sess-2' },
        { ...finished, contextSnapshot: { taskKey: 'fix-dates' }, sessionIdAfter: 'sess-1' },
        { ...finished, contextSnapshot: { wakeReason: 'manual' }, resultJson: { ok: true } },
      ])
      .returning({ id: heartbeatRuns.id });

    const { page, errors } = await openPage(browser);
    await openDashboard(page, baseUrl, server.adminKey, '/runs');
    const detail = page.getByTestId('run-detail');
    /** From the runs list to the run's page. */
    const open = async (id: string) => {
      if (pathOf(page) !== '/runs') await page.getByTestId('nav-runs').click();
      await runRow(page, runGid(id)).click();
      await expect.poll(() => pathOf(page)).toBe(`/runs/${runGid(id)}`);
    };

    await open(resumed.id);
    await expect.poll(() => page.getByTestId('run-session').innerText(), { timeout: 15_000 }).toBe('resumed sess-1\nleft sess-2');
    expect(await page.getByTestId('run-task-key').innerText()).toBe('fix-dates');
    if (process.env.DASHBOARD_SCREENSHOTS) await detail.screenshot({ path: `${process.env.DASHBOARD_SCREENSHOTS}/run-session.png` });

    await open(fresh.id);
    await expect.poll(() => page.getByTestId('run-session').innerText(), { timeout: 15_000 }).toBe('fresh session\nleft sess-1');

    await open(plain.id);
    // Its detail loaded (the result comes with it), and still nothing about sessions: no task, no session.
    await expect.poll(() => page.getByTestId('run-outcome').locator('details summary', { hasText: 'Result' }).count(), { timeout: 15_000 }).toBe(1);
    expect(await detail.isVisible()).toBe(true);
    expect(await page.getByTestId('run-session').count()).toBe(0);
    expect(await page.getByTestId('run-task-key').count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);
});
