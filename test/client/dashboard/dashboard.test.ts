// The console in a real (headless) browser, against a real server: the server answers every console
// path with the app, it signs in with a key, the runs page follows runs as they change over the
// WebSocket alone (no polling), a run's page shows its events, and cancels and retries runs.
import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, enqueue, gql, rawId, runGid } from '../../support/api.ts';
import { closeBrowserSuite, startBrowserSuite } from '../../support/chromium.ts';
import type { TestServer } from '../../support/server.ts';
import { openPage, pathOf, runRow } from './page.ts';

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

describe('console', () => {
  let server: TestServer;
  let browser: Browser;
  let baseUrl: string;
  beforeAll(async () => void ({ server, browser, baseUrl } = await startBrowserSuite()), 180_000);
  afterAll(() => closeBrowserSuite({ server, browser }));

  it('serves the app at every console path (GET and HEAD) and its bundle, uncached; other paths stay 404', async () => {
    const paths = ['/', '/dashboard', '/runs', '/runs/SGVhcnRiZWF0UnVuOng%3D', '/agents', '/agents/abc', '/issues', '/issues/abc', '/runs/unknown/deeper'];
    for (const path of paths) {
      const response = await fetch(`${baseUrl}${path}?status=FAILED`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(response.headers.get('cache-control')).toBe('no-cache');
      const html = await response.text();
      expect(html).toContain('<script type="module" src="/dashboard/app.js">');
      expect(html).toContain('.uplot'); // uPlot's stylesheet, for the overview's charts
      const head = await fetch(`${baseUrl}${path}`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(Number(head.headers.get('content-length'))).toBe(Buffer.byteLength(html));
      expect(await head.text()).toBe('');
    }
    const script = await fetch(`${baseUrl}/dashboard/app.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(script.headers.get('cache-control')).toBe('no-cache');
    expect((await script.text()).length).toBeGreaterThan(10_000);
    for (const path of ['/dashboard/nothing-here', '/runsx', '/nothing', '/agentsfoo/1']) expect((await fetch(`${baseUrl}${path}`)).status, path).toBe(404);
    // The API's own paths are untouched.
    expect((await fetch(`${baseUrl}/healthz`)).status).toBe(200);
    const graphql = await fetch(`${baseUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${server.adminKey}` }, body: '{"query":"{ viewerRole }"}' });
    expect(await graphql.json()).toEqual({ data: { viewerRole: 'ADMIN' } });
  });

  it('follows runs live over the WebSocket, opens a run’s page with its events, cancels and retries', async () => {
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
    await page.goto(`${baseUrl}/runs`);
    await page.getByTestId('key-input').fill(server.adminKey);
    await page.getByTestId('key-submit').click();
    await expect.poll(() => page.evaluate(() => localStorage.getItem('heartbeat:apiKey'))).toBe(server.adminKey);
    const agentFilter = page.getByTestId('agent-filter');
    await expect.poll(() => agentFilter.innerText(), { timeout: 15_000 }).toContain('builder');
    await expect.poll(() => page.getByTestId('runs-table').isVisible()).toBe(true);
    await expect.poll(() => page.getByText('No runs yet').isVisible()).toBe(true);
    await expect.poll(() => server.app.hub.size, { timeout: 15_000 }).toBe(1); // the runStatus subscription
    const afterLoad = graphqlRequests.length;
    expect(afterLoad).toBeLessThanOrEqual(4); // viewer, runs, the filters' agents and issues, spend
    await recordStatuses(page);

    // A run appears and moves through its states without a reload and without any HTTP request.
    const runA = runGid((await enqueue(server, { agentId: builder })).runId!);
    const rowA = runRow(page, runA);
    await expect.poll(() => rowA.getAttribute('data-status'), { timeout: 15_000 }).toBe('SUCCEEDED');
    expect(await statusesOf(page, runA)).toEqual(['QUEUED', 'RUNNING', 'SUCCEEDED']);
    expect(graphqlRequests.length).toBe(afterLoad);
    // No issue: the Issue column says so, and the source has a column of its own.
    expect(await rowA.locator('td.issue').innerText()).toBe('—');
    expect(await rowA.locator('td.source').innerText()).toBe('on demand');

    // Its page, with its events in order.
    await rowA.click();
    await expect.poll(() => pathOf(page)).toBe(`/runs/${runA}`);
    const events = page.getByTestId('run-events');
    await expect.poll(() => events.innerText(), { timeout: 15_000 }).toContain('tests passed');
    const text = await events.innerText();
    expect(text.indexOf('compiling')).toBeLessThan(text.indexOf('tests passed'));
    await expect.poll(() => page.getByText('End of the run’s events.').isVisible()).toBe(true);
    expect(await page.getByTestId('run-status').innerText()).toBe('succeeded');
    expect(await page.getByTestId('cancel-button').count()).toBe(0);

    // Back to the list: the same rows at once, not read again.
    await page.goBack();
    await expect.poll(() => pathOf(page)).toBe('/runs');
    expect(await rowA.getAttribute('data-status')).toBe('SUCCEEDED');

    // A run of an agent the page has not seen yet: the agent filter catches up; cancel the run from its page.
    const sleeper = await createAgent(server, {
      name: 'long-runner',
      adapterConfig: { steps: [{ event: { type: 'progress', message: 'working on it' } }, { sleepMs: 120_000 }, { result: { ok: true } }] },
    });
    const runB = runGid((await enqueue(server, { agentId: sleeper })).runId!);
    const rowB = runRow(page, runB);
    await expect.poll(() => rowB.getAttribute('data-status'), { timeout: 15_000 }).toBe('RUNNING');
    await expect.poll(() => agentFilter.innerText(), { timeout: 15_000 }).toContain('long-runner');
    expect(await page.locator('[data-testid="run-row"]').first().getAttribute('data-run-id')).toBe(runB); // newest first
    await rowB.click();
    await expect.poll(() => events.innerText(), { timeout: 15_000 }).toContain('working on it');
    await page.getByTestId('cancel-button').click();
    const status = page.getByTestId('run-status');
    await expect.poll(() => status.getAttribute('data-status'), { timeout: 15_000 }).toBe('CANCELLED');
    expect((await gql(server, 'query($id: ID!) { run(id: $id) { status } }', { id: runB })).run.status).toBe('CANCELLED');
    const stored = await server.database.db.query.heartbeatRuns.findFirst({ where: { id: rawId(runB) } });
    expect(stored?.status).toBe('cancelled');

    // Retry it from its page: the new run's page opens, linked back to the run it retries.
    await page.getByTestId('retry-button').click();
    await expect.poll(() => pathOf(page)).not.toBe(`/runs/${runB}`);
    const runC = pathOf(page).slice('/runs/'.length);
    await expect.poll(() => page.getByTestId('run-page').getAttribute('data-run-id')).toBe(runC);
    await expect.poll(() => status.getAttribute('data-status'), { timeout: 15_000 }).toBe('RUNNING');
    expect(await page.getByTestId('retry-of-link').getAttribute('data-run-id')).toBe(runB);
    await expect.poll(() => page.getByTestId('cancel-button').isVisible()).toBe(true);
    await gql(server, 'mutation($id: ID!) { cancelRun(id: $id) { id } }', { id: runC });
    await expect.poll(() => status.getAttribute('data-status'), { timeout: 15_000 }).toBe('CANCELLED');
    await expect.poll(() => page.getByTestId('retry-button').isVisible()).toBe(true);

    // A transient failure, on the runs page: the failed run and its scheduled retry, counting down to its time.
    await page.getByTestId('nav-runs').click();
    const flaky = await createAgent(server, {
      name: 'flaky',
      adapterConfig: { steps: [{ event: { type: 'progress', message: 'calling upstream' } }, { fail: { message: 'upstream 503', errorFamily: 'transient_upstream' } }] },
    });
    const runF = runGid((await enqueue(server, { agentId: flaky })).runId!);
    await expect.poll(() => runRow(page, runF).getAttribute('data-status'), { timeout: 15_000 }).toBe('FAILED');
    expect(await runRow(page, runC).getAttribute('data-status')).toBe('CANCELLED'); // changed while its page was open
    const scheduled = page.locator('[data-testid="run-row"][data-status="SCHEDULED_RETRY"]');
    await expect.poll(() => scheduled.count(), { timeout: 15_000 }).toBe(1);
    const countdown = scheduled.locator('[data-countdown]');
    const firstReading = await countdown.innerText();
    expect(firstReading).toMatch(/^in \d+m \d{2}s$/);
    await expect.poll(() => countdown.innerText(), { timeout: 5_000 }).not.toBe(firstReading); // ticks by itself
    mkdirSync('test/artifacts', { recursive: true });
    await page.screenshot({ path: 'test/artifacts/dashboard.png' });

    // Only what a person's clicks asked for went over HTTP; every live update came over one
    // WebSocket. (urql sends queries as GET, mutations as POST.) After the load: a RunPage query
    // per run opened or finished on its page, its output windows (RunLogWindow) while its page is
    // open, the filters' agents again when a new agent shows up, the spend panel each time the
    // runs page is shown, the two mutations; never the run list again.
    const extra = graphqlRequests.slice(afterLoad);
    const operations = extra.map((request) => /(?:query=|"operationName":")(?:query\+|mutation\+)?(\w+)/.exec(request)?.[1] ?? request);
    const pageReads = new Set(['RunPage', 'RunLogWindow', 'RunsFilterOptions', 'Spend']);
    expect(operations.filter((name) => !pageReads.has(name)).sort()).toEqual(['CancelRun', 'RetryRun']);
    expect(operations.filter((name) => name === 'RunsFilterOptions').length).toBeGreaterThanOrEqual(1);
    expect(operations.filter((name) => name === 'RunsFilterOptions').length).toBeLessThanOrEqual(3);
    expect(operations.length).toBeLessThanOrEqual(60);
    expect(sockets).toEqual([`${baseUrl.replace(/^http/, 'ws')}/graphql`]);
    expect(await page.getByTestId('error-banner').isVisible()).toBe(false);
    expect(errors).toEqual([]);
    expect(blocked).toEqual([]);
    await page.close();
  }, 120_000);

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
