// The runs page's filters as they live in its URL: read from a query string (unknown values left
// out), written back in a stable order, turned into the API's filter, and matched against a run that
// arrives live.
import { describe, expect, it } from 'vitest';
import { apiFilter, queryOfView, runMatches, viewFromQuery } from '../../../client/dashboard/runs/run-filter.ts';
import type { Run } from '../../../client/index.ts';

const uuid = '3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b';
const globalId = Buffer.from(`HeartbeatRun:${uuid}`).toString('base64');

const run = (fields: Partial<Run> = {}) =>
  ({
    id: globalId,
    status: 'FAILED',
    createdAt: '2026-03-01T12:00:00.000Z',
    agent: { id: 'agent-1', name: 'builder' },
    issue: { id: 'issue-1', identifier: 'HB-1', title: 'Fix it' },
    liveness: { state: 'BLOCKED' },
    error: 'upstream 503',
    errorCode: 'upstream_down',
    ...fields,
  }) as unknown as Run;

describe('runs page filters', () => {
  it('reads a query string, leaving out what it does not know, and writes it back in a stable order', () => {
    const view = viewFromQuery({ q: '  fix  ', before: '2026-03-02T00:00:00Z', status: 'failed,NOPE,TIMED_OUT', agent: 'agent-1', liveness: 'BLOCKED,whatever', after: 'not a date' });
    expect(view).toEqual({ status: ['FAILED', 'TIMED_OUT'], agentId: 'agent-1', issueId: null, liveness: ['BLOCKED'], after: null, before: '2026-03-02T00:00:00.000Z', search: 'fix' });
    expect(queryOfView(view)).toBe('status=FAILED%2CTIMED_OUT&agent=agent-1&liveness=BLOCKED&before=2026-03-02T00%3A00%3A00.000Z&q=fix');
    expect(viewFromQuery(Object.fromEntries(new URLSearchParams(queryOfView(view))))).toEqual(view);
    expect(queryOfView(viewFromQuery({}))).toBe('');
    expect(apiFilter(view)).toEqual({ status: ['FAILED', 'TIMED_OUT'], agentId: 'agent-1', livenessState: ['BLOCKED'], createdBefore: '2026-03-02T00:00:00.000Z', search: 'fix' });
    expect(apiFilter(viewFromQuery({}))).toEqual({});
  });

  it('matches a live run against every filter, a search by id or error', () => {
    const matches = (query: Record<string, string>, fields?: Partial<Run>) => runMatches(run(fields), viewFromQuery(query));
    expect(matches({})).toBe(true);
    expect(matches({ status: 'FAILED,SUCCEEDED' })).toBe(true);
    expect(matches({ status: 'SUCCEEDED' })).toBe(false);
    expect(matches({ agent: 'agent-2' })).toBe(false);
    expect(matches({ issue: 'issue-1' })).toBe(true);
    expect(matches({ issue: 'issue-1' }, { issue: null })).toBe(false);
    expect(matches({ liveness: 'ADVANCED' })).toBe(false);
    expect(matches({ liveness: 'BLOCKED' }, { liveness: { state: null } as Run['liveness'] })).toBe(false);
    expect(matches({ after: '2026-03-01T12:00:00.000Z' })).toBe(true); // at or after
    expect(matches({ before: '2026-03-01T12:00:00.000Z' })).toBe(false); // strictly before
    for (const search of [globalId, uuid, uuid.slice(0, 8), uuid.slice(0, 4).toUpperCase(), '503', 'UPSTREAM_DOWN']) expect(matches({ q: search }), search).toBe(true);
    for (const search of ['3f2', 'ffff', 'timeout']) expect(matches({ q: search }), search).toBe(false);
  });
});
