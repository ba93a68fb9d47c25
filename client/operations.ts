// The operations the SDK ships. Each becomes a typed document in client/generated/.
import { graphql } from './generated/gql.ts';

export const ViewerQuery = graphql(`
  query Viewer {
    viewer {
      id
      name
    }
    viewerRole
  }
`);

export const RunFieldsFragment = graphql(`
  fragment RunFields on HeartbeatRun {
    id
    status
    invocationSource
    triggerDetail
    createdAt
    startedAt
    finishedAt
    settledAt
    updatedAt
    exitCode
    error
    errorCode
    agent {
      id
      name
    }
    issue {
      id
      identifier
      title
    }
    liveness {
      state
      reason
      nextAction
      lastUsefulActionAt
      continuationAttempt
    }
    retry {
      attempt
      maxAttempts
      scheduledAt
      reason
      exhaustedReason
      processLossRetryCount
      retryOf {
        id
      }
    }
    outputSilence {
      level
      silentSince
      seconds
      snoozedUntil
      dismissedAt
    }
  }
`);

export const AgentsQuery = graphql(`
  query Agents($first: Int, $after: String) {
    agents(first: $first, after: $after) {
      edges {
        node {
          id
          name
          role
          status
          adapterType
          lastHeartbeatAt
          heartbeat {
            enabled
            intervalSec
            maxConcurrentRuns
          }
          activeRun {
            id
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const RunsQuery = graphql(`
  query Runs($first: Int, $after: String, $filter: RunFilter) {
    runs(first: $first, after: $after, filter: $filter) {
      edges {
        node {
          ...RunFields
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

/** What a run cost (HeartbeatRun.cost): the SDK's run and the console's run page read the same. */
export const RunCostFields = graphql(`
  fragment RunCostFields on RunCost {
    costCents
    costUsd
    inputTokens
    cachedInputTokens
    outputTokens
    billingType
    provider
    biller
    model
  }
`);

export const RunQuery = graphql(`
  query Run($id: ID!) {
    run(id: $id) {
      ...RunFields
      lastEventSeq
      result
      stdoutExcerpt
      stderrExcerpt
      taskKey
      sessionIdBefore
      sessionIdAfter
      cost {
        ...RunCostFields
      }
    }
  }
`);

export const RunLogQuery = graphql(`
  query RunLog($id: ID!, $stream: LogStream, $offset: Float, $limitBytes: Int, $tailBytes: Int) {
    run(id: $id) {
      id
      log(stream: $stream, offset: $offset, limitBytes: $limitBytes, tailBytes: $tailBytes)
    }
  }
`);

export const LogWindowFieldsFragment = graphql(`
  fragment LogWindowFields on LogWindow {
    text
    offset
    nextOffset
    totalBytes
    expired
  }
`);

/** A window of a run's log, with the run's status (a follower stops once it is terminal and read to the end). */
export const RunLogWindowQuery = graphql(`
  query RunLogWindow($id: ID!, $stream: LogStream, $offset: Float, $limitBytes: Int) {
    run(id: $id) {
      id
      status
      logExpiredAt
      logWindow(stream: $stream, offset: $offset, limitBytes: $limitBytes) {
        ...LogWindowFields
      }
    }
  }
`);

export const EnqueueWakeupMutation = graphql(`
  mutation EnqueueWakeup($input: EnqueueWakeupInput!) {
    enqueueWakeup(input: $input) {
      outcome
      wakeupRequest {
        id
        status
        reason
      }
      run {
        ...RunFields
      }
    }
  }
`);

export const CancelRunMutation = graphql(`
  mutation CancelRun($id: ID!, $reason: String) {
    cancelRun(id: $id, reason: $reason) {
      ...RunFields
    }
  }
`);

export const SnoozeRunSilenceMutation = graphql(`
  mutation SnoozeRunSilence($id: ID!, $until: DateTime!) {
    snoozeRunSilence(id: $id, until: $until) {
      ...RunFields
    }
  }
`);

export const DismissRunSilenceMutation = graphql(`
  mutation DismissRunSilence($id: ID!) {
    dismissRunSilence(id: $id) {
      ...RunFields
    }
  }
`);

export const RetryRunMutation = graphql(`
  mutation RetryRun($id: ID!) {
    retryRun(id: $id) {
      outcome
      run {
        ...RunFields
      }
    }
  }
`);

export const PauseAgentMutation = graphql(`
  mutation PauseAgent($id: ID!) {
    pauseAgent(id: $id) {
      id
      name
      status
    }
  }
`);

export const ResumeAgentMutation = graphql(`
  mutation ResumeAgent($id: ID!) {
    resumeAgent(id: $id) {
      id
      name
      status
    }
  }
`);

export const AgentTaskSessionsQuery = graphql(`
  query AgentTaskSessions($id: ID!, $first: Int) {
    agent(id: $id) {
      id
      name
      sessionPolicy {
        maxSessionRuns
        maxRawInputTokens
        maxSessionAgeHours
      }
      taskSessions(first: $first) {
        taskKey
        sessionId
        displayId
        params
        lastError
        updatedAt
        lastRun {
          id
          status
        }
      }
    }
  }
`);

export const ResetAgentSessionMutation = graphql(`
  mutation ResetAgentSession($input: ResetAgentSessionInput!) {
    resetAgentSession(input: $input) {
      removed
      agent {
        id
        name
      }
    }
  }
`);

export const CostSummaryQuery = graphql(`
  query CostSummary($filter: CostFilterInput, $groupBy: [CostGroup!], $first: Int) {
    costSummary(filter: $filter, groupBy: $groupBy, first: $first) {
      agent {
        id
        name
      }
      issue {
        id
        identifier
        title
      }
      project {
        id
        name
      }
      model
      provider
      day
      costCents
      costUsd
      inputTokens
      cachedInputTokens
      outputTokens
      runs
    }
  }
`);

/** The dashboard's Spend panel: per agent and per UTC day since `from`, in one request. */
export const SpendQuery = graphql(`
  query Spend($from: DateTime!) {
    byAgent: costSummary(filter: { from: $from }, groupBy: [AGENT], first: 100) {
      agent {
        id
        name
      }
      costCents
      runs
    }
    byDay: costSummary(filter: { from: $from }, groupBy: [DAY], first: 100) {
      day
      costCents
      runs
    }
  }
`);

export const BudgetFieldsFragment = graphql(`
  fragment BudgetFields on Budget {
    id
    scope
    scopeId
    period
    limitCents
    warnPercent
    spentCents
    status
  }
`);

export const BudgetsQuery = graphql(`
  query Budgets {
    budgets {
      ...BudgetFields
    }
  }
`);

export const SetBudgetMutation = graphql(`
  mutation SetBudget($input: SetBudgetInput!) {
    setBudget(input: $input) {
      ...BudgetFields
    }
  }
`);

export const DeleteBudgetMutation = graphql(`
  mutation DeleteBudget($id: ID!) {
    deleteBudget(id: $id)
  }
`);

export const ProjectsQuery = graphql(`
  query Projects {
    projects {
      id
      name
      issues(first: 0) {
        totalCount
      }
      cost {
        costCents
        runs
      }
    }
  }
`);

export const CreateProjectMutation = graphql(`
  mutation CreateProject($input: CreateProjectInput!) {
    createProject(input: $input) {
      id
      name
    }
  }
`);

export const RunEventsSubscription = graphql(`
  subscription RunEvents($runId: ID!, $afterSeq: Int) {
    runEvents(runId: $runId, afterSeq: $afterSeq) {
      seq
      eventType
      stream
      level
      message
      payload
      createdAt
    }
  }
`);

export const RunStatusSubscription = graphql(`
  subscription RunStatus($runId: ID, $agentId: ID, $issueId: ID) {
    runStatus(runId: $runId, agentId: $agentId, issueId: $issueId) {
      ...RunFields
    }
  }
`);
