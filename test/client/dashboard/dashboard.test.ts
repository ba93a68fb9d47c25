// The live dashboard in a real (headless) browser, against a real server: it signs in with a key,
// follows runs as they change over the WebSocket alone (no polling), shows a run's events, and
// cancels and retries runs from its buttons.
import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, enqueue, gql, rawId, runGid } from '../../support/api.ts';
import { closeBrowserSuite, startBrowserSuite } from '../../support/chromium.ts';
import type { TestServer } from '../../support/server.ts';
import { openPage } from './page.ts';

/** Records every value each run row's data-status takes, however fast the changes come. */
async function recordStatuses(page: Page) {
  await page.evaluate(() => {
    const history: Record<string, string[]> = {};
    (window as unknown as { statusHistory: typeof history }).statusHistory = history;
    new MutationObserver((records) => {
      for (const record of records) {
        const row = record.target as HTMLElement;
        if (row.dataset.testid !== 'run-row' || record.oldValue === null) continue;
        (history[row.dataset.runId!] ??= []).push(record.oldValue);
      }
    }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['data-status'], attributeOldValue: true });
  });
}

/** The statuses a row has shown, in order: the recorded earlier values, then its current one. */
async function statusesOf(page: Page, runId: string): Promise<string[]> {
  const values = await page.evaluate((id) => {
    const earlier = (window as unknown as { statusHistory: Record<string, string[]> }).statusHistory[id] ?? [];
    const row = document.querySelector<HTMLElement>(`[data-testid="run-row"][data-run-id="${id}"]`);
    return [...earlier, row?.dataset.status ?? '(no row)'];
  }, runId);
  return values.filter((value, i) => value !== values[i - 1]);
}

