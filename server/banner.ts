// What a person sees in the terminal when the server is up.
import { resolve } from 'node:path';
import type { HeartbeatApp } from './app.ts';
import type { HeartbeatConfig } from './config.ts';

/** Where the data lives: the embedded cluster's directory, or the server's URL without its password. */
function databaseLine(app: HeartbeatApp, config: Pick<HeartbeatConfig, 'databaseUrl' | 'dataDir'>): string {
  if (app.embedded || !config.databaseUrl) return `embedded PostgreSQL, data in ${resolve(config.dataDir)}`;
  try {
    const url = new URL(config.databaseUrl);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return 'DATABASE_URL';
  }
}

export function startupBanner(app: HeartbeatApp, config: Pick<HeartbeatConfig, 'databaseUrl' | 'dataDir' | 'bootstrapKey'>): string {
  const bootstrapKeyConfigured = !!config.bootstrapKey;
  const lines = [
    '',
    'Heartbeat is running.',
    // The console (runs, agents, spend) is the app's root page.
    `  Console:   ${app.url}/`,
    `  GraphiQL:  ${app.graphqlUrl}`,
    `  Database:  ${databaseLine(app, config)}`,
  ];
  if (app.bootstrap) {
    lines.push(
      `  API key:   ${app.bootstrap.adminKey}`,
      '             (admin key of your new company; shown only on this first start, keep it)',
      '',
      'Open GraphiQL, paste this into its Headers tab and run { viewer { id name } }:',
      `  { "Authorization": "Bearer ${app.bootstrap.adminKey}" }`,
    );
  } else {
    lines.push(
      `  API key:   ${bootstrapKeyConfigured ? 'HEARTBEAT_BOOTSTRAP_KEY' : 'the key printed on the first start'}`,
      '             (lost it? `npm run heartbeat -- keys create` prints a new one)',
      '',
      'In GraphiQL, put { "Authorization": "Bearer <your key>" } in the Headers tab.',
    );
  }
  lines.push('');
  return lines.join('\n');
}
