// What the runs page reads besides the runs themselves: the agents and issues its filters offer.
import { graphql } from '../../generated/gql.ts';

export const RunsFilterOptionsQuery = graphql(`
  query RunsFilterOptions($first: Int) {
    agents(first: $first) {
      edges {
        node {
          id
          name
        }
      }
    }
    issues(first: $first) {
      edges {
        node {
          id
          identifier
          title
        }
      }
    }
  }
`);
