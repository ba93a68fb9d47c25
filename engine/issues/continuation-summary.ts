// The continuation summary a run leaves on its issue (docs/engine.md §16), whatever its outcome: a
// new revision of the issue's `continuation-summary` document written by that run. For any number of
// runs in the caller's transaction: what they did read in one statement (the liveness evidence's,
// runs/liveness-evidence.ts) beside one for their issues, agents and previous summaries; the
// summaries written in one statement (one more for a second run of the same issue in the batch).
import { sql } from 'drizzle-orm';
import type { Transaction } from '../../db/client.ts';
import type { RunRow } from '../model/runs.ts';
import { TERMINAL_STATUSES } from '../model/runs.ts';
import { renderContinuationSummary } from '../rules/continuation-summary.ts';
import { runSummaryText } from '../rules/run-outcome.ts';
import { collectEvidence, CONTINUATION_SUMMARY_KEY, type RunEvidence, runEvidence } from '../runs/liveness-evidence.ts';
import { executePrepared, iso, json, uuidArray } from '../store/statements.ts';

type Subject = {
  run_id: string;
  issue_id: string;
  company_id: string;
  identifier: string | null;
  title: string;
  status: string;
  description: string | null;
  agent_name: string;
  previous: string | null;
  written: boolean;
};

/**
 * Writes the continuation summary of each run that ran on an issue and has none yet. `known`: what
 * the caller already read of some runs' work (their finish's evidence), not read again.
 */
export async function writeContinuationSummaries(tx: Transaction, runs: RunRow[], now: Date, known: ReadonlyMap<string, RunEvidence> = new Map()): Promise<void> {
  const ended = runs.filter((run) => run.issueId !== null && run.startedAt !== null && (TERMINAL_STATUSES as readonly string[]).includes(run.status));
  if (ended.length === 0) return;
  const unknown = ended.filter((run) => !known.has(run.id));
  const [subjects, evidenceRows] = await Promise.all([
    executePrepared<Subject>(tx, sql`
      select r.id as run_id, i.id as issue_id, i.company_id, i.identifier, i.title, i.status::text as status, i.description,
        a.name as agent_name, d.body as previous,
        exists (select 1 from issue_document_revisions v where v.created_by_run_id = r.id and v.key = ${CONTINUATION_SUMMARY_KEY}) as written
      from heartbeat_runs r
      join issues i on i.id = r.issue_id
      join agents a on a.id = r.agent_id
      left join issue_documents d on d.issue_id = i.id and d.key = ${CONTINUATION_SUMMARY_KEY}
      where r.id = any(${uuidArray(ended.map((run) => run.id))}::uuid[])`),
    unknown.length > 0 ? runEvidence(tx, unknown) : [],
  ]);
  const evidence = new Map([...known, ...collectEvidence(evidenceRows)]);
  const byRun = new Map(subjects.map((subject) => [subject.run_id, subject]));
  // Per issue, in the order the runs came: a second run of an issue in the batch follows the first's summary.
  const latest = new Map<string, string | null>();
  const writes: Array<{ run_id: string; agent_id: string; issue_id: string; company_id: string; body: string }> = [];
  for (const run of ended) {
    const subject = byRun.get(run.id);
    if (!subject || subject.written) continue;
    const of = evidence.get(run.id);
    const previous = latest.has(subject.issue_id) ? latest.get(subject.issue_id)! : subject.previous;
    const body = renderContinuationSummary({
      issue: { id: subject.issue_id, identifier: subject.identifier, title: subject.title, status: subject.status, description: subject.description },
      run: {
        id: run.id,
        status: run.status,
        agentName: subject.agent_name,
        finishedAt: run.finishedAt?.toISOString() ?? null,
        summary: runSummaryText(run.resultJson),
        error: run.error,
        errorCode: run.errorCode,
        nextAction: run.nextAction,
      },
      actions: [
        ...[...(of?.comments ?? [])].reverse().map((comment) => ({ kind: 'comment' as const, body: comment.body })),
        ...(of?.revisions ?? []).map((revision) => ({ kind: 'document' as const, key: revision.key })),
      ],
      toolEvents: Number(of?.toolEvents?.n ?? 0),
      previous,
    });
    latest.set(subject.issue_id, body);
    writes.push({ run_id: run.id, agent_id: run.agentId, issue_id: subject.issue_id, company_id: subject.company_id, body });
  }
  // Rounds with one write per issue: one statement cannot update a document twice.
  for (let rest = writes; rest.length > 0; ) {
    const seen = new Set<string>();
    const round = rest.filter((write) => !seen.has(write.issue_id) && seen.add(write.issue_id));
    rest = rest.filter((write) => !round.includes(write));
    await writeSummaryRevisions(tx, round, now);
  }
}

async function writeSummaryRevisions(tx: Transaction, writes: Array<{ run_id: string; agent_id: string; issue_id: string; company_id: string; body: string }>, now: Date) {
  const at = iso(now);
  await executePrepared(tx, sql`
    with input as (
      select * from jsonb_to_recordset(${json(writes)}::jsonb) as i(run_id uuid, agent_id uuid, issue_id uuid, company_id uuid, body text)
    ), document as (
      insert into issue_documents (company_id, issue_id, key, body, revision_count, created_at, updated_at)
      select company_id, issue_id, ${CONTINUATION_SUMMARY_KEY}, body, 1, ${at}::timestamptz, ${at}::timestamptz from input
      on conflict (issue_id, key) do update
        set body = excluded.body, revision_count = issue_documents.revision_count + 1, updated_at = excluded.updated_at
      returning id, issue_id, revision_count
    )
    insert into issue_document_revisions (company_id, document_id, issue_id, key, revision, body, created_by_run_id, created_by_agent_id, created_at)
    select i.company_id, d.id, i.issue_id, ${CONTINUATION_SUMMARY_KEY}, d.revision_count, i.body, i.run_id, i.agent_id, ${at}::timestamptz
    from input i join document d on d.issue_id = i.issue_id`);
}
