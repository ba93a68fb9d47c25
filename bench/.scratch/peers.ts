import { startBenchPostgres } from '../lib/postgres.ts';
import { graphileWorker, pgBoss } from '../lib/peers.ts';
import { until, nowMs } from '../lib/stats.ts';
const pg = await startBenchPostgres(console.log);
const N = 20000;
const configs: [string, (url: string) => ReturnType<typeof graphileWorker>][] = [
  ['gw default c200', (url) => graphileWorker({ url, concurrency: 200, localQueueSize: -1, completeJobBatchDelay: -1, poolSize: 10 })],
  ['gw default c10', (url) => graphileWorker({ url, concurrency: 10, localQueueSize: -1, completeJobBatchDelay: -1, poolSize: 10 })],
  ['boss batch100 x4', (url) => pgBoss({ url, batchSize: 100, localConcurrency: 4, poolSize: 10, notify: false })],
  ['boss batch1 x200', (url) => pgBoss({ url, batchSize: 1, localConcurrency: 200, poolSize: 10, notify: false })],
  ['boss batch1 x10', (url) => pgBoss({ url, batchSize: 1, localConcurrency: 10, poolSize: 10, notify: false })],
];
for (const [name, make] of configs) {
  const db = await pg.createDatabase('p');
  const peer = await make(db.url);
  await peer.addBulk(0, N);
  const t0 = nowMs();
  await peer.start();
  await until('h', () => peer.handled() >= N, 600000, 5);
  await until('r', async () => (await peer.remaining()) === 0, 60000, 5);
  console.log(name, Math.round(N/((nowMs()-t0)/1000)));
  await peer.close();
  await db.drop();
}
await pg.stop();
process.exit(0);
