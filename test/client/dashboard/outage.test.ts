// The console through server outages, in a real browser against a real server that is stopped
// and started again on the same port: the indicator tells the truth, the page keeps trying for as
// long as the outage lasts, and once the server is back the banner goes, what failed meanwhile is
// fetched again, and live updates flow without a reload.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, enqueue, runFinished, runGid } from '../../support/api.ts';
import { launchChromium } from '../../support/chromium.ts';
import { createTestDatabase, type TestDatabase } from '../../support/database.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { openDashboard, openPage, pathOf, runRow } from './page.ts';

describe('console through an outage', () => {
  let database: TestDatabase;
  let server: TestServer | null;
  let browser: Browser;
  let port: string;
  let adminKey: string;
  let baseUrl: string;

  /** The server again, on the same port and database (the first server's key stays valid). */
  const restart = async () => {
    const next = await startTestServer({ database, env: { PORT: port } });
    server = { ...next, adminKey };
    return server;
  };
  const stop = async () => {
    await server?.close();
    server = null;
  };
  const up = () => server!;

  beforeAll(async () => {
    database = await createTestDatabase();
    server = await startTestServer({ database });
    port = new URL(server.graphqlUrl).port;
    adminKey = server.adminKey;
    baseUrl = `http://127.0.0.1:${port}`;
    browser = await launchChromium();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await database?.drop();
  });

  const liveState = (page: Page) => page.getByTestId('live-state').getAttribute('data-state');
  const bannerText = async (page: Page) => ((await page.getByTestId('error-banner').isVisible()) ? await page.getByTestId('error-banner').innerText() : '');

  it('clears its errors on recovery, fetches the selected run again and follows runs live', async () => {
    const agentId = await createAgent(up(), {
      name: 'reporter',
      adapterConfig: { steps: [{ event: { type: 'progress', message: 'reporting' } }, { result: { ok: true }, summary: 'reported' }] },
    });
    const first = await enqueue(up(), { agentId });
    const second = await enqueue(up(), { agentId });
    await runFinished(up(), first.runId!);
    await runFinished(up(), second.runId!);
    const { page, errors } = await openPage(browser);
    await openDashboard(page, baseUrl, adminKey, '/runs');
    await expect.poll(() => liveState(page), { timeout: 15_000 }).toBe('live');
    await runRow(page, runGid(first.runId!)).click();
    await expect.poll(() => page.getByTestId('run-events').innerText(), { timeout: 15_000 }).toContain('reporting');
    await page.goBack();

    await stop();
    // One failed attempt later the indicator says offline (not "reconnecting" for ever), with the reason.
    await expect.poll(() => liveState(page), { timeout: 15_000 }).toBe('offline');
    expect(await bannerText(page)).toMatch(/Live updates interrupted/);
    // Opening a run while the server is away fails...
    await runRow(page, runGid(second.runId!)).click();
    await expect.poll(() => bannerText(page), { timeout: 15_000 }).toMatch(/Cannot load the run/);

    await restart();
    // ...and once it is back: live, no banner, the run's result and events fetched again.
    await expect.poll(() => liveState(page), { timeout: 20_000 }).toBe('live');
    await expect.poll(() => bannerText(page), { timeout: 10_000 }).toBe('');
    await expect.poll(() => page.getByTestId('run-summary').innerText(), { timeout: 10_000 }).toBe('reported');
    await expect.poll(() => page.getByTestId('run-events').innerText(), { timeout: 10_000 }).toContain('reporting');
    // Live updates flow again: back on the runs page, a new run shows up by itself.
    await page.getByTestId('nav-runs').click();
    await expect.poll(() => pathOf(page)).toBe('/runs');
    const third = await enqueue(up(), { agentId });
    await expect.poll(() => runRow(page, runGid(third.runId!)).getAttribute('data-status'), { timeout: 15_000 }).toBe('SUCCEEDED');
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);

  it('keeps trying through a long outage (with the clock run forward) and is live soon after the server is back', async () => {
    const { page, sockets, errors } = await openPage(browser);
    // The page's timers on a clock the test runs forward: minutes of outage in seconds.
    await page.clock.install();
    await openDashboard(page, baseUrl, adminKey, '/runs');
    await expect.poll(() => liveState(page), { timeout: 15_000 }).toBe('live');

    await stop();
    await expect.poll(() => liveState(page), { timeout: 15_000 }).toBe('offline');
    // 20 attempts, at most 10 s apart: over 3 minutes, longer than any fixed number of retries would last.
    for (let attempt = 0; attempt < 20; attempt++) {
      const before = sockets.length;
      await page.clock.fastForward(10_500);
      await expect.poll(() => sockets.length, { timeout: 10_000 }).toBeGreaterThan(before);
      await expect.poll(() => liveState(page)).toBe('offline');
    }
    expect(await bannerText(page)).toMatch(/Live updates interrupted.*Next attempt/s);

    await restart();
    await page.clock.fastForward(10_500);
    await expect.poll(() => liveState(page), { timeout: 15_000 }).toBe('live');
    await expect.poll(() => bannerText(page), { timeout: 10_000 }).toBe('');
    const agentId = await createAgent(up(), { name: 'after-the-outage', adapterConfig: { steps: [{ result: { ok: true } }] } });
    const run = await enqueue(up(), { agentId });
    await expect.poll(() => runRow(page, runGid(run.runId!)).getAttribute('data-status'), { timeout: 15_000 }).toBe('SUCCEEDED');
    // The run of an agent the page had not seen brings the agent filter up to date.
    await page.clock.fastForward(5_000);
    await expect.poll(() => page.getByTestId('agent-filter').innerText(), { timeout: 15_000 }).toContain('after-the-outage');
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);
});
