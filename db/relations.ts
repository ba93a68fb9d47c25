// Relational-query (v2) graph over the tables: what plugin-drizzle plans GraphQL selections with.
import { defineRelations } from 'drizzle-orm';
import * as schema from './schema.ts';

export const relations = defineRelations(schema, (r) => ({
  companies: {
    agents: r.many.agents(),
    issues: r.many.issues(),
    runs: r.many.heartbeatRuns(),
    apiKeys: r.many.apiKeys(),
  },
  apiKeys: {
    company: r.one.companies({ from: r.apiKeys.companyId, to: r.companies.id, optional: false }),
  },
  agents: {
    company: r.one.companies({ from: r.agents.companyId, to: r.companies.id, optional: false }),
    runtimeState: r.one.agentRuntimeState({ from: r.agents.id, to: r.agentRuntimeState.agentId }),
    runs: r.many.heartbeatRuns({ from: r.agents.id, to: r.heartbeatRuns.agentId }),
    wakeupRequests: r.many.wakeupRequests({ from: r.agents.id, to: r.wakeupRequests.agentId }),
    assignedIssues: r.many.issues({ from: r.agents.id, to: r.issues.assigneeAgentId }),
    taskSessions: r.many.agentTaskSessions({ from: r.agents.id, to: r.agentTaskSessions.agentId }),
  },
  projects: {
    company: r.one.companies({ from: r.projects.companyId, to: r.companies.id, optional: false }),
    issues: r.many.issues({ from: r.projects.id, to: r.issues.projectId }),
  },
  costEvents: {
    run: r.one.heartbeatRuns({ from: r.costEvents.runId, to: r.heartbeatRuns.id }),
    agent: r.one.agents({ from: r.costEvents.agentId, to: r.agents.id }),
    issue: r.one.issues({ from: r.costEvents.issueId, to: r.issues.id }),
    project: r.one.projects({ from: r.costEvents.projectId, to: r.projects.id }),
  },
  agentTaskSessions: {
    agent: r.one.agents({ from: r.agentTaskSessions.agentId, to: r.agents.id, optional: false }),
    lastRun: r.one.heartbeatRuns({ from: r.agentTaskSessions.lastRunId, to: r.heartbeatRuns.id }),
  },
  agentRuntimeState: {
    agent: r.one.agents({ from: r.agentRuntimeState.agentId, to: r.agents.id, optional: false }),
    lastRun: r.one.heartbeatRuns({ from: r.agentRuntimeState.lastRunId, to: r.heartbeatRuns.id }),
  },
  wakeupRequests: {
    company: r.one.companies({ from: r.wakeupRequests.companyId, to: r.companies.id, optional: false }),
    agent: r.one.agents({ from: r.wakeupRequests.agentId, to: r.agents.id, optional: false }),
    run: r.one.heartbeatRuns({ from: r.wakeupRequests.runId, to: r.heartbeatRuns.id }),
  },
  heartbeatRuns: {
    company: r.one.companies({ from: r.heartbeatRuns.companyId, to: r.companies.id, optional: false }),
    agent: r.one.agents({ from: r.heartbeatRuns.agentId, to: r.agents.id, optional: false }),
    issue: r.one.issues({ from: r.heartbeatRuns.issueId, to: r.issues.id }),
    costEvent: r.one.costEvents({ from: r.heartbeatRuns.id, to: r.costEvents.runId }),
    wakeupRequest: r.one.wakeupRequests({
      from: r.heartbeatRuns.wakeupRequestId,
      to: r.wakeupRequests.id,
    }),
    retryOf: r.one.heartbeatRuns({
      from: r.heartbeatRuns.retryOfRunId,
      to: r.heartbeatRuns.id,
      alias: 'retry_lineage',
    }),
    retries: r.many.heartbeatRuns({
      from: r.heartbeatRuns.id,
      to: r.heartbeatRuns.retryOfRunId,
      alias: 'retry_lineage',
    }),
    events: r.many.runEvents({ from: r.heartbeatRuns.id, to: r.runEvents.runId }),
  },
  runEvents: {
    run: r.one.heartbeatRuns({ from: r.runEvents.runId, to: r.heartbeatRuns.id, optional: false }),
  },
  issues: {
    company: r.one.companies({ from: r.issues.companyId, to: r.companies.id, optional: false }),
    assigneeAgent: r.one.agents({ from: r.issues.assigneeAgentId, to: r.agents.id }),
    project: r.one.projects({ from: r.issues.projectId, to: r.projects.id }),
    executionRun: r.one.heartbeatRuns({ from: r.issues.executionRunId, to: r.heartbeatRuns.id }),
    runs: r.many.heartbeatRuns({ from: r.issues.id, to: r.heartbeatRuns.issueId }),
    comments: r.many.issueComments({ from: r.issues.id, to: r.issueComments.issueId }),
    documents: r.many.issueDocuments({ from: r.issues.id, to: r.issueDocuments.issueId }),
    /** Issues that block this one. */
    blockers: r.many.issues({
      from: r.issues.id.through(r.issueRelations.relatedIssueId),
      to: r.issues.id.through(r.issueRelations.issueId),
      alias: 'issue_blocks',
    }),
    /** Issues this one blocks. */
    blocking: r.many.issues({
      from: r.issues.id.through(r.issueRelations.issueId),
      to: r.issues.id.through(r.issueRelations.relatedIssueId),
      alias: 'issue_blocks',
    }),
  },
  issueRelations: {
    issue: r.one.issues({ from: r.issueRelations.issueId, to: r.issues.id, optional: false, alias: 'relation_blocker' }),
    relatedIssue: r.one.issues({
      from: r.issueRelations.relatedIssueId,
      to: r.issues.id,
      optional: false,
      alias: 'relation_blocked',
    }),
  },
  issueComments: {
    issue: r.one.issues({ from: r.issueComments.issueId, to: r.issues.id, optional: false }),
    authorAgent: r.one.agents({ from: r.issueComments.authorAgentId, to: r.agents.id }),
  },
  issueDocuments: {
    issue: r.one.issues({ from: r.issueDocuments.issueId, to: r.issues.id, optional: false }),
    revisions: r.many.issueDocumentRevisions({
      from: r.issueDocuments.id,
      to: r.issueDocumentRevisions.documentId,
    }),
  },
  issueDocumentRevisions: {
    document: r.one.issueDocuments({
      from: r.issueDocumentRevisions.documentId,
      to: r.issueDocuments.id,
      optional: false,
    }),
  },
}));

export type HeartbeatRelations = typeof relations;
