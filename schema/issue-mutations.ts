// Issues: create, change, assign (wakes the assignee), comment (wakes the assignee), documents and
// blockers. A run token may comment on and write documents of its own run's issue only.
import type { RunTokenPrincipal } from '../engine/index.ts';
import { forbidden } from '../engine/index.ts';
import type { EnqueueResult } from '../engine/index.ts';
import { AgentRef } from './agent.ts';
import { builder } from './builder.ts';
import type { HeartbeatContext } from './context.ts';
import { IssuePriorityEnum, IssueStatusEnum } from './enums.ts';
import { IssueCommentRef, IssueDocumentRef, IssueRef } from './issue.ts';
import { ProjectRef } from './projects.ts';
import { EnqueueWakeupPayload } from './run-mutations.ts';
import { apiKeyOf, operatorCompanyIdOf } from './tenancy.ts';

type IssueRow = Awaited<ReturnType<HeartbeatContext['engine']['issues']['update']>>;

const WAKEUP_DESCRIPTION =
  'The wakeup the change caused, if any. SKIPPED (see wakeupRequest.reason and error) when the agent cannot be woken now, e.g. it is paused; the change is stored all the same.';

const IssueWakePayload = builder.objectRef<{ issue: IssueRow; wakeup: EnqueueResult | null }>('IssueWakePayload').implement({
  description: 'An issue change and the wakeup it caused for the assignee, if any.',
  fields: (t) => ({
    issue: t.field({ type: IssueRef, resolve: (p) => p.issue }),
    wakeup: t.field({ type: EnqueueWakeupPayload, nullable: true, description: WAKEUP_DESCRIPTION, resolve: (p) => p.wakeup }),
  }),
});

type CommentRow = Awaited<ReturnType<HeartbeatContext['engine']['issues']['addComment']>>['comment'];
const AddIssueCommentPayload = builder.objectRef<{ comment: CommentRow; wakeup: EnqueueResult | null }>('AddIssueCommentPayload').implement({
  fields: (t) => ({
    comment: t.field({ type: IssueCommentRef, resolve: (p) => p.comment }),
    wakeup: t.field({ type: EnqueueWakeupPayload, nullable: true, description: WAKEUP_DESCRIPTION, resolve: (p) => p.wakeup }),
  }),
});

const CreateIssueInput = builder.inputType('CreateIssueInput', {
  fields: (t) => ({
    title: t.string({ required: true }),
    description: t.string(),
    status: t.field({ type: IssueStatusEnum }),
    priority: t.field({ type: IssuePriorityEnum }),
    assigneeAgentId: t.globalID({ for: [AgentRef], description: 'Assigning an agent wakes it.' }),
    projectId: t.globalID({ for: [ProjectRef], description: 'The project it belongs to.' }),
  }),
});

const UpdateIssueInput = builder.inputType('UpdateIssueInput', {
  fields: (t) => ({
    id: t.globalID({ required: true, for: [IssueRef] }),
    title: t.string(),
    description: t.string(),
    status: t.field({ type: IssueStatusEnum }),
    priority: t.field({ type: IssuePriorityEnum }),
    projectId: t.globalID({ for: [ProjectRef], description: 'Moves it to this project; null takes it out of its project.' }),
  }),
});

const AssignIssueInput = builder.inputType('AssignIssueInput', {
  fields: (t) => ({
    issueId: t.globalID({ required: true, for: [IssueRef] }),
    agentId: t.globalID({ for: [AgentRef], description: 'The agent to assign (it is woken); omit both to unassign.' }),
    userId: t.string({ description: 'A person to assign instead of an agent: 1 to 200 characters, trimmed.' }),
  }),
});

const AddIssueCommentInput = builder.inputType('AddIssueCommentInput', {
  fields: (t) => ({
    issueId: t.globalID({ required: true, for: [IssueRef] }),
    body: t.string({ required: true }),
  }),
});

const PutIssueDocumentInput = builder.inputType('PutIssueDocumentInput', {
  fields: (t) => ({
    issueId: t.globalID({ required: true, for: [IssueRef] }),
    key: t.string({ required: true, description: 'e.g. plan' }),
    body: t.string({ required: true }),
  }),
});

