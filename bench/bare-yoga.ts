// The ceiling for the queries scenario: a bare graphql-yoga server answering `{ __typename }` on
// node:http, in its own process, nothing else. Started by the bench (lib/child.ts).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSchema, createYoga } from 'graphql-yoga';
import { serveRequests } from './lib/child.ts';

const yoga = createYoga({
  schema: createSchema({ typeDefs: 'type Query { ok: Boolean }' }),
  graphqlEndpoint: '/graphql',
  graphiql: false,
  landingPage: false,
  logging: false,
});
const server = createServer(yoga);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;

serveRequests({
  stop: async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    setImmediate(() => process.exit(0));
  },
});
process.send!({ type: 'ready', graphqlUrl: `http://127.0.0.1:${port}/graphql` });
