import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { generateApiKey } from '../../engine/api-keys.ts';
import { startBenchPostgres } from '../lib/postgres.ts';
import { startChild } from '../lib/child.ts';
import { sleep } from '../lib/stats.ts';
const pg = await startBenchPostgres(() => {});
const db = await pg.createHeartbeatDatabase();
const key = generateApiKey();
const server = await startChild('server.ts', { DATABASE_URL: db.url, HEARTBEAT_BOOTSTRAP_KEY: key });
const agents = await server.request<any[]>('agents', { count: 2 });
const client = createClient({ url: String(server.ready.graphqlUrl).replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${key}` } });
client.subscribe({ query: 'subscription($a: ID!) { runStatus(agentId: $a) { id status updatedAt } }', variables: { a: agents[0].globalId } }, { next: (m: any) => console.log(Date.now(), 'lag', Date.now() - Date.parse(m.data?.runStatus?.updatedAt), JSON.stringify(m)), error: (e) => console.log('err', e), complete: () => {} });
await sleep(1000);
for (let i = 0; i < 3; i++) { const t = Date.now(); const id = await server.request('wake', { agentId: agents[0].id }); console.log(Date.now(), 'woke', id, 'in', Date.now() - t); await sleep(1500); }
await client.dispose(); await server.close(); await db.drop(); await pg.stop(); process.exit(0);
