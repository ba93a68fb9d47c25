// What the agents pages ask: the list with each agent's recent record, one agent with its config and
// runs, the adapter types with their config schemas, and creating or changing an agent.
import { graphql } from '../../generated/gql.ts';

export const AgentsPageQuery = graphql(`
  query AgentsPage($after: String, $since: DateTime!) {
    agents(first: 100, after: $after) {
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
          }
          activeRun {
            id
            status
            startedAt
          }
          cost(from: $since) {
            costCents
            inputTokens
            cachedInputTokens
            outputTokens
          }
          runStats(since: $since) {
            total
            succeeded
            running
            queued
            successRate
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

export const AgentDetailFieldsFragment = graphql(`
  fragment AgentDetailFields on Agent {
    id
    name
    role
    status
    adapterType
    adapterConfig
    createdAt
    updatedAt
    lastHeartbeatAt
    heartbeat {
      enabled
      intervalSec
      maxConcurrentRuns
      wakeOnDemand
      silenceTimeoutSec
    }
    runtimeState {
      lastError
      totalRuns
    }
  }
`);

export const AgentPageQuery = graphql(`
  query AgentPage($id: ID!, $since: DateTime!) {
    agent(id: $id) {
      ...AgentDetailFields
      runStats(since: $since) {
        total
        succeeded
        failed
        cancelled
        timedOut
        running
        queued
        successRate
        p95DurationMs
      }
      recentCost: cost(from: $since) {
        costCents
        inputTokens
        cachedInputTokens
        outputTokens
        runs
      }
      totalCost: cost {
        costCents
        inputTokens
        cachedInputTokens
        outputTokens
        runs
      }
      runs(first: 50) {
        totalCount
        edges {
          node {
            ...RunFields
          }
        }
      }
    }
  }
`);

export const AdapterTypesQuery = graphql(`
  query AdapterTypes {
    adapterTypes {
      type
      description
      configSchema
    }
  }
`);

export const CreateAgentMutation = graphql(`
  mutation CreateAgent($input: CreateAgentInput!) {
    createAgent(input: $input) {
      id
      name
    }
  }
`);

export const UpdateAgentMutation = graphql(`
  mutation UpdateAgent($input: UpdateAgentInput!) {
    updateAgent(input: $input) {
      ...AgentDetailFields
    }
  }
`);
