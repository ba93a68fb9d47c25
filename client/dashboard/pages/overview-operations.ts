// What the overview asks, in one request: the last hour's run activity with the runs waiting and
// running now, the latest failed runs, the agents, and the spend per day.
import { graphql } from '../../generated/gql.ts';

export const OverviewQuery = graphql(`
  query Overview($activityFrom: DateTime!, $spendFrom: DateTime!) {
    activity: runActivity(from: $activityFrom, bucketSeconds: 60) {
      bucketSeconds
      queued
      running
      buckets {
        start
        succeeded
        failed
        cancelled
        timedOut
        started
        p95DurationMs
      }
    }
    failedRuns: runs(first: 10, filter: { status: [FAILED, TIMED_OUT] }) {
      edges {
        node {
          ...RunFields
        }
      }
    }
    agents(first: 100) {
      edges {
        node {
          id
          name
          status
          adapterType
          runtimeState {
            lastError
          }
        }
      }
    }
    spendByDay: costSummary(filter: { from: $spendFrom }, groupBy: [DAY], first: 100) {
      day
      costCents
      runs
    }
  }
`);
