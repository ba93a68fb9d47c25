// The dashboard's layout and small manners, in a real browser against a real server: a long run
// keeps its events list usable and its columns visible at 1440x900, the list follows new events
// only from its bottom, the run's full id is shown, older runs load page by page, a narrow window
// brings the detail into view, and the sign-in takes a pasted "Bearer" header value.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heartbeatRuns } from '../../../db/schema.ts';
import { createAgent, createIssue, runGid } from '../../support/api.ts';
import { closeBrowserSuite, startBrowserSuite } from '../../support/chromium.ts';
import type { TestServer } from '../../support/server.ts';
import { waitFor } from '../../support/wait.ts';
import { openDashboard, openPage, runRow } from './page.ts';

const box = async (page: Page, testId: string) => (await page.getByTestId(testId).boundingBox())!;

/** The events list's scroll position. */
const eventsScroll = (page: Page) =>
  page.getByTestId('run-events').evaluate((list) => ({ top: list.scrollTop, height: list.clientHeight, content: list.scrollHeight, count: list.childElementCount }));

describe('dashboard layout', () => {
  let server: TestServer;
  let browser: Browser;
  let baseUrl: string;
  beforeAll(async () => void ({ server, browser, baseUrl } = await startBrowserSuite()), 180_000);
  afterAll(() => closeBrowserSuite({ server, browser }));

  it('signs in with a pasted "Bearer <key>", names the company once and asks for no favicon', async () => {
    const { page, notFound, errors } = await openPage(browser);
    await page.goto(`${baseUrl}/`);
    await page.getByTestId('key-input').fill(`Bearer ${server.adminKey}`);
    await page.getByTestId('key-submit').click();
    await expect.poll(() => page.getByTestId('live-state').getAttribute('data-state'), { timeout: 15_000 }).toBe('live');
    expect(await page.evaluate(() => localStorage.getItem('heartbeat:apiKey'))).toBe(server.adminKey);
    expect(await page.title()).toBe('Heartbeat'); // the default company is named Heartbeat too
    expect(notFound).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('keeps a long run readable: events scroll, follow the tail only from the bottom, columns stay visible', async () => {
    const name = `agent-with-an-extremely-long-name-${'x'.repeat(120)}`;
    const quick = Array.from({ length: 60 }, (_, i) => ({ event: { type: 'tool', message: `step ${i}`, payload: { i } } }));
    const paced = Array.from({ length: 92 }, (_, i) => [{ sleepMs: 120 }, { event: { type: 'tool', message: `step ${60 + i}`, payload: { i: 60 + i } } }]).flat();
    const agentId = await createAgent(server, { name, adapterConfig: { steps: [...quick, ...paced, { result: { ok: true }, summary: 'S'.repeat(600) }] } });
    const { wakeup } = await createIssue(server, { title: `Fix the ${'very '.repeat(40)}long issue title`, assigneeAgentId: agentId });
    const runId = wakeup!.run!.id;

    const { page, errors } = await openPage(browser);
    await openDashboard(page, baseUrl, server.adminKey);
    await runRow(page, runId).click();
    expect(await page.getByTestId('run-id').innerText()).toBe(runId); // the full id, not the short one
    await expect.poll(async () => (await eventsScroll(page)).count, { timeout: 15_000 }).toBeGreaterThanOrEqual(60);

    // Scrolled up to read: new events do not pull the list back down.
    await page.getByTestId('run-events').evaluate((list) => (list.scrollTop = 0));
    const seen = (await eventsScroll(page)).count;
    await expect.poll(async () => (await eventsScroll(page)).count, { timeout: 15_000 }).toBeGreaterThan(seen + 3);
    expect((await eventsScroll(page)).top).toBe(0);
    // Back at the bottom: it follows the tail again.
    await page.getByTestId('run-events').evaluate((list) => (list.scrollTop = list.scrollHeight));
    const atBottom = (await eventsScroll(page)).count;
    await expect.poll(async () => (await eventsScroll(page)).count, { timeout: 15_000 }).toBeGreaterThan(atBottom + 3);
    const following = await eventsScroll(page);
    expect(following.content - following.top - following.height).toBeLessThanOrEqual(2);

    // Finished, with its 600-character summary: the events list keeps its room and can scroll.
    await expect.poll(() => runRow(page, runId).getAttribute('data-status'), { timeout: 30_000 }).toBe('SUCCEEDED');
    await expect.poll(() => page.getByTestId('run-detail').innerText(), { timeout: 15_000 }).toContain('SSSS');
    await expect.poll(async () => (await eventsScroll(page)).count).toBeGreaterThanOrEqual(152); // and the lifecycle events
    const list = await eventsScroll(page);
    expect(list.height).toBeGreaterThanOrEqual(200);
    expect(list.content).toBeGreaterThan(list.height);
    const detail = await box(page, 'run-detail');
    const events = await box(page, 'run-events');
    expect(events.y + events.height).toBeLessThanOrEqual(detail.y + detail.height);
    expect(detail.y + detail.height).toBeLessThanOrEqual(900);
    // Nothing spills out of the pane sideways.
    expect(await page.getByTestId('run-detail').evaluate((pane) => pane.scrollWidth <= pane.clientWidth)).toBe(true);

    // Every column fits: long agent and issue cells are cut (full text in the tooltip), Retry and Duration stay visible.
    const wrap = await page.locator('.table-wrap').boundingBox();
    for (const header of ['Agent', 'Issue', 'Retry', 'Duration']) {
      const cell = (await page.locator('th', { hasText: header }).boundingBox())!;
      expect(cell.x + cell.width).toBeLessThanOrEqual(wrap!.x + wrap!.width + 1);
      expect(cell.width).toBeGreaterThan(60);
    }
    expect(await runRow(page, runId).locator('td.agent').getAttribute('title')).toBe(name);

    if (process.env.DASHBOARD_SCREENSHOTS) await page.screenshot({ path: `${process.env.DASHBOARD_SCREENSHOTS}/long-run.png` });
    // The top bar stays in view when the page scrolls.
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    expect((await page.locator('.topbar').boundingBox())!.y).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);

  it('loads older runs page by page and says how many are shown', async () => {
    const agentId = await createAgent(server, { name: 'seeded' });
    const start = Date.parse('2024-01-01T00:00:00Z');
    await server.database.db
      .insert(heartbeatRuns)
      .values(Array.from({ length: 120 }, (_, i) => ({ companyId: server.companyId, agentId, status: 'succeeded' as const, createdAt: new Date(start + i * 1_000) })));
    const total = (await server.database.db.select({ id: heartbeatRuns.id }).from(heartbeatRuns)).length;
    const oldest = (await server.database.db.query.heartbeatRuns.findFirst({ orderBy: { createdAt: 'asc' } }))!;

    const { page, errors } = await openPage(browser);
    await openDashboard(page, baseUrl, server.adminKey);
    const rows = page.locator('[data-testid="run-row"]');
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(50);
    expect(await page.getByTestId('runs-count').innerText()).toMatch(/^50 runs shown/);
    for (const expected of [100, Math.min(150, total)]) {
      await page.getByTestId('load-older').click();
      await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(expected);
    }
    while ((await rows.count()) < total) {
      const before = await rows.count();
      await page.getByTestId('load-older').click();
      await expect.poll(() => rows.count(), { timeout: 15_000 }).toBeGreaterThan(before);
    }
    await expect.poll(() => page.getByTestId('runs-count').innerText()).toBe(`${total} runs shown · no older runs`);
    expect(await page.getByTestId('load-older').isVisible()).toBe(false);
    expect(await rows.last().getAttribute('data-run-id')).toBe(runGid(oldest.id));
    expect(errors).toEqual([]);
    await page.close();
  });

  it('brings the detail into view when a run is clicked in a narrow window', async () => {
    const { page, errors } = await openPage(browser, { width: 1000, height: 800 });
    await openDashboard(page, baseUrl, server.adminKey);
    const row = page.locator('[data-testid="run-row"]').first();
    await waitFor('the runs', () => row.isVisible());
    expect((await box(page, 'run-detail')).y).toBeGreaterThan(800); // below the runs
    await row.click();
    await expect.poll(async () => (await box(page, 'run-detail')).y, { timeout: 5_000 }).toBeLessThan(400);
    expect((await box(page, 'run-detail')).y).toBeGreaterThanOrEqual(0);
    if (process.env.DASHBOARD_SCREENSHOTS) await page.screenshot({ path: `${process.env.DASHBOARD_SCREENSHOTS}/narrow.png` });
    expect(errors).toEqual([]);
    await page.close();
  });
});
