// Helpers for the console's browser tests: a page that may only talk to this machine, with what it
// requested recorded, and the console opened at a page with a key already saved.
import type { Browser, Page } from 'playwright-core';

export async function openPage(browser: Browser, viewport = { width: 1440, height: 900 }) {
  const page = await browser.newPage({ viewport });
  const blocked: string[] = [];
  const graphqlRequests: string[] = [];
  const notFound: string[] = [];
  const sockets: string[] = [];
  const errors: string[] = [];
  await page.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === '127.0.0.1' || url.protocol === 'blob:' || url.protocol === 'data:') return route.continue();
    blocked.push(url.href);
    return route.abort();
  });
  page.on('request', (request) => {
    if (new URL(request.url()).pathname === '/graphql') graphqlRequests.push(`${request.method()} ${request.postData() ?? request.url()}`);
  });
  page.on('response', (response) => response.status() === 404 && notFound.push(response.url()));
  page.on('websocket', (socket) => sockets.push(socket.url()));
  page.on('pageerror', (error) => errors.push(error.message));
  return { page, blocked, graphqlRequests, notFound, sockets, errors };
}

/** Opens the console at `baseUrl` + `path` signed in with `key` (saved as the sign-in form would). */
export async function openDashboard(page: Page, baseUrl: string, key: string, path = '/'): Promise<void> {
  await page.addInitScript((saved) => localStorage.setItem('heartbeat:apiKey', saved), key);
  await page.goto(`${baseUrl}${path}`);
}

/** The console's address of run `runId` (a global id). */
export const runPath = (runId: string) => `/runs/${encodeURIComponent(runId)}`;

/** The path and query the page shows now, decoded. */
export const pathOf = (page: Page) => {
  const url = new URL(page.url());
  return decodeURIComponent(url.pathname + url.search);
};

/** The row of run `runId` in the runs table. */
export const runRow = (page: Page, runId: string) => page.locator(`[data-testid="run-row"][data-run-id="${runId}"]`);

/** The page does not scroll sideways: everything fits the window's width. */
export const fitsWidth = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth);