const AddIssueBlockerInput = builder.inputType('AddIssueBlockerInput', {
  fields: (t) => ({
    issueId: t.globalID({ required: true, for: [IssueRef], description: 'The issue that is blocked.' }),
    blockerIssueId: t.globalID({ required: true, for: [IssueRef], description: 'The issue that blocks it.' }),
  }),
});

/** Who writes to an issue: a run token (its own issue only) or an operator key. */
function issueWriter(ctx: HeartbeatContext, issueId: string) {
  if (ctx.principal?.kind === 'runToken') {
    const token: RunTokenPrincipal = ctx.principal;
    if (token.issueId !== issueId) throw forbidden("A run token may only write to its own run's issue");
    return {
      companyId: token.companyId,
      actor: { type: 'run' as const, run: { id: token.runId, agentId: token.agentId, issueId: token.issueId } },
    };
  }
  const key = apiKeyOf(ctx, 'operator');
  return { companyId: key.companyId, actor: { type: 'user' as const, id: key.keyId } };
}

builder.mutationFields((t) => ({
  createIssue: t.field({
    type: IssueWakePayload,
    args: { input: t.arg({ type: CreateIssueInput, required: true }) },
    resolve: (_root, { input }, ctx) => {
      const key = apiKeyOf(ctx, 'operator');
      return ctx.engine.issues.create(
        {
          companyId: key.companyId,
          title: input.title,
          description: input.description,
          status: input.status ?? undefined,
          priority: input.priority ?? undefined,
          assigneeAgentId: input.assigneeAgentId?.id ?? null,
          projectId: input.projectId?.id ?? null,
        },
        { type: 'user', id: key.keyId },
      );
    },
  }),
  updateIssue: t.field({
    type: IssueRef,
    args: { input: t.arg({ type: UpdateIssueInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      ctx.engine.issues.update({
        companyId: operatorCompanyIdOf(ctx),
        issueId: input.id.id,
        title: input.title,
        description: input.description,
        status: input.status,
        priority: input.priority,
        // Absent: unchanged; null: out of its project.
        projectId: input.projectId === undefined ? undefined : (input.projectId?.id ?? null),
      }),
  }),
  assignIssue: t.field({
    type: IssueWakePayload,
    args: { input: t.arg({ type: AssignIssueInput, required: true }) },
    resolve: (_root, { input }, ctx) => {
      const key = apiKeyOf(ctx, 'operator');
      return ctx.engine.issues.assign(
        { companyId: key.companyId, issueId: input.issueId.id, agentId: input.agentId?.id ?? null, userId: input.userId ?? null },
        { type: 'user', id: key.keyId },
      );
    },
  }),
  addIssueComment: t.field({
    type: AddIssueCommentPayload,
    description: "Comments on an issue. A person's comment wakes the assigned agent.",
    args: { input: t.arg({ type: AddIssueCommentInput, required: true }) },
    resolve: (_root, { input }, ctx) => {
      const writer = issueWriter(ctx, input.issueId.id);
      return ctx.engine.issues.addComment({ companyId: writer.companyId, issueId: input.issueId.id, body: input.body }, writer.actor);
    },
  }),
  putIssueDocument: t.field({
    type: IssueDocumentRef,
    description: 'Creates or revises a keyed document on an issue. A run cannot write `continuation-summary`, the summary the engine leaves after each run (FORBIDDEN); a person may revise it.',
    args: { input: t.arg({ type: PutIssueDocumentInput, required: true }) },
    resolve: (_root, { input }, ctx) => {
      const writer = issueWriter(ctx, input.issueId.id);
      return ctx.engine.issues.putDocument(
        { companyId: writer.companyId, issueId: input.issueId.id, key: input.key, body: input.body },
        writer.actor,
      );
    },
  }),
  addIssueBlocker: t.field({
    type: IssueRef,
    args: { input: t.arg({ type: AddIssueBlockerInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      ctx.engine.issues.addBlocker({ companyId: operatorCompanyIdOf(ctx), issueId: input.issueId.id, blockerIssueId: input.blockerIssueId.id }),
  }),
}));
