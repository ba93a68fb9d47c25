// The console's layout and small manners, in a real browser against a real server: the sign-in takes
// a pasted "Bearer" header value; a long run's page keeps its events list usable (it follows new
// events only from its bottom) and its context in a wide box that scrolls sideways; the runs table
// keeps its columns visible and loads older runs page by page; at 900 px nothing scrolls the page
// sideways.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heartbeatRuns } from '../../../db/schema.ts';
import { createAgent, createIssue, runGid } from '../../support/api.ts';
import { closeBrowserSuite, startBrowserSuite } from '../../support/chromium.ts';
import type { TestServer } from '../../support/server.ts';
import { openDashboard, openPage, runPath, runRow } from './page.ts';

/** The events list's scroll position. */
const eventsScroll = (page: Page) =>
  page.getByTestId('run-events').evaluate((list) => ({ top: list.scrollTop, height: list.clientHeight, content: list.scrollHeight, count: list.childElementCount }));

/** Whether the page itself scrolls sideways. */
const pageScrollsSideways = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);

describe('console layout', () => {
  let server: TestServer;
  let browser: Browser;
  let baseUrl: string;
  let longRun: string;
  beforeAll(async () => void ({ server, browser, baseUrl } = await startBrowserSuite()), 180_000);
  afterAll(() => closeBrowserSuite({ server, browser }));

  it('signs in with a pasted "Bearer <key>", names the company once and asks for no favicon', async () => {
    const { page, notFound, errors } = await openPage(browser);
    await page.goto(`${baseUrl}/runs`);
    await page.getByTestId('key-input').fill(`Bearer ${server.adminKey}`);
    await page.getByTestId('key-submit').click();
    await expect.poll(() => page.getByTestId('live-state').getAttribute('data-state'), { timeout: 15_000 }).toBe('live');
    expect(await page.evaluate(() => localStorage.getItem('heartbeat:apiKey'))).toBe(server.adminKey);
    expect(await page.title()).toBe('Heartbeat'); // the default company is named Heartbeat too
    expect(await page.locator('.company').count()).toBe(0);
    expect(await page.getByTestId('nav-runs').getAttribute('aria-current')).toBe('page');
    expect(notFound).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('keeps a long run readable: events scroll and follow the tail only from the bottom, the context scrolls sideways', async () => {
    const name = `agent-with-an-extremely-long-name-${'x'.repeat(120)}`;
    // 60 events at once, then one every 150 ms until the test says stop (a file appears): the run is
    // still writing while the page scrolls, however busy the machine; then its 600-character summary.
    const stop = join(await mkdtemp(join(tmpdir(), 'heartbeat-layout-')), 'stop');
    const script = [
      'i=0; while [ $i -lt 60 ]; do echo "{\\"type\\":\\"tool\\",\\"message\\":\\"step $i\\",\\"payload\\":{\\"i\\":$i}}"; i=$((i+1)); done',
      `while [ ! -e ${stop} ]; do echo "{\\"type\\":\\"tool\\",\\"message\\":\\"step $i\\",\\"payload\\":{\\"i\\":$i}}"; i=$((i+1)); sleep 0.15; done`,
      `echo '{"result":{"ok":true},"summary":"${'S'.repeat(600)}"}'`,
    ].join('\n');
    const agentId = await createAgent(server, { name, adapterType: 'process', adapterConfig: { command: 'sh', args: ['-c', script] } });
    const { wakeup } = await createIssue(server, { title: `Fix the ${'very '.repeat(40)}long issue title`, assigneeAgentId: agentId });
    longRun = wakeup!.run!.id;

    const { page, errors } = await openPage(browser);
    await openDashboard(page, baseUrl, server.adminKey, runPath(longRun));
    expect(await page.getByTestId('run-id').innerText()).toBe(longRun); // the full id, not the short one
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
    const written = following.count;
    await writeFile(stop, '');

    // Finished, with its 600-character summary: the events list keeps its room and scrolls in its box.
    await expect.poll(() => page.getByTestId('run-status').getAttribute('data-status'), { timeout: 60_000 }).toBe('SUCCEEDED');
    await expect.poll(() => page.getByTestId('run-summary').innerText(), { timeout: 15_000 }).toContain('SSSS');
    await expect.poll(async () => (await eventsScroll(page)).count).toBeGreaterThanOrEqual(written + 1); // and the lifecycle events
    const list = await eventsScroll(page);
    expect(list.height).toBeGreaterThanOrEqual(200);
    expect(list.height).toBeLessThanOrEqual(900);
    expect(list.content).toBeGreaterThan(list.height);
    // Each event has its time and, after the first, the time since the one before.
    expect(await page.locator('[data-testid="run-events"] li').nth(1).locator('.delta').innerText()).toMatch(/^\+\d+(ms|\.\ds|s)/);

    // The context: indented JSON in a box as wide as the page, its long lines scrolling sideways, not wrapped.
    const context = await page.getByTestId('run-context').evaluate((pre) => ({ width: pre.clientWidth, content: pre.scrollWidth, whiteSpace: getComputedStyle(pre).whiteSpace, text: pre.textContent ?? '' }));
    expect(context.text).toContain('\n  "');
    expect(context.whiteSpace).toBe('pre');
    expect(context.width).toBeGreaterThan(1_000);
    expect(context.content).toBeGreaterThan(context.width); // the issue's long title is one line
    expect(await pageScrollsSideways(page)).toBe(false);
    // The long agent name and issue title are cut, not spilling out of their card.
    expect(await page.getByTestId('run-detail').evaluate((facts) => facts.scrollWidth <= facts.clientWidth)).toBe(true);
    if (process.env.DASHBOARD_SCREENSHOTS) await page.screenshot({ path: `${process.env.DASHBOARD_SCREENSHOTS}/long-run.png`, fullPage: true });

    // The top bar stays in view when the page scrolls.
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    expect((await page.locator('.topbar').boundingBox())!.y).toBe(0);

    // In the runs table every column fits: long agent and issue cells are cut (full text in the tooltip).
    await page.getByTestId('nav-runs').click();
    await expect.poll(() => runRow(page, longRun).isVisible(), { timeout: 15_000 }).toBe(true);
    const wrap = (await page.locator('.table-wrap').boundingBox())!;
    for (const header of ['Agent', 'Issue', 'Source', 'Retry', 'Duration']) {
      const cell = (await page.locator('th', { hasText: header }).boundingBox())!;
      expect(cell.x + cell.width).toBeLessThanOrEqual(wrap.x + wrap.width + 1);
      expect(cell.width).toBeGreaterThan(60);
    }
    expect(await runRow(page, longRun).locator('td.agent').getAttribute('title')).toBe(name);
    expect(await runRow(page, longRun).locator('td.issue').innerText()).toMatch(/^[A-Z]+-\d+ Fix the very/);
    expect(errors).toEqual([]);
    await page.close();
  }, 150_000);

  it('fits a 900 px window: no page scrolls sideways, the top bar keeps its parts in view', async () => {
    const { page, errors } = await openPage(browser, { width: 900, height: 800 });
    await openDashboard(page, baseUrl, server.adminKey, '/runs');
    await expect.poll(() => page.locator('[data-testid="run-row"]').count(), { timeout: 15_000 }).toBeGreaterThan(0);
    expect(await pageScrollsSideways(page)).toBe(false);
    for (const part of ['nav-issues', 'live-state', 'sign-out']) {
      const box = (await page.getByTestId(part).boundingBox())!;
      expect(box.x + box.width, part).toBeLessThanOrEqual(900);
    }
    // A table wider than its box scrolls inside it.
    const wrap = await page.locator('.table-wrap').evaluate((element) => ({ overflowX: getComputedStyle(element).overflowX, width: element.clientWidth }));
    expect(wrap.overflowX).toBe('auto');
    expect(wrap.width).toBeLessThanOrEqual(900);
    await page.goto(`${baseUrl}${runPath(longRun)}`);
    await expect.poll(() => page.getByTestId('run-context').isVisible(), { timeout: 15_000 }).toBe(true);
    expect(await pageScrollsSideways(page)).toBe(false);
    // Output and timeline one under the other, each as wide as the page's column.
    const output = (await page.getByTestId('run-log-pane').boundingBox())!;
    const events = (await page.getByTestId('run-events').boundingBox())!;
    expect(events.y).toBeGreaterThan(output.y + output.height - 1);
    expect(output.width).toBeGreaterThan(800);
    if (process.env.DASHBOARD_SCREENSHOTS) await page.screenshot({ path: `${process.env.DASHBOARD_SCREENSHOTS}/narrow-run.png`, fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('loads older runs page by page and says how many are shown', async () => {
    const agentId = await createAgent(server, { name: 'seeded' });
    const start = Date.parse('2024-01-01T00:00:00Z');
    await server.database.db
      .insert(heartbeatRuns)
      .values(Array.from({ length: 120 }, (_, i) => ({ companyId: server.companyId, agentId, status: 'succeeded' as const, createdAt: new Date(start + i * 1_000) })));
    const total = (await server.database.db.select({ id: heartbeatRuns.id }).from(heartbeatRuns)).length;
    const oldest = (await server.database.db.query.heartbeatRuns.findFirst({ orderBy: { createdAt: 'asc' } }))!;

    const { page, errors } = await openPage(browser);
    await openDashboard(page, baseUrl, server.adminKey, '/runs');
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
});
