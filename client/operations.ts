// The operations the SDK ships. Each becomes a typed document in client/generated/.
import { graphql } from './generated/gql.ts';

export const ViewerQuery = graphql(`
  query Viewer {
    viewer {
      id
      name
    }
  }
`);
