// GraphiQL in a real (headless) browser: it loads without internet access, loads the schema without
// a key, takes one key in its own field for every tab (HTTP and WebSocket alike), says at once when a
// subscription's key is refused, and opens with example tabs that run.
import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentGid, createAgent, enqueue, gql } from '../support/api.ts';
import { closeBrowserSuite, startBrowserSuite } from '../support/chromium.ts';
import type { TestServer } from '../support/server.ts';
import { waitFor } from '../support/wait.ts';

const OPERATION_EDITOR = 'section.graphiql-query-editor';
const HEADERS_EDITOR = 'section.graphiql-editor-tool[aria-label="Headers"]';

/** A fresh browser context (empty localStorage) on GraphiQL, recording what the page sends. */
async function openGraphiQL(browser: Browser, server: TestServer) {
  const context = await browser.newContext();
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const page = await context.newPage();
  const blocked: string[] = [];
  // Nothing may come from outside this machine.
  await page.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === '127.0.0.1' || url.protocol === 'blob:' || url.protocol === 'data:') return route.continue();
    blocked.push(url.href);
    return route.abort();
  });
  const sockets: string[] = [];
  const framesSent: string[] = [];
  page.on('websocket', (socket) => {
    sockets.push(socket.url());
    socket.on('framesent', (frame) => framesSent.push(String(frame.payload)));
  });
  const schemaFetch = page.waitForRequest((request) => request.method() === 'POST' && (request.postData() ?? '').includes('IntrospectionQuery'), { timeout: 60_000 });
  await page.goto(server.graphqlUrl);
  await pageReady(page);
  return { context, page, blocked, sockets, framesSent, schemaFetch };
}

/** GraphiQL is up and its editor shows the active tab's operation. */
async function pageReady(page: Page) {
  await page.locator('.graphiql-execute-button').waitFor({ timeout: 60_000 });
  await waitFor('the operation in the editor', async () => (await editorText(page, OPERATION_EDITOR)).length > 0, { timeoutMs: 30_000 });
}

/** Enters `key` in the page's API key field, as a person does once. */
async function enterKey(page: Page, key: string) {
  await page.fill('#heartbeat-key-input', key);
  await page.press('#heartbeat-key-input', 'Enter');
}

const keyStatus = (page: Page) => page.locator('#heartbeat-key-status').innerText();
/** The result pane's text, its whitespace collapsed. */
const resultText = async (page: Page) => (await page.locator('.result-window').innerText()).replace(/\s+/g, ' ');
const editorText = async (page: Page, editor: string) => (await page.locator(`${editor} .view-lines`).first().innerText()).replace(/\s+/g, ' ').trim();

/** Replaces what a Monaco editor holds, as pasting over a selection does (typed, it would close brackets itself). */
async function replaceEditorText(page: Page, editor: string, text: string) {
  await page.evaluate((pasted) => navigator.clipboard.writeText(pasted), text);
  await page.locator(`${editor} .monaco-editor`).first().click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Control+V');
  await waitFor('the pasted text in the editor', async () => (await editorText(page, editor)).replace(/\s/g, '') === text.replace(/\s/g, ''));
}

async function openTab(page: Page, title: string) {
  await page.locator('.graphiql-tab-button', { hasText: title }).click();
  await waitFor(`the ${title} tab`, async () => (await page.locator('.graphiql-tab-active').innerText()).includes(title));
}

const run = (page: Page) => page.locator('.graphiql-execute-button').click();

