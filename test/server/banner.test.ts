// The start banner names where to go: the console (the app's root page) and GraphiQL, each a URL that
// answers on the running server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startupBanner } from '../../server/banner.ts';
import { DASHBOARD_SCRIPT_PATH } from '../../server/dashboard.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe('the start banner', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  const banner = () => startupBanner(server.app, { databaseUrl: server.database.url, dataDir: server.dataDir, bootstrapKey: server.adminKey });

  it('shows the console URL, the root of the app, above GraphiQL', () => {
    const lines = banner().split('\n');
    const consoleLine = lines.findIndex((line) => line === `  Console:   ${server.app.url}/`);
    const graphiql = lines.findIndex((line) => line === `  GraphiQL:  ${server.graphqlUrl}`);
    expect(consoleLine).toBeGreaterThan(0);
    expect(graphiql).toBe(consoleLine + 1);
  });

  it('its console URL serves the console page', async () => {
    const [, url] = /Console:\s+(\S+)/.exec(banner())!;
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await response.text()).toContain(`src="${DASHBOARD_SCRIPT_PATH}"`);
  });
});
