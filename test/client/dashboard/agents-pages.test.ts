// The console's agents pages in a real browser against a real server: the list with each agent's
// last 7 days, the agent page by deep link and after a reload, creating an agent from the form
// (fields drawn from the adapter's JSON Schema; a config the API refuses shows its error by the field
// and creates nothing), editing, pausing, resuming and waking from the agent page with its new run
// appearing live, and a VIEWER key offered none of those actions.
import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentGid, createAgent, enqueue, gql, rawId, runFinished, runGid } from '../../support/api.ts';
import { closeBrowserSuite, startBrowserSuite } from '../../support/chromium.ts';
import type { TestServer } from '../../support/server.ts';
import { fitsWidth, openDashboard, openPage, pathOf, runRow } from './page.ts';

const agentPath = (id: string) => `/agents/${encodeURIComponent(id)}`;


describe('console: agents pages', () => {
  let server: TestServer;
  let browser: Browser;
  let baseUrl: string;
  let shots: string;
  beforeAll(async () => {
    ({ server, browser, baseUrl } = await startBrowserSuite());
    shots = await mkdtemp(join(tmpdir(), 'heartbeat-agents-pages-'));
  }, 180_000);
  afterAll(() => closeBrowserSuite({ server, browser }));

  const agentCount = async () => (await server.database.db.query.agents.findMany({ where: { companyId: server.companyId } })).length;

  it('lists every agent with its record and opens one by link, by deep link and after a reload', async () => {
    const steady = await createAgent(server, { name: 'steady', adapterConfig: { steps: [{ usage: { inputTokens: 1000, outputTokens: 200, costUsd: 0.25, billingType: 'metered_api', provider: 'anthropic' } }, { result: { ok: true } }] } });
    const shaky = await createAgent(server, { name: 'shaky', adapterConfig: { steps: [{ fail: { message: 'nope' } }] } });
    for (const agentId of [steady, steady, shaky]) await runFinished(server, (await enqueue(server, { agentId, reason: `seed-${Math.random()}` })).runId!);

    const { page, errors, blocked } = await openPage(browser, { width: 900, height: 900 });
    await openDashboard(page, baseUrl, server.adminKey, '/agents');
    const steadyRow = page.locator(`[data-testid="agent-row"][data-agent-id="${agentGid(steady)}"]`);
    const shakyRow = page.locator(`[data-testid="agent-row"][data-agent-id="${agentGid(shaky)}"]`);
    await expect.poll(() => steadyRow.getByTestId('agent-success-rate').innerText(), { timeout: 15_000 }).toBe('100%');
    expect(await steadyRow.getByTestId('agent-tokens').innerText()).toBe('2,400');
    expect(await steadyRow.getByTestId('agent-cost').innerText()).toBe('$0.50');
    expect(await steadyRow.innerText()).toContain('SCRIPT');
    expect(await steadyRow.innerText()).toMatch(/ago|just now/); // its last heartbeat
    expect(await shakyRow.getByTestId('agent-success-rate').innerText()).toBe('0%');
    expect(await fitsWidth(page)).toBe(true);
    await page.screenshot({ path: join(shots, 'agents.png'), fullPage: true });
    expect((await stat(join(shots, 'agents.png'))).size).toBeGreaterThan(0);

    // By link, then by reload: the same page, from the URL alone.
    await steadyRow.getByTestId('agent-link').click();
    await expect.poll(() => pathOf(page)).toBe(`/agents/${agentGid(steady)}`);
    await expect.poll(() => page.getByTestId('agent-name-heading').innerText(), { timeout: 15_000 }).toBe('steady');
    await page.reload();
    await expect.poll(() => page.getByTestId('agent-name-heading').innerText(), { timeout: 15_000 }).toBe('steady');
    expect(await page.getByTestId('agent-success-rate-value').innerText()).toBe('100%');
    expect(await page.getByTestId('agent-run-count-value').innerText()).toBe('2');
    expect(await page.getByTestId('agent-cost-value').innerText()).toBe('$0.50');
    expect(await page.getByTestId('agent-p95-value').innerText()).toMatch(/^\d+ ms$|^\d+s$/);
    expect(await page.locator('[data-testid="agent-runs"] [data-testid="run-row"]').count()).toBe(2);
    expect(await fitsWidth(page)).toBe(true);
    await page.screenshot({ path: join(shots, 'agent.png'), fullPage: true });
    expect((await stat(join(shots, 'agent.png'))).size).toBeGreaterThan(0);

    // A deep link in a fresh page, and an id that names nothing.
    const fresh = await openPage(browser);
    await openDashboard(fresh.page, baseUrl, server.adminKey, agentPath(agentGid(shaky)));
    await expect.poll(() => fresh.page.getByTestId('agent-name-heading').innerText(), { timeout: 15_000 }).toBe('shaky');
    await fresh.page.goto(`${baseUrl}${agentPath(agentGid('00000000-0000-4000-8000-000000000000'))}`);
    await expect.poll(() => fresh.page.getByTestId('agent-error').getAttribute('data-code'), { timeout: 15_000 }).toBe('NOT_FOUND');
    expect(fresh.errors).toEqual([]);
    await fresh.page.close();
    expect(errors).toEqual([]);
    expect(blocked).toEqual([]);
    await page.close();
  }, 120_000);

  it('creates an agent from the form; a config the API refuses shows the error by its field and creates nothing', async () => {
    const { page, errors } = await openPage(browser, { width: 900, height: 1000 });
    await openDashboard(page, baseUrl, server.adminKey, '/agents');
    await page.getByTestId('new-agent-button').click();
    const form = page.getByTestId('agent-form');
    await form.getByTestId('agent-name').fill('deployer');
    await form.getByTestId('agent-adapter-type').selectOption('PROCESS');
    // The PROCESS schema's fields, each with the input its kind takes.
    await expect.poll(() => form.getByTestId('config-field-command').isVisible(), { timeout: 15_000 }).toBe(true);
    expect(await form.getByTestId('config-field-args').evaluate((element) => element.tagName)).toBe('TEXTAREA');
    expect(await form.getByTestId('config-field-timeoutSec').getAttribute('type')).toBe('number');

    const before = await agentCount();
    await form.getByTestId('config-field-command').fill('node');
    await form.getByTestId('config-field-timeoutSec').fill('-5');
    await form.getByTestId('agent-submit').click();
    await expect.poll(() => form.getByTestId('agent-form-error').innerText(), { timeout: 15_000 }).toContain('adapterConfig.timeoutSec');
    expect(await form.getByTestId('config-error-timeoutSec').isVisible()).toBe(true);
    expect(await agentCount()).toBe(before);
    expect(pathOf(page)).toBe('/agents');
    await page.screenshot({ path: join(shots, 'agent-form-error.png'), fullPage: true });

    // A map that is not KEY=value lines is refused before anything is sent.
    await form.getByTestId('config-field-env').fill('JUST_A_NAME');
    expect(await form.getByTestId('config-error-env').innerText()).toContain('KEY=value');

    await form.getByTestId('config-field-timeoutSec').fill('30');
    await form.getByTestId('config-field-args').fill('-e\nprocess.exit(0)');
    await form.getByTestId('config-field-env').fill('STAGE=prod\nTOKEN=s3cret');
    await form.getByTestId('agent-timer-enabled').check();
    await form.getByTestId('agent-interval').fill('3600');
    await form.getByTestId('agent-submit').click();
    await expect.poll(() => pathOf(page), { timeout: 15_000 }).toMatch(/^\/agents\/.+/);
    await expect.poll(() => page.getByTestId('agent-name-heading').innerText(), { timeout: 15_000 }).toBe('deployer');
    expect(await agentCount()).toBe(before + 1);
    const id = pathOf(page).slice('/agents/'.length);
    const { agent } = await gql(server, 'query($id: ID!) { agent(id: $id) { adapterType adapterConfig heartbeat { enabled intervalSec } } }', { id });
    expect(agent).toEqual({
      adapterType: 'PROCESS',
      adapterConfig: { command: 'node', args: ['-e', 'process.exit(0)'], env: { STAGE: '***REDACTED***', TOKEN: '***REDACTED***' }, timeoutSec: 30 },
      heartbeat: { enabled: true, intervalSec: 3600 },
    });
    // The config as the API returns it: env values stay redacted on the page.
    expect(await page.getByTestId('agent-config-json').innerText()).toContain('***REDACTED***');
    expect(await page.getByTestId('agent-config-json').innerText()).not.toContain('s3cret');
    expect(await page.getByTestId('agent-timer').innerText()).toBe('every 3600 s');

    // Edit: the form starts from the agent as read; the redacted values sent back keep what is stored.
    await page.getByTestId('edit-agent').click();
    const edit = page.getByTestId('agent-form');
    expect(await edit.getByTestId('config-field-env').inputValue()).toBe('STAGE=***REDACTED***\nTOKEN=***REDACTED***');
    await edit.getByTestId('config-field-command').fill('/usr/bin/node');
    await edit.getByTestId('agent-submit').click();
    await expect.poll(() => page.getByTestId('agent-form').count(), { timeout: 15_000 }).toBe(0);
    await expect.poll(() => page.getByTestId('agent-config-json').innerText()).toContain('/usr/bin/node');
    const stored = await server.database.db.query.agents.findFirst({ where: { id: rawId(id) } });
    expect(stored?.adapterConfig).toMatchObject({ command: '/usr/bin/node', env: { STAGE: 'prod', TOKEN: 's3cret' } });
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('pauses, resumes and wakes the agent from its page; the new run appears and finishes live', async () => {
    const worker = await createAgent(server, { name: 'worker', adapterConfig: { steps: [{ sleepMs: 300 }, { result: { ok: true }, summary: 'done' }] } });
    const { page, errors } = await openPage(browser, { width: 900, height: 900 });
    await openDashboard(page, baseUrl, server.adminKey, agentPath(agentGid(worker)));
    const status = page.getByTestId('agent-status');
    await expect.poll(() => status.getAttribute('data-status'), { timeout: 15_000 }).not.toBe(null);

    await page.getByTestId('pause-agent').click();
    await expect.poll(() => status.getAttribute('data-status'), { timeout: 15_000 }).toBe('PAUSED');
    expect((await server.database.db.query.agents.findFirst({ where: { id: worker } }))?.status).toBe('paused');
    await page.getByTestId('resume-agent').click();
    await expect.poll(() => status.getAttribute('data-status'), { timeout: 15_000 }).not.toBe('PAUSED');
    expect((await server.database.db.query.agents.findFirst({ where: { id: worker } }))?.status).not.toBe('paused');

    // A payload that is not a JSON object is refused on the page; nothing is sent.
    await page.getByTestId('wake-payload').fill('[1, 2]');
    await page.getByTestId('wake-submit').click();
    expect(await page.getByTestId('wake-error').innerText()).toContain('JSON object');
    expect(await server.database.db.query.wakeupRequests.findMany({ where: { agentId: worker } })).toEqual([]);

    await page.getByTestId('wake-reason').fill('deploy please');
    await page.getByTestId('wake-payload').fill('{ "taskKey": "deploy-42" }');
    await page.getByTestId('wake-submit').click();
    await expect.poll(() => page.getByTestId('wake-result').getAttribute('data-outcome'), { timeout: 15_000 }).toBe('QUEUED');
    const [run] = await server.database.db.query.heartbeatRuns.findMany({ where: { agentId: worker } });
    const row = runRow(page, runGid(run.id));
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 15_000 }).toBe('SUCCEEDED');
    const { run: woken } = await gql(server, 'query($id: ID!) { run(id: $id) { context } }', { id: runGid(run.id) });
    expect(woken.context).toMatchObject({ payload: { taskKey: 'deploy-42' } });
    // Its numbers follow (a throttled reload on the run's changes), without reloading the page.
    await expect.poll(() => page.getByTestId('agent-success-rate-value').innerText(), { timeout: 15_000 }).toBe('100%');
    await page.screenshot({ path: join(shots, 'agent-woken.png'), fullPage: true });
    expect((await stat(join(shots, 'agent-woken.png'))).size).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('offers a VIEWER key no action on the agents pages', async () => {
    const agentId = await createAgent(server, { name: 'watched' });
    const { createApiKey } = await gql(server, 'mutation { createApiKey(name: "watcher", role: VIEWER) { key } }');
    const { page, errors } = await openPage(browser);
    await openDashboard(page, baseUrl, createApiKey.key, '/agents');
    await expect.poll(() => page.locator(`[data-testid="agent-row"][data-agent-id="${agentGid(agentId)}"]`).count(), { timeout: 15_000 }).toBe(1);
    expect(await page.getByTestId('new-agent-button').count()).toBe(0);
    await page.goto(`${baseUrl}${agentPath(agentGid(agentId))}`);
    await expect.poll(() => page.getByTestId('agent-name-heading').innerText(), { timeout: 15_000 }).toBe('watched');
    await expect.poll(() => page.getByTestId('agent-sessions').isVisible()).toBe(true);
    for (const control of ['edit-agent', 'pause-agent', 'resume-agent', 'wake-form', 'reset-all-sessions', 'reset-session']) {
      expect(await page.getByTestId(control).count(), control).toBe(0);
    }
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
