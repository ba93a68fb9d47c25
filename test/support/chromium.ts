// Headless Chromium for browser tests: Debian's package, installed on first use when missing
// (these machines run as root with Debian's package index reachable).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { startTestServer, type TestServer } from './server.ts';

const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean) as string[];

function findChromium(): string | undefined {
  return CANDIDATES.find((path) => existsSync(path));
}

export function ensureChromium(): string {
  const found = findChromium();
  if (found) return found;
  if (process.getuid?.() !== 0) {
    throw new Error('Chromium is missing: install Debian\'s "chromium" package or set CHROMIUM_PATH');
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
  execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'ignore', env });
  const installed = findChromium();
  if (!installed) throw new Error('Installing chromium did not provide /usr/bin/chromium');
  return installed;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: ensureChromium(),
    headless: true,
    // The flags this workplace's machines need: no sandbox as root, no network chatter.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** What a browser suite runs against: a test server, Chromium, and the server's page URL. */
export interface BrowserSuite {
  server: TestServer;
  browser: Browser;
  /** http://127.0.0.1:<port> (the dashboard at /, GraphiQL at /graphql). */
  baseUrl: string;
}

export async function startBrowserSuite(): Promise<BrowserSuite> {
  const server = await startTestServer();
  const browser = await launchChromium();
  return { server, browser, baseUrl: server.graphqlUrl.replace(/\/graphql$/, '') };
}

export async function closeBrowserSuite(suite: Partial<BrowserSuite>): Promise<void> {
  await suite.browser?.close();
  await suite.server?.close();
}
