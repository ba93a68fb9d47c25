// The console's overview in a real browser against a real server: its uPlot charts draw (runs per
// minute, p95 duration, spend per day), its numbers follow the runs live (a run that starts and one
// that ends change "running now" without a reload, with reloads throttled however many runs change),
// and it lists the latest failed runs and the agents that need attention.
import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentGid, createAgent, enqueue, gql, runFinished, runGid } from '../../support/api.ts';
import { closeBrowserSuite, startBrowserSuite } from '../../support/chromium.ts';
import type { TestServer } from '../../support/server.ts';
import { fitsWidth, openDashboard, openPage, runRow } from './page.ts';

const SPENDER = { steps: [{ usage: { inputTokens: 2000, outputTokens: 300, costUsd: 0.4, billingType: 'metered_api', provider: 'anthropic' } }, { result: { ok: true } }] };

const figure = (page: Page, testId: string) => page.getByTestId(`${testId}-value`).innerText();

/** The size of the chart's canvas as laid out (0 x 0 when it did not draw). */
const canvasSize = (page: Page, testId: string) =>
  page.getByTestId(testId).evaluate((chart) => {
    const canvas = chart.querySelector('canvas');
    const box = canvas?.getBoundingClientRect();
    return { width: Math.round(box?.width ?? 0), height: Math.round(box?.height ?? 0), pixels: (canvas?.width ?? 0) * (canvas?.height ?? 0) };
  });

describe('console: overview', () => {
  let server: TestServer;
  let browser: Browser;
  let baseUrl: string;
  beforeAll(async () => void ({ server, browser, baseUrl } = await startBrowserSuite()), 180_000);
  afterAll(() => closeBrowserSuite({ server, browser }));

  it('draws its charts, follows the runs live and lists failed runs and agents needing attention', async () => {
    const spender = await createAgent(server, { name: 'spender', adapterConfig: SPENDER });
    const broken = await createAgent(server, { name: 'broken', adapterConfig: { steps: [{ fail: { message: 'disk full' } }] } });
    const parked = await createAgent(server, { name: 'parked' });
    const sleeper = await createAgent(server, { name: 'sleeper', adapterConfig: { steps: [{ sleepMs: 120_000 }, { result: { ok: true } }] } });
    await gql(server, 'mutation($id: ID!) { pauseAgent(id: $id) { id } }', { id: agentGid(parked) });
    await runFinished(server, (await enqueue(server, { agentId: spender })).runId!);
    const failed = (await enqueue(server, { agentId: broken })).runId!;
    await runFinished(server, failed);

    const { page, errors, graphqlRequests } = await openPage(browser, { width: 900, height: 1000 });
    const overviewRequests: number[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/graphql' && /Overview/.test(request.url() + (request.postData() ?? ''))) overviewRequests.push(Date.now());
    });
    await openDashboard(page, baseUrl, server.adminKey, '/');
    await expect.poll(() => figure(page, 'overview-spend'), { timeout: 15_000 }).toBe('$0.40');
    expect(await figure(page, 'overview-finished')).toBe('2');
    expect(await figure(page, 'overview-failed')).toBe('1');
    expect(await figure(page, 'overview-running')).toBe('0');

    // Each chart drew on a canvas of its own, as wide as its panel.
    for (const chart of ['chart-runs', 'chart-p95', 'chart-spend']) {
      await expect.poll(() => canvasSize(page, chart).then((size) => size.width > 100 && size.height > 50 && size.pixels > 0), { timeout: 15_000 }).toBe(true);
    }
    expect(await page.locator('[data-testid="chart-runs"] .u-legend').innerText()).toContain('Succeeded');

    // The failed run and the agents a person should look at.
    await expect.poll(() => runRow(page, runGid(failed)).getAttribute('data-status')).toBe('FAILED');
    const attention = page.getByTestId('attention-agent');
    await expect.poll(() => attention.evaluateAll((items) => items.map((item) => `${item.textContent?.includes('parked') ? 'parked' : 'broken'}:${(item as HTMLElement).dataset.status}`).sort())).toEqual([
      'broken:ERROR',
      'parked:PAUSED',
    ]);

    // A run starts and is cancelled: "running now" follows, without a reload of the page.
    const sleeping = (await enqueue(server, { agentId: sleeper })).runId!;
    await expect.poll(() => figure(page, 'overview-running'), { timeout: 15_000 }).toBe('1');
    await gql(server, 'mutation($id: ID!) { cancelRun(id: $id) { id } }', { id: runGid(sleeping) });
    await expect.poll(() => figure(page, 'overview-running'), { timeout: 15_000 }).toBe('0');
    await expect.poll(() => figure(page, 'overview-finished'), { timeout: 15_000 }).toBe('3');

    // Many runs changing at once: the overview is read again at most once per 2 s, not per change.
    const burstStart = Date.now();
    const before = overviewRequests.length;
    const runs = await Promise.all(Array.from({ length: 8 }, (_, i) => enqueue(server, { agentId: spender, reason: `burst-${i}`, payload: { taskKey: `burst-${i}` } })));
    for (const { runId } of runs) await runFinished(server, runId!);
    await expect.poll(() => figure(page, 'overview-finished'), { timeout: 20_000 }).toBe('11');
    const burstMs = Date.now() - burstStart;
    const reads = overviewRequests.length - before;
    expect(reads).toBeGreaterThanOrEqual(1);
    expect(reads).toBeLessThanOrEqual(Math.ceil(burstMs / 2_000) + 2);
    await expect.poll(() => figure(page, 'overview-spend'), { timeout: 15_000 }).toBe('$3.60');

    expect(await fitsWidth(page)).toBe(true);
    const shots = await mkdtemp(join(tmpdir(), 'heartbeat-overview-'));
    await page.screenshot({ path: join(shots, 'overview.png'), fullPage: true });
    expect((await stat(join(shots, 'overview.png'))).size).toBeGreaterThan(0);
    expect(graphqlRequests.length).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);
});
