// The Output box of a run's page, in a real browser against a real server: a finished run's log
// opens on its last window and pages backwards to its start, as plain text wrapped at the box's
// width; a running process run's plain-text output is followed live until the run ends; a log
// removed by retention says so.
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, enqueue, gql, runFinished, runGid } from '../../support/api.ts';
import { closeBrowserSuite, startBrowserSuite } from '../../support/chromium.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { waitFor } from '../../support/wait.ts';
import { openDashboard, openPage, pathOf, runPath, runRow } from './page.ts';
import { lastBytes, ticks } from '../../support/agent-output.ts';

const CHATTY = fileURLToPath(new URL('../../fixtures/agents/chatty-agent.mjs', import.meta.url));
const TICKER = fileURLToPath(new URL('../../fixtures/agents/ticker-agent.mjs', import.meta.url));
const PAGE_BYTES = 64 * 1024;



const logText = (page: Page) => page.getByTestId('run-log').evaluate((pre) => pre.textContent ?? '');
const logState = (page: Page) => page.getByTestId('log-state').innerText();

/** Opens the run's page, from the runs list. */
async function openLog(page: Page, baseUrl: string, key: string, runId: string): Promise<void> {
  await openDashboard(page, baseUrl, key, '/runs');
  await runRow(page, runId).click();
}

