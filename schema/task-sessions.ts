// Agent task sessions (docs/engine.md §12): the coding-agent session (a Claude Code session, a Codex
// thread) each of an agent's tasks resumes, and the agent's policy for starting over.
import type { SessionPolicy } from '../engine/index.ts';
import { builder } from './builder.ts';

/** Most task sessions `Agent.taskSessions` returns at once (it grows with every task the agent works on). */
export const TASK_SESSIONS_MAX = 500;
export const TASK_SESSIONS_DEFAULT = 100;

export const SessionPolicyRef = builder.objectRef<SessionPolicy>('SessionPolicy').implement({
  description:
    "When the agent's session is rotated: a run that would resume a session past any of these limits starts a fresh one instead, with a handoff. 0 turns a limit off.",
  fields: (t) => ({
    maxSessionRuns: t.exposeInt('maxSessionRuns', { description: 'Runs a session may have left before it is rotated.' }),
    maxRawInputTokens: t.exposeInt('maxRawInputTokens', { description: "Raw input tokens of the session's latest run at which it is rotated." }),
    maxSessionAgeHours: t.exposeInt('maxSessionAgeHours', { description: 'Hours between the first and the latest run of a session at which it is rotated.' }),
  }),
});

export const SessionPolicyInput = builder.inputType('SessionPolicyInput', {
  description: "When the agent's session is rotated. Whole numbers from 0 (off, the default) to 1000000000.",
  fields: (t) => ({
    maxSessionRuns: t.int(),
    maxRawInputTokens: t.int(),
    maxSessionAgeHours: t.int(),
  }),
});

export const AgentTaskSessionRef = builder.drizzleObject('agentTaskSessions', {
  name: 'AgentTaskSession',
  description: "The session a task of the agent resumes: the next run with the same task key is given it (HEARTBEAT_SESSION_ID, `session` on stdin).",
  fields: (t) => ({
    taskKey: t.exposeString('taskKey', { description: 'The task: its taskKey, taskId or issue id, or `__heartbeat__` for timer wakes.' }),
    // A type without a select reads whole rows: the params are there.
    sessionId: t.string({
      description: 'What the agent resumes, e.g. `claude --resume <id>` or `codex exec resume <id>`.',
      resolve: (session) => session.sessionParams.sessionId,
    }),
    displayId: t.exposeString('sessionDisplayId', { nullable: true, description: 'The id shown to people, when the agent gave one.' }),
    params: t.expose('sessionParams', { type: 'JSON', description: 'Everything the agent reported to resume the session, at least `{sessionId}`.' }),
    lastRun: t.relation('lastRun', { nullable: true, description: 'The run that last left this session.' }),
    lastError: t.exposeString('lastError', { nullable: true, description: "That run's error; null when it succeeded." }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});