describe('dashboard', () => {
  let server: TestServer;
  let browser: Browser;
  let baseUrl: string;
  beforeAll(async () => void ({ server, browser, baseUrl } = await startBrowserSuite()), 180_000);
  afterAll(() => closeBrowserSuite({ server, browser }));

  it('serves the page at / and /dashboard and its bundle, uncached', async () => {
    for (const path of ['/', '/dashboard']) {
      const response = await fetch(`${baseUrl}${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(response.headers.get('cache-control')).toBe('no-cache');
      expect(await response.text()).toContain('<script type="module" src="/dashboard/app.js">');
    }
    const script = await fetch(`${baseUrl}/dashboard/app.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(script.headers.get('cache-control')).toBe('no-cache');
    expect((await script.text()).length).toBeGreaterThan(10_000);
    expect((await fetch(`${baseUrl}/dashboard/nothing-here`)).status).toBe(404);
  });

  it('follows runs live over the WebSocket, shows their events, cancels and retries', async () => {
    const builder = await createAgent(server, {
      name: 'builder',
      adapterConfig: {
        steps: [
          { event: { type: 'progress', message: 'compiling' } },
          { sleepMs: 1_000 },
          { event: { type: 'progress', message: 'tests passed' } },
          { result: { ok: true }, summary: 'built' },
        ],
      },
    });
    const { page, blocked, graphqlRequests, sockets, errors } = await openPage(browser);

    // Sign in once with the form; the key stays in localStorage.
    await page.goto(`${baseUrl}/dashboard`);
    await page.getByTestId('key-input').fill(server.adminKey);
    await page.getByTestId('key-submit').click();
    await expect.poll(() => page.evaluate(() => localStorage.getItem('heartbeat:apiKey'))).toBe(server.adminKey);
    await expect.poll(() => page.getByTestId('agents-list').innerText()).toContain('builder');
    await expect.poll(() => page.getByTestId('runs-table').isVisible()).toBe(true);
    await expect.poll(() => page.getByText('No runs yet').isVisible()).toBe(true);
    await expect.poll(() => server.app.hub.size, { timeout: 15_000 }).toBe(1); // the runStatus subscription
    const afterLoad = graphqlRequests.length;
    expect(afterLoad).toBeLessThanOrEqual(4); // viewer, runs, agents, spend
    await recordStatuses(page);

    // A run appears and moves through its states without a reload and without any HTTP request.
    const runA = runGid((await enqueue(server, { agentId: builder })).runId!);
    const rowA = page.locator(`[data-testid="run-row"][data-run-id="${runA}"]`);
    await expect.poll(() => rowA.getAttribute('data-status'), { timeout: 15_000 }).toBe('SUCCEEDED');
    expect(await statusesOf(page, runA)).toEqual(['QUEUED', 'RUNNING', 'SUCCEEDED']);
    expect(graphqlRequests.length).toBe(afterLoad);

    // Its events, in order.
    await rowA.click();
    const events = page.getByTestId('run-events');
    await expect.poll(() => events.innerText(), { timeout: 15_000 }).toContain('tests passed');
    const text = await events.innerText();
    expect(text.indexOf('compiling')).toBeLessThan(text.indexOf('tests passed'));
    await expect.poll(() => page.getByText('End of the run’s events.').isVisible()).toBe(true);
    expect(await page.getByTestId('cancel-button').count()).toBe(0);

    // A run of an agent the page has not seen yet: the agents list catches up; cancel it from the page.
    const sleeper = await createAgent(server, {
      name: 'long-runner',
      adapterConfig: { steps: [{ event: { type: 'progress', message: 'working on it' } }, { sleepMs: 120_000 }, { result: { ok: true } }] },
    });
    const runB = runGid((await enqueue(server, { agentId: sleeper })).runId!);
    const rowB = page.locator(`[data-testid="run-row"][data-run-id="${runB}"]`);
    await expect.poll(() => rowB.getAttribute('data-status'), { timeout: 15_000 }).toBe('RUNNING');
    const sleeperItem = page.getByTestId('agents-list').locator('li', { hasText: 'long-runner' });
    await expect.poll(() => sleeperItem.getAttribute('data-status')).toBe('RUNNING');
    expect(await page.locator('[data-testid="run-row"]').first().getAttribute('data-run-id')).toBe(runB); // newest first
    await rowB.click();
    await expect.poll(() => events.innerText()).toContain('working on it');
    await page.getByTestId('cancel-button').click();
    await expect.poll(() => rowB.getAttribute('data-status'), { timeout: 15_000 }).toBe('CANCELLED');
    await expect.poll(() => sleeperItem.getAttribute('data-status')).not.toBe('RUNNING');
    expect((await gql(server, 'query($id: ID!) { run(id: $id) { status } }', { id: runB })).run.status).toBe('CANCELLED');
    const stored = await server.database.db.query.heartbeatRuns.findFirst({ where: { id: rawId(runB) } });
    expect(stored?.status).toBe('cancelled');

    // Retry it from the page: the new run shows up at the top and gets selected.
    await page.getByTestId('retry-button').click();
    const firstRow = page.locator('[data-testid="run-row"]').first();
    await expect.poll(() => firstRow.getAttribute('data-run-id')).not.toBe(runB);
    const runC = (await firstRow.getAttribute('data-run-id'))!;
    await expect.poll(() => firstRow.getAttribute('data-status'), { timeout: 15_000 }).toBe('RUNNING');
    await expect.poll(() => page.getByTestId('cancel-button').isVisible()).toBe(true);
    await gql(server, 'mutation($id: ID!) { cancelRun(id: $id) { id } }', { id: runC });
    await expect.poll(() => page.locator(`[data-testid="run-row"][data-run-id="${runC}"]`).getAttribute('data-status')).toBe('CANCELLED');
    await expect.poll(() => page.getByTestId('retry-button').isVisible()).toBe(true);

    // A transient failure: the failed run offers a retry, the scheduled one counts down to its time.
    const flaky = await createAgent(server, {
      name: 'flaky',
      adapterConfig: { steps: [{ event: { type: 'progress', message: 'calling upstream' } }, { fail: { message: 'upstream 503', errorFamily: 'transient_upstream' } }] },
    });
    const runF = runGid((await enqueue(server, { agentId: flaky })).runId!);
    await expect.poll(() => page.locator(`[data-testid="run-row"][data-run-id="${runF}"]`).getAttribute('data-status'), { timeout: 15_000 }).toBe('FAILED');
    const scheduled = page.locator('[data-testid="run-row"][data-status="SCHEDULED_RETRY"]');
    await expect.poll(() => scheduled.count(), { timeout: 15_000 }).toBe(1);
    const countdown = scheduled.locator('[data-countdown]');
    const firstReading = await countdown.innerText();
    expect(firstReading).toMatch(/^in \d+m \d{2}s$/);
    await expect.poll(() => countdown.innerText(), { timeout: 5_000 }).not.toBe(firstReading); // ticks by itself

    // Back to the finished run for the picture.
    await rowA.click();
    await expect.poll(() => events.innerText()).toContain('tests passed');
    mkdirSync('test/artifacts', { recursive: true });
    await page.screenshot({ path: 'test/artifacts/dashboard.png' });

    // Only what a person's clicks asked for went over HTTP, besides the throttled agent reloads;
    // every live update came over one WebSocket. (urql sends queries as GET, mutations as POST.)
    // After the load: a Run query per opened or finished selected run, Agents at most every few
    // seconds while runs change, the two mutations; never the run list again.
    const extra = graphqlRequests.slice(afterLoad);
    const operations = extra.map((request) => /(?:query=|"operationName":")(?:query\+|mutation\+)?(\w+)/.exec(request)?.[1] ?? request);
    expect(operations.filter((name) => name !== 'Run' && name !== 'Agents').sort()).toEqual(['CancelRun', 'RetryRun']);
    expect(operations.filter((name) => name === 'Agents').length).toBeGreaterThanOrEqual(1);
    expect(operations.length).toBeLessThanOrEqual(30);
    expect(sockets).toEqual([`${baseUrl.replace(/^http/, 'ws')}/graphql`]);
    expect(await page.getByTestId('error-banner').isVisible()).toBe(false);
    expect(errors).toEqual([]);
    expect(blocked).toEqual([]);
    await page.close();
  }, 90_000);

  it('sends a refused key back to the key form with a visible error', async () => {
    const { page, blocked } = await openPage(browser);
    await page.addInitScript(() => localStorage.setItem('heartbeat:apiKey', 'hb_this-key-was-never-issued-0000000000'));
    await page.goto(`${baseUrl}/`);
    const bannerText = page.getByTestId('error-banner');
    await expect.poll(() => bannerText.isVisible(), { timeout: 15_000 }).toBe(true);
    expect(await bannerText.innerText()).toMatch(/refused/i);
    expect(await page.getByTestId('key-input').isVisible()).toBe(true);
    expect(await page.evaluate(() => localStorage.getItem('heartbeat:apiKey'))).toBeNull();
    mkdirSync('test/artifacts', { recursive: true });
    await page.screenshot({ path: 'test/artifacts/dashboard-refused-key.png' });
    expect(blocked).toEqual([]);
    await page.close();
  });
});