describe('console: a run’s output', () => {
  let server: TestServer;
  let browser: Browser;
  let baseUrl: string;
  let gates: string;
  beforeAll(async () => {
    ({ server, browser, baseUrl } = await startBrowserSuite());
    gates = await mkdtemp(join(tmpdir(), 'heartbeat-dashboard-log-'));
  }, 180_000);
  afterAll(async () => {
    await closeBrowserSuite({ server, browser });
    if (gates) await rm(gates, { recursive: true, force: true });
  });

  it('opens a finished run’s log on its last window and pages back to its start with "Load earlier"', async () => {
    const agentId = await createAgent(server, { name: 'chatty', adapterType: 'process', adapterConfig: { command: process.execPath, args: [CHATTY, '5000'] } });
    const { runId } = await enqueue(server, { agentId });
    await runFinished(server, runId!);
    const id = runGid(runId!);
    const whole: string = (await gql(server, 'query($id: ID!) { run(id: $id) { log } }', { id })).run.log;
    expect(Buffer.byteLength(whole)).toBeGreaterThan(2 * PAGE_BYTES); // three windows

    const { page, errors } = await openPage(browser);
    await openLog(page, baseUrl, server.adminKey, id);
    await expect.poll(() => logText(page), { timeout: 15_000 }).toBe(lastBytes(whole, PAGE_BYTES));
    await expect.poll(() => logState(page)).toBe('End of the log.');
    // Scrolled to its end; plain text in a monospace block that wraps at the box's width, not per character.
    const log = page.getByTestId('run-log');
    const box = await log.evaluate((pre) => {
      const style = getComputedStyle(pre);
      return { top: pre.scrollTop, height: pre.clientHeight, content: pre.scrollHeight, width: pre.clientWidth, whiteSpace: style.whiteSpace, font: style.fontFamily };
    });
    expect(box.content - box.top - box.height).toBeLessThanOrEqual(2);
    expect(box.height).toBeGreaterThanOrEqual(200);
    expect(box.width).toBeGreaterThanOrEqual(280);
    expect(box.whiteSpace).toBe('pre-wrap');
    expect(box.font).toMatch(/monospace/);
    // A line of 31 characters takes one line of the block; one of 60 wraps at its space and the pane's width.
    const linesTaken = (line: string) =>
      log.evaluate((pre, wanted) => {
        const text = pre.lastChild!;
        const start = text.textContent!.indexOf(`${wanted}\n`);
        const range = document.createRange();
        range.setStart(text, start);
        range.setEnd(text, start + wanted.length);
        return new Set([...range.getClientRects()].map((rect) => Math.round(rect.top))).size;
      }, line);
    expect(await linesTaken(`out 4970 é ${'x'.repeat(20)}`)).toBe(1);
    expect(await linesTaken(`out 4999 é ${'x'.repeat(49)}`)).toBeLessThanOrEqual(3);
    expect(await page.getByTestId('run-log-pane').evaluate((pane) => pane.scrollWidth <= pane.clientWidth)).toBe(true);
    if (process.env.DASHBOARD_SCREENSHOTS) await page.getByTestId('run-log-pane').screenshot({ path: `${process.env.DASHBOARD_SCREENSHOTS}/run-log.png` });

    // Earlier, window by window; what was in view stays in view (here, the top of what was shown).
    const earlier = page.getByTestId('log-earlier');
    expect(await earlier.isVisible()).toBe(true);
    const shownHeight = await log.evaluate((pre) => ((pre.scrollTop = 0), pre.scrollHeight));
    await earlier.click();
    await expect.poll(() => logText(page), { timeout: 15_000 }).toBe(lastBytes(whole, 2 * PAGE_BYTES));
    const scrolled = await log.evaluate((pre) => ({ top: pre.scrollTop, content: pre.scrollHeight }));
    expect(Math.abs(scrolled.top - (scrolled.content - shownHeight))).toBeLessThanOrEqual(2);
    while (await earlier.isVisible()) {
      const before = (await logText(page)).length;
      await earlier.click();
      await expect.poll(async () => (await logText(page)).length, { timeout: 15_000 }).toBeGreaterThan(before);
    }
    expect(await logText(page)).toBe(whole);

    // Its events beside it; back to the list and forward to the run again: the log's last window.
    await expect.poll(() => page.getByTestId('run-events').innerText(), { timeout: 15_000 }).toContain('run succeeded');
    await page.goBack();
    await expect.poll(() => pathOf(page)).toBe('/runs');
    await page.goForward();
    await expect.poll(() => logText(page), { timeout: 15_000 }).toBe(lastBytes(whole, PAGE_BYTES));
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);

  it('follows a running process run’s plain-text output live, until the run ends', async () => {
    const agentId = await createAgent(server, { name: 'ticker', adapterType: 'process', adapterConfig: { command: process.execPath, args: [TICKER, '20', '20'] } });
    const gate = join(gates, 'follow');
    const { runId } = await enqueue(server, { agentId, payload: { gate, pauseAfter: 10 } });
    const id = runGid(runId!);

    const { page, errors } = await openPage(browser);
    await openLog(page, baseUrl, server.adminKey, id);
    // Its first ten lines while it waits at its gate: the tab is following.
    await expect.poll(() => logText(page), { timeout: 15_000 }).toBe(ticks(0, 10));
    expect(await logState(page)).toMatch(/^Following/);
    expect(await page.getByTestId('run-status').getAttribute('data-status')).toBe('RUNNING');
    await writeFile(gate, '');
    await expect.poll(() => logText(page), { timeout: 15_000 }).toBe(ticks(0, 20));
    await expect.poll(() => logState(page), { timeout: 15_000 }).toBe('End of the log.');
    expect((await runFinished(server, runId!)).status).toBe('succeeded');
    await expect.poll(() => page.getByTestId('run-status').getAttribute('data-status'), { timeout: 15_000 }).toBe('SUCCEEDED');
    expect(await page.getByTestId('log-earlier').isVisible()).toBe(false);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('says "Log expired (removed by retention)" for a log the retention setting removed', async () => {
    // A server of its own: expiring logs removes every settled run's.
    const retained = await startTestServer({ env: { HEARTBEAT_LOG_RETENTION_DAYS: '1' } });
    try {
      const agentId = await createAgent(retained, { name: 'forgotten', adapterConfig: { steps: [{ log: 'soon gone' }] } });
      const { runId } = await enqueue(retained, { agentId });
      await runFinished(retained, runId!);
      await waitFor('the run settled', async () => (await retained.database.db.query.heartbeatRuns.findFirst({ where: { id: runId! } }))?.settledAt);
      expect(await retained.app.engine.expireLogs(new Date(Date.now() + 2 * 86_400_000))).toBeGreaterThanOrEqual(1);

      const { page, errors } = await openPage(browser);
      await openDashboard(page, retained.graphqlUrl.replace(/\/graphql$/, ''), retained.adminKey, runPath(runGid(runId!)));
      await expect.poll(() => logState(page), { timeout: 15_000 }).toBe('Log expired (removed by retention)');
      expect(await page.getByTestId('run-log').isVisible()).toBe(false);
      expect(await page.getByTestId('log-earlier').isVisible()).toBe(false);
      expect(errors).toEqual([]);
      await page.close();
    } finally {
      await retained.close();
    }
  }, 60_000);
});
