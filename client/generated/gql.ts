/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  query Viewer {\n    viewer {\n      id\n      name\n    }\n    viewerRole\n  }\n": typeof types.ViewerDocument,
    "\n  fragment RunFields on HeartbeatRun {\n    id\n    status\n    invocationSource\n    triggerDetail\n    createdAt\n    startedAt\n    finishedAt\n    settledAt\n    updatedAt\n    exitCode\n    error\n    errorCode\n    agent {\n      id\n      name\n    }\n    issue {\n      id\n      identifier\n      title\n    }\n    liveness {\n      state\n      reason\n      nextAction\n      lastUsefulActionAt\n      continuationAttempt\n    }\n    retry {\n      attempt\n      maxAttempts\n      scheduledAt\n      reason\n      exhaustedReason\n      processLossRetryCount\n      retryOf {\n        id\n      }\n    }\n    outputSilence {\n      level\n      silentSince\n      seconds\n      snoozedUntil\n      dismissedAt\n    }\n  }\n": typeof types.RunFieldsFragmentDoc,
    "\n  query Agents($first: Int, $after: String) {\n    agents(first: $first, after: $after) {\n      edges {\n        node {\n          id\n          name\n          role\n          status\n          adapterType\n          lastHeartbeatAt\n          heartbeat {\n            enabled\n            intervalSec\n            maxConcurrentRuns\n          }\n          activeRun {\n            id\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.AgentsDocument,
    "\n  query Runs($first: Int, $after: String, $filter: RunFilter) {\n    runs(first: $first, after: $after, filter: $filter) {\n      edges {\n        node {\n          ...RunFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.RunsDocument,
    "\n  query Run($id: ID!) {\n    run(id: $id) {\n      ...RunFields\n      lastEventSeq\n      result\n      stdoutExcerpt\n      stderrExcerpt\n      taskKey\n      sessionIdBefore\n      sessionIdAfter\n      cost {\n        costCents\n        costUsd\n        inputTokens\n        cachedInputTokens\n        outputTokens\n        billingType\n        provider\n        biller\n        model\n      }\n    }\n  }\n": typeof types.RunDocument,
    "\n  query RunLog($id: ID!, $stream: LogStream, $offset: Float, $limitBytes: Int, $tailBytes: Int) {\n    run(id: $id) {\n      id\n      log(stream: $stream, offset: $offset, limitBytes: $limitBytes, tailBytes: $tailBytes)\n    }\n  }\n": typeof types.RunLogDocument,
    "\n  fragment LogWindowFields on LogWindow {\n    text\n    offset\n    nextOffset\n    totalBytes\n    expired\n  }\n": typeof types.LogWindowFieldsFragmentDoc,
    "\n  query RunLogWindow($id: ID!, $stream: LogStream, $offset: Float, $limitBytes: Int) {\n    run(id: $id) {\n      id\n      status\n      logExpiredAt\n      logWindow(stream: $stream, offset: $offset, limitBytes: $limitBytes) {\n        ...LogWindowFields\n      }\n    }\n  }\n": typeof types.RunLogWindowDocument,
    "\n  mutation EnqueueWakeup($input: EnqueueWakeupInput!) {\n    enqueueWakeup(input: $input) {\n      outcome\n      wakeupRequest {\n        id\n        status\n        reason\n      }\n      run {\n        ...RunFields\n      }\n    }\n  }\n": typeof types.EnqueueWakeupDocument,
    "\n  mutation CancelRun($id: ID!, $reason: String) {\n    cancelRun(id: $id, reason: $reason) {\n      ...RunFields\n    }\n  }\n": typeof types.CancelRunDocument,
    "\n  mutation SnoozeRunSilence($id: ID!, $until: DateTime!) {\n    snoozeRunSilence(id: $id, until: $until) {\n      ...RunFields\n    }\n  }\n": typeof types.SnoozeRunSilenceDocument,
    "\n  mutation DismissRunSilence($id: ID!) {\n    dismissRunSilence(id: $id) {\n      ...RunFields\n    }\n  }\n": typeof types.DismissRunSilenceDocument,
    "\n  mutation RetryRun($id: ID!) {\n    retryRun(id: $id) {\n      outcome\n      run {\n        ...RunFields\n      }\n    }\n  }\n": typeof types.RetryRunDocument,
    "\n  mutation PauseAgent($id: ID!) {\n    pauseAgent(id: $id) {\n      id\n      name\n      status\n    }\n  }\n": typeof types.PauseAgentDocument,
    "\n  mutation ResumeAgent($id: ID!) {\n    resumeAgent(id: $id) {\n      id\n      name\n      status\n    }\n  }\n": typeof types.ResumeAgentDocument,
    "\n  query AgentTaskSessions($id: ID!, $first: Int) {\n    agent(id: $id) {\n      id\n      name\n      sessionPolicy {\n        maxSessionRuns\n        maxRawInputTokens\n        maxSessionAgeHours\n      }\n      taskSessions(first: $first) {\n        taskKey\n        sessionId\n        displayId\n        params\n        lastError\n        updatedAt\n        lastRun {\n          id\n          status\n        }\n      }\n    }\n  }\n": typeof types.AgentTaskSessionsDocument,
    "\n  mutation ResetAgentSession($input: ResetAgentSessionInput!) {\n    resetAgentSession(input: $input) {\n      removed\n      agent {\n        id\n        name\n      }\n    }\n  }\n": typeof types.ResetAgentSessionDocument,
    "\n  query CostSummary($filter: CostFilterInput, $groupBy: [CostGroup!], $first: Int) {\n    costSummary(filter: $filter, groupBy: $groupBy, first: $first) {\n      agent {\n        id\n        name\n      }\n      issue {\n        id\n        identifier\n        title\n      }\n      project {\n        id\n        name\n      }\n      model\n      provider\n      day\n      costCents\n      costUsd\n      inputTokens\n      cachedInputTokens\n      outputTokens\n      runs\n    }\n  }\n": typeof types.CostSummaryDocument,
    "\n  query Spend($from: DateTime!) {\n    byAgent: costSummary(filter: { from: $from }, groupBy: [AGENT], first: 100) {\n      agent {\n        id\n        name\n      }\n      costCents\n      runs\n    }\n    byDay: costSummary(filter: { from: $from }, groupBy: [DAY], first: 100) {\n      day\n      costCents\n      runs\n    }\n  }\n": typeof types.SpendDocument,
    "\n  fragment BudgetFields on Budget {\n    id\n    scope\n    scopeId\n    period\n    limitCents\n    warnPercent\n    spentCents\n    status\n  }\n": typeof types.BudgetFieldsFragmentDoc,
    "\n  query Budgets {\n    budgets {\n      ...BudgetFields\n    }\n  }\n": typeof types.BudgetsDocument,
    "\n  mutation SetBudget($input: SetBudgetInput!) {\n    setBudget(input: $input) {\n      ...BudgetFields\n    }\n  }\n": typeof types.SetBudgetDocument,
    "\n  mutation DeleteBudget($id: ID!) {\n    deleteBudget(id: $id)\n  }\n": typeof types.DeleteBudgetDocument,
    "\n  query Projects {\n    projects {\n      id\n      name\n      issues(first: 0) {\n        totalCount\n      }\n      cost {\n        costCents\n        runs\n      }\n    }\n  }\n": typeof types.ProjectsDocument,
    "\n  mutation CreateProject($input: CreateProjectInput!) {\n    createProject(input: $input) {\n      id\n      name\n    }\n  }\n": typeof types.CreateProjectDocument,
    "\n  subscription RunEvents($runId: ID!, $afterSeq: Int) {\n    runEvents(runId: $runId, afterSeq: $afterSeq) {\n      seq\n      eventType\n      stream\n      level\n      message\n      payload\n      createdAt\n    }\n  }\n": typeof types.RunEventsDocument,
    "\n  subscription RunStatus($runId: ID, $agentId: ID, $issueId: ID) {\n    runStatus(runId: $runId, agentId: $agentId, issueId: $issueId) {\n      ...RunFields\n    }\n  }\n": typeof types.RunStatusDocument,
};
const documents: Documents = {
    "\n  query Viewer {\n    viewer {\n      id\n      name\n    }\n    viewerRole\n  }\n": types.ViewerDocument,
    "\n  fragment RunFields on HeartbeatRun {\n    id\n    status\n    invocationSource\n    triggerDetail\n    createdAt\n    startedAt\n    finishedAt\n    settledAt\n    updatedAt\n    exitCode\n    error\n    errorCode\n    agent {\n      id\n      name\n    }\n    issue {\n      id\n      identifier\n      title\n    }\n    liveness {\n      state\n      reason\n      nextAction\n      lastUsefulActionAt\n      continuationAttempt\n    }\n    retry {\n      attempt\n      maxAttempts\n      scheduledAt\n      reason\n      exhaustedReason\n      processLossRetryCount\n      retryOf {\n        id\n      }\n    }\n    outputSilence {\n      level\n      silentSince\n      seconds\n      snoozedUntil\n      dismissedAt\n    }\n  }\n": types.RunFieldsFragmentDoc,
    "\n  query Agents($first: Int, $after: String) {\n    agents(first: $first, after: $after) {\n      edges {\n        node {\n          id\n          name\n          role\n          status\n          adapterType\n          lastHeartbeatAt\n          heartbeat {\n            enabled\n            intervalSec\n            maxConcurrentRuns\n          }\n          activeRun {\n            id\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.AgentsDocument,
    "\n  query Runs($first: Int, $after: String, $filter: RunFilter) {\n    runs(first: $first, after: $after, filter: $filter) {\n      edges {\n        node {\n          ...RunFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.RunsDocument,
    "\n  query Run($id: ID!) {\n    run(id: $id) {\n      ...RunFields\n      lastEventSeq\n      result\n      stdoutExcerpt\n      stderrExcerpt\n      taskKey\n      sessionIdBefore\n      sessionIdAfter\n      cost {\n        costCents\n        costUsd\n        inputTokens\n        cachedInputTokens\n        outputTokens\n        billingType\n        provider\n        biller\n        model\n      }\n    }\n  }\n": types.RunDocument,
    "\n  query RunLog($id: ID!, $stream: LogStream, $offset: Float, $limitBytes: Int, $tailBytes: Int) {\n    run(id: $id) {\n      id\n      log(stream: $stream, offset: $offset, limitBytes: $limitBytes, tailBytes: $tailBytes)\n    }\n  }\n": types.RunLogDocument,
    "\n  fragment LogWindowFields on LogWindow {\n    text\n    offset\n    nextOffset\n    totalBytes\n    expired\n  }\n": types.LogWindowFieldsFragmentDoc,
    "\n  query RunLogWindow($id: ID!, $stream: LogStream, $offset: Float, $limitBytes: Int) {\n    run(id: $id) {\n      id\n      status\n      logExpiredAt\n      logWindow(stream: $stream, offset: $offset, limitBytes: $limitBytes) {\n        ...LogWindowFields\n      }\n    }\n  }\n": types.RunLogWindowDocument,
    "\n  mutation EnqueueWakeup($input: EnqueueWakeupInput!) {\n    enqueueWakeup(input: $input) {\n      outcome\n      wakeupRequest {\n        id\n        status\n        reason\n      }\n      run {\n        ...RunFields\n      }\n    }\n  }\n": types.EnqueueWakeupDocument,
    "\n  mutation CancelRun($id: ID!, $reason: String) {\n    cancelRun(id: $id, reason: $reason) {\n      ...RunFields\n    }\n  }\n": types.CancelRunDocument,
    "\n  mutation SnoozeRunSilence($id: ID!, $until: DateTime!) {\n    snoozeRunSilence(id: $id, until: $until) {\n      ...RunFields\n    }\n  }\n": types.SnoozeRunSilenceDocument,
    "\n  mutation DismissRunSilence($id: ID!) {\n    dismissRunSilence(id: $id) {\n      ...RunFields\n    }\n  }\n": types.DismissRunSilenceDocument,
    "\n  mutation RetryRun($id: ID!) {\n    retryRun(id: $id) {\n      outcome\n      run {\n        ...RunFields\n      }\n    }\n  }\n": types.RetryRunDocument,
    "\n  mutation PauseAgent($id: ID!) {\n    pauseAgent(id: $id) {\n      id\n      name\n      status\n    }\n  }\n": types.PauseAgentDocument,
    "\n  mutation ResumeAgent($id: ID!) {\n    resumeAgent(id: $id) {\n      id\n      name\n      status\n    }\n  }\n": types.ResumeAgentDocument,
    "\n  query AgentTaskSessions($id: ID!, $first: Int) {\n    agent(id: $id) {\n      id\n      name\n      sessionPolicy {\n        maxSessionRuns\n        maxRawInputTokens\n        maxSessionAgeHours\n      }\n      taskSessions(first: $first) {\n        taskKey\n        sessionId\n        displayId\n        params\n        lastError\n        updatedAt\n        lastRun {\n          id\n          status\n        }\n      }\n    }\n  }\n": types.AgentTaskSessionsDocument,
    "\n  mutation ResetAgentSession($input: ResetAgentSessionInput!) {\n    resetAgentSession(input: $input) {\n      removed\n      agent {\n        id\n        name\n      }\n    }\n  }\n": types.ResetAgentSessionDocument,
    "\n  query CostSummary($filter: CostFilterInput, $groupBy: [CostGroup!], $first: Int) {\n    costSummary(filter: $filter, groupBy: $groupBy, first: $first) {\n      agent {\n        id\n        name\n      }\n      issue {\n        id\n        identifier\n        title\n      }\n      project {\n        id\n        name\n      }\n      model\n      provider\n      day\n      costCents\n      costUsd\n      inputTokens\n      cachedInputTokens\n      outputTokens\n      runs\n    }\n  }\n": types.CostSummaryDocument,
    "\n  query Spend($from: DateTime!) {\n    byAgent: costSummary(filter: { from: $from }, groupBy: [AGENT], first: 100) {\n      agent {\n        id\n        name\n      }\n      costCents\n      runs\n    }\n    byDay: costSummary(filter: { from: $from }, groupBy: [DAY], first: 100) {\n      day\n      costCents\n      runs\n    }\n  }\n": types.SpendDocument,
    "\n  fragment BudgetFields on Budget {\n    id\n    scope\n    scopeId\n    period\n    limitCents\n    warnPercent\n    spentCents\n    status\n  }\n": types.BudgetFieldsFragmentDoc,
    "\n  query Budgets {\n    budgets {\n      ...BudgetFields\n    }\n  }\n": types.BudgetsDocument,
    "\n  mutation SetBudget($input: SetBudgetInput!) {\n    setBudget(input: $input) {\n      ...BudgetFields\n    }\n  }\n": types.SetBudgetDocument,
    "\n  mutation DeleteBudget($id: ID!) {\n    deleteBudget(id: $id)\n  }\n": types.DeleteBudgetDocument,
    "\n  query Projects {\n    projects {\n      id\n      name\n      issues(first: 0) {\n        totalCount\n      }\n      cost {\n        costCents\n        runs\n      }\n    }\n  }\n": types.ProjectsDocument,
    "\n  mutation CreateProject($input: CreateProjectInput!) {\n    createProject(input: $input) {\n      id\n      name\n    }\n  }\n": types.CreateProjectDocument,
    "\n  subscription RunEvents($runId: ID!, $afterSeq: Int) {\n    runEvents(runId: $runId, afterSeq: $afterSeq) {\n      seq\n      eventType\n      stream\n      level\n      message\n      payload\n      createdAt\n    }\n  }\n": types.RunEventsDocument,
    "\n  subscription RunStatus($runId: ID, $agentId: ID, $issueId: ID) {\n    runStatus(runId: $runId, agentId: $agentId, issueId: $issueId) {\n      ...RunFields\n    }\n  }\n": types.RunStatusDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Viewer {\n    viewer {\n      id\n      name\n    }\n    viewerRole\n  }\n"): (typeof documents)["\n  query Viewer {\n    viewer {\n      id\n      name\n    }\n    viewerRole\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment RunFields on HeartbeatRun {\n    id\n    status\n    invocationSource\n    triggerDetail\n    createdAt\n    startedAt\n    finishedAt\n    settledAt\n    updatedAt\n    exitCode\n    error\n    errorCode\n    agent {\n      id\n      name\n    }\n    issue {\n      id\n      identifier\n      title\n    }\n    liveness {\n      state\n      reason\n      nextAction\n      lastUsefulActionAt\n      continuationAttempt\n    }\n    retry {\n      attempt\n      maxAttempts\n      scheduledAt\n      reason\n      exhaustedReason\n      processLossRetryCount\n      retryOf {\n        id\n      }\n    }\n    outputSilence {\n      level\n      silentSince\n      seconds\n      snoozedUntil\n      dismissedAt\n    }\n  }\n"): (typeof documents)["\n  fragment RunFields on HeartbeatRun {\n    id\n    status\n    invocationSource\n    triggerDetail\n    createdAt\n    startedAt\n    finishedAt\n    settledAt\n    updatedAt\n    exitCode\n    error\n    errorCode\n    agent {\n      id\n      name\n    }\n    issue {\n      id\n      identifier\n      title\n    }\n    liveness {\n      state\n      reason\n      nextAction\n      lastUsefulActionAt\n      continuationAttempt\n    }\n    retry {\n      attempt\n      maxAttempts\n      scheduledAt\n      reason\n      exhaustedReason\n      processLossRetryCount\n      retryOf {\n        id\n      }\n    }\n    outputSilence {\n      level\n      silentSince\n      seconds\n      snoozedUntil\n      dismissedAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Agents($first: Int, $after: String) {\n    agents(first: $first, after: $after) {\n      edges {\n        node {\n          id\n          name\n          role\n          status\n          adapterType\n          lastHeartbeatAt\n          heartbeat {\n            enabled\n            intervalSec\n            maxConcurrentRuns\n          }\n          activeRun {\n            id\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query Agents($first: Int, $after: String) {\n    agents(first: $first, after: $after) {\n      edges {\n        node {\n          id\n          name\n          role\n          status\n          adapterType\n          lastHeartbeatAt\n          heartbeat {\n            enabled\n            intervalSec\n            maxConcurrentRuns\n          }\n          activeRun {\n            id\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Runs($first: Int, $after: String, $filter: RunFilter) {\n    runs(first: $first, after: $after, filter: $filter) {\n      edges {\n        node {\n          ...RunFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query Runs($first: Int, $after: String, $filter: RunFilter) {\n    runs(first: $first, after: $after, filter: $filter) {\n      edges {\n        node {\n          ...RunFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Run($id: ID!) {\n    run(id: $id) {\n      ...RunFields\n      lastEventSeq\n      result\n      stdoutExcerpt\n      stderrExcerpt\n      taskKey\n      sessionIdBefore\n      sessionIdAfter\n      cost {\n        costCents\n        costUsd\n        inputTokens\n        cachedInputTokens\n        outputTokens\n        billingType\n        provider\n        biller\n        model\n      }\n    }\n  }\n"): (typeof documents)["\n  query Run($id: ID!) {\n    run(id: $id) {\n      ...RunFields\n      lastEventSeq\n      result\n      stdoutExcerpt\n      stderrExcerpt\n      taskKey\n      sessionIdBefore\n      sessionIdAfter\n      cost {\n        costCents\n        costUsd\n        inputTokens\n        cachedInputTokens\n        outputTokens\n        billingType\n        provider\n        biller\n        model\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query RunLog($id: ID!, $stream: LogStream, $offset: Float, $limitBytes: Int, $tailBytes: Int) {\n    run(id: $id) {\n      id\n      log(stream: $stream, offset: $offset, limitBytes: $limitBytes, tailBytes: $tailBytes)\n    }\n  }\n"): (typeof documents)["\n  query RunLog($id: ID!, $stream: LogStream, $offset: Float, $limitBytes: Int, $tailBytes: Int) {\n    run(id: $id) {\n      id\n      log(stream: $stream, offset: $offset, limitBytes: $limitBytes, tailBytes: $tailBytes)\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment LogWindowFields on LogWindow {\n    text\n    offset\n    nextOffset\n    totalBytes\n    expired\n  }\n"): (typeof documents)["\n  fragment LogWindowFields on LogWindow {\n    text\n    offset\n    nextOffset\n    totalBytes\n    expired\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query RunLogWindow($id: ID!, $stream: LogStream, $offset: Float, $limitBytes: Int) {\n    run(id: $id) {\n      id\n      status\n      logExpiredAt\n      logWindow(stream: $stream, offset: $offset, limitBytes: $limitBytes) {\n        ...LogWindowFields\n      }\n    }\n  }\n"): (typeof documents)["\n  query RunLogWindow($id: ID!, $stream: LogStream, $offset: Float, $limitBytes: Int) {\n    run(id: $id) {\n      id\n      status\n      logExpiredAt\n      logWindow(stream: $stream, offset: $offset, limitBytes: $limitBytes) {\n        ...LogWindowFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation EnqueueWakeup($input: EnqueueWakeupInput!) {\n    enqueueWakeup(input: $input) {\n      outcome\n      wakeupRequest {\n        id\n        status\n        reason\n      }\n      run {\n        ...RunFields\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation EnqueueWakeup($input: EnqueueWakeupInput!) {\n    enqueueWakeup(input: $input) {\n      outcome\n      wakeupRequest {\n        id\n        status\n        reason\n      }\n      run {\n        ...RunFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CancelRun($id: ID!, $reason: String) {\n    cancelRun(id: $id, reason: $reason) {\n      ...RunFields\n    }\n  }\n"): (typeof documents)["\n  mutation CancelRun($id: ID!, $reason: String) {\n    cancelRun(id: $id, reason: $reason) {\n      ...RunFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SnoozeRunSilence($id: ID!, $until: DateTime!) {\n    snoozeRunSilence(id: $id, until: $until) {\n      ...RunFields\n    }\n  }\n"): (typeof documents)["\n  mutation SnoozeRunSilence($id: ID!, $until: DateTime!) {\n    snoozeRunSilence(id: $id, until: $until) {\n      ...RunFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DismissRunSilence($id: ID!) {\n    dismissRunSilence(id: $id) {\n      ...RunFields\n    }\n  }\n"): (typeof documents)["\n  mutation DismissRunSilence($id: ID!) {\n    dismissRunSilence(id: $id) {\n      ...RunFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RetryRun($id: ID!) {\n    retryRun(id: $id) {\n      outcome\n      run {\n        ...RunFields\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation RetryRun($id: ID!) {\n    retryRun(id: $id) {\n      outcome\n      run {\n        ...RunFields\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation PauseAgent($id: ID!) {\n    pauseAgent(id: $id) {\n      id\n      name\n      status\n    }\n  }\n"): (typeof documents)["\n  mutation PauseAgent($id: ID!) {\n    pauseAgent(id: $id) {\n      id\n      name\n      status\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ResumeAgent($id: ID!) {\n    resumeAgent(id: $id) {\n      id\n      name\n      status\n    }\n  }\n"): (typeof documents)["\n  mutation ResumeAgent($id: ID!) {\n    resumeAgent(id: $id) {\n      id\n      name\n      status\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AgentTaskSessions($id: ID!, $first: Int) {\n    agent(id: $id) {\n      id\n      name\n      sessionPolicy {\n        maxSessionRuns\n        maxRawInputTokens\n        maxSessionAgeHours\n      }\n      taskSessions(first: $first) {\n        taskKey\n        sessionId\n        displayId\n        params\n        lastError\n        updatedAt\n        lastRun {\n          id\n          status\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query AgentTaskSessions($id: ID!, $first: Int) {\n    agent(id: $id) {\n      id\n      name\n      sessionPolicy {\n        maxSessionRuns\n        maxRawInputTokens\n        maxSessionAgeHours\n      }\n      taskSessions(first: $first) {\n        taskKey\n        sessionId\n        displayId\n        params\n        lastError\n        updatedAt\n        lastRun {\n          id\n          status\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ResetAgentSession($input: ResetAgentSessionInput!) {\n    resetAgentSession(input: $input) {\n      removed\n      agent {\n        id\n        name\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation ResetAgentSession($input: ResetAgentSessionInput!) {\n    resetAgentSession(input: $input) {\n      removed\n      agent {\n        id\n        name\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query CostSummary($filter: CostFilterInput, $groupBy: [CostGroup!], $first: Int) {\n    costSummary(filter: $filter, groupBy: $groupBy, first: $first) {\n      agent {\n        id\n        name\n      }\n      issue {\n        id\n        identifier\n        title\n      }\n      project {\n        id\n        name\n      }\n      model\n      provider\n      day\n      costCents\n      costUsd\n      inputTokens\n      cachedInputTokens\n      outputTokens\n      runs\n    }\n  }\n"): (typeof documents)["\n  query CostSummary($filter: CostFilterInput, $groupBy: [CostGroup!], $first: Int) {\n    costSummary(filter: $filter, groupBy: $groupBy, first: $first) {\n      agent {\n        id\n        name\n      }\n      issue {\n        id\n        identifier\n        title\n      }\n      project {\n        id\n        name\n      }\n      model\n      provider\n      day\n      costCents\n      costUsd\n      inputTokens\n      cachedInputTokens\n      outputTokens\n      runs\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Spend($from: DateTime!) {\n    byAgent: costSummary(filter: { from: $from }, groupBy: [AGENT], first: 100) {\n      agent {\n        id\n        name\n      }\n      costCents\n      runs\n    }\n    byDay: costSummary(filter: { from: $from }, groupBy: [DAY], first: 100) {\n      day\n      costCents\n      runs\n    }\n  }\n"): (typeof documents)["\n  query Spend($from: DateTime!) {\n    byAgent: costSummary(filter: { from: $from }, groupBy: [AGENT], first: 100) {\n      agent {\n        id\n        name\n      }\n      costCents\n      runs\n    }\n    byDay: costSummary(filter: { from: $from }, groupBy: [DAY], first: 100) {\n      day\n      costCents\n      runs\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment BudgetFields on Budget {\n    id\n    scope\n    scopeId\n    period\n    limitCents\n    warnPercent\n    spentCents\n    status\n  }\n"): (typeof documents)["\n  fragment BudgetFields on Budget {\n    id\n    scope\n    scopeId\n    period\n    limitCents\n    warnPercent\n    spentCents\n    status\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Budgets {\n    budgets {\n      ...BudgetFields\n    }\n  }\n"): (typeof documents)["\n  query Budgets {\n    budgets {\n      ...BudgetFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SetBudget($input: SetBudgetInput!) {\n    setBudget(input: $input) {\n      ...BudgetFields\n    }\n  }\n"): (typeof documents)["\n  mutation SetBudget($input: SetBudgetInput!) {\n    setBudget(input: $input) {\n      ...BudgetFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteBudget($id: ID!) {\n    deleteBudget(id: $id)\n  }\n"): (typeof documents)["\n  mutation DeleteBudget($id: ID!) {\n    deleteBudget(id: $id)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Projects {\n    projects {\n      id\n      name\n      issues(first: 0) {\n        totalCount\n      }\n      cost {\n        costCents\n        runs\n      }\n    }\n  }\n"): (typeof documents)["\n  query Projects {\n    projects {\n      id\n      name\n      issues(first: 0) {\n        totalCount\n      }\n      cost {\n        costCents\n        runs\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateProject($input: CreateProjectInput!) {\n    createProject(input: $input) {\n      id\n      name\n    }\n  }\n"): (typeof documents)["\n  mutation CreateProject($input: CreateProjectInput!) {\n    createProject(input: $input) {\n      id\n      name\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription RunEvents($runId: ID!, $afterSeq: Int) {\n    runEvents(runId: $runId, afterSeq: $afterSeq) {\n      seq\n      eventType\n      stream\n      level\n      message\n      payload\n      createdAt\n    }\n  }\n"): (typeof documents)["\n  subscription RunEvents($runId: ID!, $afterSeq: Int) {\n    runEvents(runId: $runId, afterSeq: $afterSeq) {\n      seq\n      eventType\n      stream\n      level\n      message\n      payload\n      createdAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription RunStatus($runId: ID, $agentId: ID, $issueId: ID) {\n    runStatus(runId: $runId, agentId: $agentId, issueId: $issueId) {\n      ...RunFields\n    }\n  }\n"): (typeof documents)["\n  subscription RunStatus($runId: ID, $agentId: ID, $issueId: ID) {\n    runStatus(runId: $runId, agentId: $agentId, issueId: $issueId) {\n      ...RunFields\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;