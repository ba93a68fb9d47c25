// The console's issues pages in a real browser against a real server: the list filtered by status
// (kept in the URL), "New issue" (a refused one creates nothing), the issue page by deep link and
// after a reload with its blockers as links, commenting and assigning from the page (the assignment
// wakes the agent: its run enters the ledger and finishes live, its comment and the continuation
// summary appear), and a VIEWER key offered none of the actions.
import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentGid, createAgent, createIssue, gql, issueGid, rawId, runGid } from '../../support/api.ts';
import { closeBrowserSuite, startBrowserSuite } from '../../support/chromium.ts';
import type { TestServer } from '../../support/server.ts';
import { waitFor } from '../../support/wait.ts';
import { fitsWidth, openDashboard, openPage, pathOf, runRow } from './page.ts';

const issuePath = (id: string) => `/issues/${encodeURIComponent(id)}`;
const issueRow = (page: Page, id: string) => page.locator(`[data-testid="issue-row"][data-issue-id="${id}"]`);

describe('console: issues pages', () => {
  let server: TestServer;
  let browser: Browser;
  let baseUrl: string;
  let shots: string;
  beforeAll(async () => {
    ({ server, browser, baseUrl } = await startBrowserSuite());
    shots = await mkdtemp(join(tmpdir(), 'heartbeat-issues-pages-'));
  }, 180_000);
  afterAll(() => closeBrowserSuite({ server, browser }));

  const issueCount = async () => (await server.database.db.query.issues.findMany({ where: { companyId: server.companyId } })).length;

  it('lists issues filtered by status, creates one from the form and opens it by deep link and after a reload', async () => {
    const login = issueGid((await createIssue(server, { title: 'Fix login', status: 'TODO', priority: 'HIGH' })).issueId);
    const docs = issueGid((await createIssue(server, { title: 'Write docs', status: 'DONE', priority: 'LOW' })).issueId);
    const { page, errors } = await openPage(browser, { width: 900, height: 900 });
    await openDashboard(page, baseUrl, server.adminKey, '/issues');
    await expect.poll(() => issueRow(page, login).count(), { timeout: 15_000 }).toBe(1);
    const loginText = await issueRow(page, login).innerText();
    for (const part of ['Fix login', 'todo', 'high', '—']) expect(loginText).toContain(part);
    expect(await issueRow(page, login).getByTestId('issue-link').innerText()).toMatch(/^[A-Z]+-\d+$/);

    // The filter lives in the URL: it survives a reload.
    await page.getByTestId('issue-status-filter').selectOption('DONE');
    await expect.poll(() => pathOf(page)).toBe('/issues?status=DONE');
    // The API filters: the list is read again.
    await expect.poll(() => issueRow(page, docs).count(), { timeout: 15_000 }).toBe(1);
    expect(await issueRow(page, login).count()).toBe(0);
    await page.reload();
    await expect.poll(() => issueRow(page, docs).count(), { timeout: 15_000 }).toBe(1);
    expect(await issueRow(page, login).count()).toBe(0);
    expect(await page.getByTestId('issue-status-filter').inputValue()).toBe('DONE');
    expect(await fitsWidth(page)).toBe(true);
    await page.screenshot({ path: join(shots, 'issues.png'), fullPage: true });
    expect((await stat(join(shots, 'issues.png'))).size).toBeGreaterThan(0);

    // A title the API refuses: its error is shown and nothing is created.
    const before = await issueCount();
    await page.getByTestId('new-issue-button').click();
    await page.getByTestId('issue-title').fill('   ');
    await page.getByTestId('issue-submit').click();
    await expect.poll(() => page.getByTestId('issue-form-error').innerText(), { timeout: 15_000 }).toContain('title');
    expect(await issueCount()).toBe(before);

    await page.getByTestId('issue-title').fill('Ship the release');
    await page.getByTestId('issue-description').fill('Line one\nLine two');
    await page.getByTestId('issue-priority').selectOption('CRITICAL');
    await page.getByTestId('issue-submit').click();
    await expect.poll(() => pathOf(page), { timeout: 15_000 }).toMatch(/^\/issues\/.+/);
    await expect.poll(() => page.getByTestId('issue-title-heading').innerText(), { timeout: 15_000 }).toBe('Ship the release');
    expect(await issueCount()).toBe(before + 1);
    const created = pathOf(page).slice('/issues/'.length);
    expect(await page.getByTestId('issue-description').innerText()).toContain('Line one\nLine two');
    expect(await page.getByTestId('issue-priority-label').innerText()).toBe('critical');
    await page.reload();
    await expect.poll(() => page.getByTestId('issue-title-heading').innerText(), { timeout: 15_000 }).toBe('Ship the release');

    // A deep link in a fresh page, and an id that names nothing.
    const fresh = await openPage(browser);
    await openDashboard(fresh.page, baseUrl, server.adminKey, issuePath(created));
    await expect.poll(() => fresh.page.getByTestId('issue-title-heading').innerText(), { timeout: 15_000 }).toBe('Ship the release');
    await fresh.page.goto(`${baseUrl}${issuePath(issueGid('00000000-0000-4000-8000-000000000000'))}`);
    await expect.poll(() => fresh.page.getByTestId('issue-error').getAttribute('data-code'), { timeout: 15_000 }).toBe('NOT_FOUND');
    expect(fresh.errors).toEqual([]);
    await fresh.page.close();
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('comments on and assigns the issue from its page; the woken run enters the ledger and finishes live', async () => {
    const fixer = await createAgent(server, {
      name: 'fixer',
      adapterConfig: { steps: [{ sleepMs: 300 }, { comment: 'on it, fixed in abc123' }, { result: { ok: true }, summary: 'fixed the bug' }] },
    });
    const issue = issueGid((await createIssue(server, { title: 'Crash on save' })).issueId);
    const blocker = issueGid((await createIssue(server, { title: 'Upgrade the driver', status: 'DONE' })).issueId);
    await gql(server, 'mutation($input: AddIssueBlockerInput!) { addIssueBlocker(input: $input) { id } }', { input: { issueId: issue, blockerIssueId: blocker } });

    const { page, errors } = await openPage(browser, { width: 900, height: 1000 });
    await openDashboard(page, baseUrl, server.adminKey, issuePath(issue));
    await expect.poll(() => page.getByTestId('issue-title-heading').innerText(), { timeout: 15_000 }).toBe('Crash on save');
    expect(await page.getByTestId('blocker-link').innerText()).toContain('Upgrade the driver');
    expect(await page.getByTestId('issue-runs').innerText()).toContain('No run has worked on it yet.');

    // A person's comment, shown as theirs.
    await page.getByTestId('comment-input').fill('It crashes when the disk is full.');
    await page.getByTestId('comment-submit').click();
    const comments = page.getByTestId('comment');
    await expect.poll(() => comments.count(), { timeout: 15_000 }).toBe(1);
    expect(await comments.first().innerText()).toContain('It crashes when the disk is full.');
    expect(await comments.first().locator('[data-author]').getAttribute('data-author')).toBe('person');
    expect(await page.getByTestId('comment-input').inputValue()).toBe('');
    const stored = await server.database.db.query.issueComments.findMany({ where: { issueId: rawId(issue) } });
    expect(stored.map((comment) => comment.body)).toEqual(['It crashes when the disk is full.']);

    // Assigning wakes the agent: its run enters the ledger and finishes there without a reload.
    await page.getByTestId('assign-select').selectOption(agentGid(fixer));
    await page.getByTestId('assign-submit').click();
    await expect.poll(() => page.getByTestId('assign-wakeup').getAttribute('data-outcome'), { timeout: 15_000 }).toBe('QUEUED');
    const run = await waitFor('the assignment run', async () => (await server.database.db.query.heartbeatRuns.findMany({ where: { agentId: fixer } }))[0]);
    const ledgerRow = page.getByTestId('issue-runs').locator(`[data-testid="run-row"][data-run-id="${runGid(run.id)}"]`);
    await expect.poll(() => ledgerRow.getAttribute('data-status'), { timeout: 20_000 }).toBe('SUCCEEDED');
    await expect.poll(() => page.getByTestId('issue-assignee').innerText()).toContain('fixer');
    // What the run wrote shows up too: its comment (by the agent) and the continuation summary.
    await expect.poll(() => comments.count(), { timeout: 15_000 }).toBe(2);
    expect(await comments.nth(1).innerText()).toContain('on it, fixed in abc123');
    expect(await comments.nth(1).locator('[data-author]').getAttribute('data-author')).toBe('agent');
    await expect.poll(() => page.locator('[data-testid="document"][data-key="continuation-summary"]').count(), { timeout: 15_000 }).toBe(1);
    // The only document is shown open, its latest body in full.
    expect(await page.locator('[data-testid="document"][data-key="continuation-summary"] [data-testid="document-body"]').innerText()).toContain('fixed the bug');
    expect(await runRow(page, runGid(run.id)).count()).toBe(1);
    expect(await fitsWidth(page)).toBe(true);
    await page.screenshot({ path: join(shots, 'issue.png'), fullPage: true });
    expect((await stat(join(shots, 'issue.png'))).size).toBeGreaterThan(0);

    // The blocker is a link to its own page.
    await page.getByTestId('blocker-link').click();
    await expect.poll(() => pathOf(page)).toBe(`/issues/${blocker}`);
    await expect.poll(() => page.getByTestId('issue-title-heading').innerText(), { timeout: 15_000 }).toBe('Upgrade the driver');
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('offers a VIEWER key no action on the issues pages', async () => {
    const issue = issueGid((await createIssue(server, { title: 'Read only' })).issueId);
    await gql(server, 'mutation($input: AddIssueCommentInput!) { addIssueComment(input: $input) { comment { id } } }', { input: { issueId: issue, body: 'a note' } });
    const { createApiKey } = await gql(server, 'mutation { createApiKey(name: "reader", role: VIEWER) { key } }');
    const { page, errors } = await openPage(browser);
    await openDashboard(page, baseUrl, createApiKey.key, '/issues');
    await expect.poll(() => issueRow(page, issue).count(), { timeout: 15_000 }).toBe(1);
    expect(await page.getByTestId('new-issue-button').count()).toBe(0);
    await page.goto(`${baseUrl}${issuePath(issue)}`);
    await expect.poll(() => page.getByTestId('comment').count(), { timeout: 15_000 }).toBe(1);
    for (const control of ['issue-controls', 'assign-select', 'status-select', 'comment-form', 'comment-input']) {
      expect(await page.getByTestId(control).count(), control).toBe(0);
    }
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
