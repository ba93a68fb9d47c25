// GraphiQL in a real (headless) browser: it loads without internet access, takes the key from its
// Headers tab, and shows a runStatus subscription updating live over WebSocket.
import { mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, enqueue } from '../support/api.ts';
import { closeBrowserSuite, startBrowserSuite } from '../support/chromium.ts';
import type { TestServer } from '../support/server.ts';

describe('GraphiQL', () => {
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => void ({ server, browser } = await startBrowserSuite()), 180_000);
  afterAll(() => closeBrowserSuite({ server, browser }));

  it('runs a runStatus subscription over WebSocket and shows the live update', async () => {
    const agentId = await createAgent(server, { adapterConfig: { steps: [{ sleepMs: 300 }, { result: { ok: true } }] } });
    const page = await browser.newPage();
    const blocked: string[] = [];
    // Nothing may come from outside this machine.
    await page.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.hostname === '127.0.0.1' || url.protocol === 'blob:' || url.protocol === 'data:') return route.continue();
      blocked.push(url.href);
      return route.abort();
    });
    // What a person does once in the Headers tab; GraphiQL keeps it in its storage.
    await page.addInitScript((key) => {
      localStorage.setItem('graphiql:shouldPersistHeaders', 'true');
      localStorage.setItem('graphiql:headers', JSON.stringify({ Authorization: `Bearer ${key}` }));
    }, server.adminKey);
    const query = 'subscription { runStatus { id status agent { name } } }';
    await page.goto(`${server.graphqlUrl}?query=${encodeURIComponent(query)}`);
    await page.locator('.graphiql-execute-button').click();
    await expect.poll(() => server.app.hub.size, { timeout: 15_000 }).toBe(1);

    await enqueue(server, { agentId });
    const result = page.locator('.result-window');
    await expect.poll(async () => (await result.innerText()).replace(/\s+/g, ' '), { timeout: 15_000 }).toContain('"status": "SUCCEEDED"');
    mkdirSync('test/artifacts', { recursive: true });
    await page.screenshot({ path: 'test/artifacts/graphiql-run-status.png' });
    expect(blocked).toEqual([]);
  }, 60_000);
});
