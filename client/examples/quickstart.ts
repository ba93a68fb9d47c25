// Wake the first agent and follow its run live, then print the outcome.
import WebSocket from 'ws';
import { createHeartbeatClient } from '../index.ts';

const client = createHeartbeatClient({
  url: process.env.HEARTBEAT_URL ?? 'http://127.0.0.1:4000/graphql',
  apiKey: process.env.HEARTBEAT_API_KEY ?? '',
  webSocketImpl: WebSocket, // Node 20 has no global WebSocket; browsers do
});

const [agent] = await client.agents();
const { outcome, run } = await client.wake({ agentId: agent.id, reason: 'sdk quickstart' });
console.log(`${outcome}: run ${run?.id}`);

for await (const event of client.watchRunEvents(run!.id)) {
  console.log(event.seq, event.eventType, event.message);
}
const finished = await client.run(run!.id);
console.log(`outcome: ${finished?.status}, liveness: ${finished?.liveness.state}`);
await client.close();
