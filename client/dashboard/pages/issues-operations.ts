// What the issues pages ask: the list, one issue with its comments, documents, blockers, run ledger
// and cost, and the changes a person makes from them (create, comment, assign, status).
import { graphql } from '../../generated/gql.ts';

export const IssuesPageQuery = graphql(`
  query IssuesPage($after: String, $filter: IssueFilter) {
    issues(first: 100, after: $after, filter: $filter) {
      edges {
        node {
          id
          identifier
          title
          status
          priority
          updatedAt
          assigneeUserId
          assigneeAgent {
            id
            name
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

export const IssuePageQuery = graphql(`
  query IssuePage($id: ID!) {
    issue(id: $id) {
      id
      identifier
      title
      status
      priority
      description
      createdAt
      updatedAt
      assigneeUserId
      assigneeAgent {
        id
        name
        status
      }
      project {
        id
        name
      }
      blockers {
        id
        identifier
        title
        status
      }
      comments {
        id
        body
        createdAt
        authorUserId
        createdByRunId
        authorAgent {
          id
          name
        }
      }
      documents {
        id
        key
        body
        revisionCount
        updatedAt
      }
      runs(first: 50) {
        totalCount
        edges {
          node {
            ...RunFields
          }
        }
      }
      cost {
        costCents
        costUsd
        inputTokens
        cachedInputTokens
        outputTokens
        runs
      }
    }
  }
`);

/** The agents an issue can be assigned to (names and ids only). */
export const AssignableAgentsQuery = graphql(`
  query AssignableAgents($after: String) {
    agents(first: 100, after: $after) {
      edges {
        node {
          id
          name
          status
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export const WakePayloadFieldsFragment = graphql(`
  fragment WakePayloadFields on EnqueueWakeupPayload {
    outcome
    wakeupRequest {
      id
      status
      reason
      error
    }
    run {
      id
      status
    }
  }
`);

export const CreateIssueMutation = graphql(`
  mutation CreateIssue($input: CreateIssueInput!) {
    createIssue(input: $input) {
      issue {
        id
        identifier
      }
      wakeup {
        ...WakePayloadFields
      }
    }
  }
`);

export const AddIssueCommentMutation = graphql(`
  mutation AddIssueComment($input: AddIssueCommentInput!) {
    addIssueComment(input: $input) {
      comment {
        id
      }
      wakeup {
        ...WakePayloadFields
      }
    }
  }
`);

export const AssignIssueMutation = graphql(`
  mutation AssignIssue($input: AssignIssueInput!) {
    assignIssue(input: $input) {
      issue {
        id
      }
      wakeup {
        ...WakePayloadFields
      }
    }
  }
`);

export const UpdateIssueStatusMutation = graphql(`
  mutation UpdateIssueStatus($id: ID!, $status: IssueStatus!) {
    updateIssue(input: { id: $id, status: $status }) {
      id
      status
    }
  }
`);
