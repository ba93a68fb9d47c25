// The GraphQL documents of the CLI's issue and agent commands (the SDK's own are in operations.ts).
// Each becomes a typed document in client/generated/ (`npm run codegen`).
import { graphql } from './generated/gql.ts';

export const CliWakeFieldsFragment = graphql(`
  fragment CliWakeFields on EnqueueWakeupPayload {
    outcome
    run {
      id
      status
    }
    wakeupRequest {
      status
      reason
      error
    }
  }
`);

export const CliIssueFieldsFragment = graphql(`
  fragment CliIssueFields on Issue {
    id
    identifier
    title
    status
    priority
    createdAt
    updatedAt
    assigneeUserId
    assigneeAgent {
      id
      name
    }
    project {
      id
      name
    }
  }
`);

/** Just enough of each issue to find one by identifier or short id. */
export const CliIssueSearchQuery = graphql(`
  query CliIssueSearch($first: Int, $after: String) {
    issues(first: $first, after: $after) {
      edges {
        node {
          id
          identifier
          title
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const CliIssuesQuery = graphql(`
  query CliIssues($first: Int, $after: String, $filter: IssueFilter) {
    issues(first: $first, after: $after, filter: $filter) {
      edges {
        node {
          ...CliIssueFields
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const CliIssueQuery = graphql(`
  query CliIssue($id: ID!) {
    issue(id: $id) {
      ...CliIssueFields
      description
      blockers {
        id
        identifier
        title
        status
      }
      executionRun {
        id
        status
      }
      cost {
        costCents
        runs
      }
      runs(first: 5) {
        totalCount
        edges {
          node {
            id
            status
            createdAt
            agent {
              name
            }
          }
        }
      }
      comments {
        id
        body
        createdAt
        authorUserId
        authorAgent {
          name
        }
      }
    }
  }
`);

export const CliCreateIssueMutation = graphql(`
  mutation CliCreateIssue($input: CreateIssueInput!) {
    createIssue(input: $input) {
      issue {
        ...CliIssueFields
      }
      wakeup {
        ...CliWakeFields
      }
    }
  }
`);

export const CliAssignIssueMutation = graphql(`
  mutation CliAssignIssue($input: AssignIssueInput!) {
    assignIssue(input: $input) {
      issue {
        ...CliIssueFields
      }
      wakeup {
        ...CliWakeFields
      }
    }
  }
`);

export const CliCommentIssueMutation = graphql(`
  mutation CliCommentIssue($input: AddIssueCommentInput!) {
    addIssueComment(input: $input) {
      comment {
        id
        body
        createdAt
        issue {
          id
          identifier
          assigneeAgent {
            name
          }
        }
      }
      wakeup {
        ...CliWakeFields
      }
    }
  }
`);

export const CliAgentFieldsFragment = graphql(`
  fragment CliAgentFields on Agent {
    id
    name
    role
    status
    adapterType
    adapterConfig
    createdAt
    lastHeartbeatAt
    heartbeat {
      enabled
      intervalSec
      maxConcurrentRuns
      silenceTimeoutSec
      wakeOnDemand
    }
    sessionPolicy {
      maxSessionRuns
      maxRawInputTokens
      maxSessionAgeHours
    }
  }
`);

export const CliAgentQuery = graphql(`
  query CliAgent($id: ID!) {
    agent(id: $id) {
      ...CliAgentFields
      activeRun {
        id
        status
        startedAt
      }
      cost {
        costCents
        runs
      }
      runtimeState {
        totalRuns
        lastRunStatus
        lastError
      }
      runs(first: 5) {
        totalCount
        edges {
          node {
            id
            status
            createdAt
            issue {
              identifier
            }
          }
        }
      }
    }
  }
`);

export const CliCreateAgentMutation = graphql(`
  mutation CliCreateAgent($input: CreateAgentInput!) {
    createAgent(input: $input) {
      ...CliAgentFields
    }
  }
`);
