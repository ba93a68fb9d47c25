// What the run page reads of a run beyond what the live feed carries: its result, context, usage,
// session, cost, and both ends of its retry chain.
import { graphql } from '../../generated/gql.ts';

export const RunPageQuery = graphql(`
  query RunPage($id: ID!) {
    run(id: $id) {
      ...RunFields
      lastEventSeq
      lastOutputAt
      result
      context
      usage
      taskKey
      sessionIdBefore
      sessionIdAfter
      logBytes
      logExpiredAt
      processPid
      signal
      cost {
        ...RunCostFields
      }
      retry {
        retryOf {
          id
          status
          createdAt
        }
        retries {
          id
          status
          createdAt
        }
      }
    }
  }
`);