describe('GraphiQL', () => {
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => void ({ server, browser } = await startBrowserSuite()), 180_000);
  afterAll(() => closeBrowserSuite({ server, browser }));

  it('loads the schema and the Docs without a key, and gives no tab a placeholder header', async () => {
    const { context, page, blocked, schemaFetch } = await openGraphiQL(browser, server);
    try {
      const request = await schemaFetch;
      expect(request.headers().authorization).toBeUndefined();
      const response = await request.response();
      expect(response?.status()).toBe(200);
      expect(JSON.parse((await response?.text()) ?? '{}').data.__schema.queryType.name).toBe('Query');

      await page.locator('.graphiql-sidebar button[aria-label="Show Documentation Explorer"]').click();
      await page.locator('.graphiql-doc-explorer a', { hasText: /^Query$/ }).first().click();
      await expect.poll(() => page.locator('.graphiql-doc-explorer').innerText(), { timeout: 15_000 }).toContain('viewer');

      expect(await keyStatus(page)).toContain('No key yet');
      await page.locator('.graphiql-editor-tools button', { hasText: 'Headers' }).click();
      expect(await editorText(page, HEADERS_EDITOR)).toBe('');
      await page.locator('.graphiql-tab-add').click();
      expect(await editorText(page, HEADERS_EDITOR)).toBe('');
      expect(await page.content()).not.toContain('your key');

      // An operation without a key gets the server's answer; a subscription says what is missing.
      await openTab(page, 'Overview');
      await run(page);
      await expect.poll(() => resultText(page), { timeout: 15_000 }).toContain('UNAUTHENTICATED');
      await openTab(page, 'RunStatus');
      await run(page);
      await expect.poll(() => resultText(page), { timeout: 15_000 }).toContain('No API key');
      expect(blocked).toEqual([]);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('uses the one key entered for every tab: a runStatus subscription in a new tab gets live updates', async () => {
    const agentId = await createAgent(server, { adapterConfig: { steps: [{ sleepMs: 300 }, { result: { ok: true } }] } });
    const { context, page, blocked, framesSent } = await openGraphiQL(browser, server);
    try {
      await enterKey(page, server.adminKey);
      await expect.poll(() => keyStatus(page), { timeout: 15_000 }).toContain('(ADMIN)');
      await run(page);
      await expect.poll(() => resultText(page), { timeout: 15_000 }).toContain('"viewerRole": "ADMIN"');

      // A tab opened afterwards: no header of its own, the same key.
      await page.locator('.graphiql-tab-add').click();
      await waitFor('the new tab', async () => (await page.locator('.graphiql-tab').count()) === 5);
      await replaceEditorText(page, OPERATION_EDITOR, `subscription { runStatus(agentId: "${agentGid(agentId)}") { id status } }`);
      const subscribers = server.app.hub.size;
      await run(page);
      await expect.poll(() => server.app.hub.size, { timeout: 15_000 }).toBeGreaterThan(subscribers);
      const init = framesSent.map((frame) => JSON.parse(frame)).find((message) => message.type === 'connection_init');
      expect(init.payload).toEqual({ authorization: `Bearer ${server.adminKey}` });

      await enqueue(server, { agentId });
      await expect.poll(() => resultText(page), { timeout: 15_000 }).toContain('"status": "SUCCEEDED"');
      mkdirSync('test/artifacts', { recursive: true });
      await page.screenshot({ path: 'test/artifacts/graphiql-run-status.png' });
      expect(blocked).toEqual([]);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('says "API key refused" within 2 s when a subscription\'s key is refused, and connects with the next key', async () => {
    const { context, page, sockets, framesSent } = await openGraphiQL(browser, server);
    try {
      await enterKey(page, 'hb_not-a-key-of-this-server-000000');
      await expect.poll(() => keyStatus(page), { timeout: 15_000 }).toContain('API key refused');
      await openTab(page, 'RunStatus');
      await run(page);
      // The server closes the socket with 4403: an error at once, not a spinner while it retries.
      await waitFor('"API key refused" in the result', async () => (await resultText(page)).includes('API key refused'), { timeoutMs: 2_000 });
      expect(sockets).toHaveLength(1);
      await expect.poll(() => page.locator('.graphiql-execute-button').getAttribute('aria-label')).not.toMatch(/stop/i);

      // A new key is a new connection, which the server accepts.
      await enterKey(page, server.adminKey);
      await expect.poll(() => keyStatus(page), { timeout: 15_000 }).toContain('(ADMIN)');
      const subscribers = server.app.hub.size;
      await run(page);
      await expect.poll(() => server.app.hub.size, { timeout: 15_000 }).toBeGreaterThan(subscribers);
      expect(sockets).toHaveLength(2);
      const inits = framesSent.map((frame) => JSON.parse(frame)).filter((message) => message.type === 'connection_init');
      expect(inits.map((message) => message.payload.authorization)).toEqual(['Bearer hb_not-a-key-of-this-server-000000', `Bearer ${server.adminKey}`]);

      // Forget: the key leaves the browser, and the connection that used it closes.
      await page.locator('.heartbeat-key button', { hasText: 'Forget' }).click();
      await expect.poll(() => keyStatus(page)).toContain('No key yet');
      expect(await page.evaluate(() => localStorage.getItem('heartbeat:apiKey'))).toBeNull();
      await expect.poll(() => server.app.hub.size, { timeout: 15_000 }).toBeLessThanOrEqual(subscribers);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('opens with example tabs that run as they are once a key is entered', async () => {
    const { context, page } = await openGraphiQL(browser, server);
    try {
      expect(await page.locator('.graphiql-tab-button').allInnerTexts()).toEqual(['Overview', 'CreateAgent', 'Wake', 'RunStatus']);
      await enterKey(page, server.adminKey);
      await expect.poll(() => keyStatus(page), { timeout: 15_000 }).toContain('(ADMIN)');
      // Entered once: kept in this browser (where the console keeps its key), there after a reload.
      expect(await page.evaluate(() => localStorage.getItem('heartbeat:apiKey'))).toBe(server.adminKey);
      await page.reload();
      await page.locator('.graphiql-execute-button').waitFor({ timeout: 60_000 });
      // (GraphiQL itself adds an empty tab on a reload without ?query=: the examples are still there.)
      await openTab(page, 'Overview');
      await waitFor('the Overview operation', async () => (await editorText(page, OPERATION_EDITOR)).includes('query Overview'));
      await expect.poll(() => keyStatus(page), { timeout: 15_000 }).toContain('(ADMIN)');

      await run(page);
      await expect.poll(() => resultText(page), { timeout: 15_000 }).toContain('"viewerRole": "ADMIN"');

      await openTab(page, 'CreateAgent');
      await run(page);
      await expect.poll(() => resultText(page), { timeout: 15_000 }).toContain('"name": "first-agent"');
      const agents = await gql<{ agents: { edges: Array<{ node: { id: string; name: string } }> } }>(server, '{ agents(first: 100) { edges { node { id name } } } }');
      const created = agents.agents.edges.map((edge) => edge.node).find((agent) => agent.name === 'first-agent');
      expect(created).toBeDefined();

      // The subscription runs while a run changes (switching tabs would stop it).
      await openTab(page, 'RunStatus');
      const subscribers = server.app.hub.size;
      await run(page);
      await expect.poll(() => server.app.hub.size, { timeout: 15_000 }).toBeGreaterThan(subscribers);
      await gql(server, 'mutation($agent: ID!) { enqueueWakeup(input: { agentId: $agent }) { outcome } }', { agent: created!.id });
      await expect.poll(() => resultText(page), { timeout: 20_000 }).toContain('"status": "SUCCEEDED"');
      expect(await resultText(page)).toContain('"name": "first-agent"');

      // Wake runs as it is: it names the agent CreateAgent made.
      await openTab(page, 'Wake');
      await run(page);
      await expect.poll(() => resultText(page), { timeout: 15_000 }).toMatch(/"outcome": "(QUEUED|COALESCED)"/);
      expect(await resultText(page)).not.toContain('"errors"');
    } finally {
      await context.close();
    }
  }, 180_000);
});
