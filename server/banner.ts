// What a person sees in the terminal when the server is up.
import type { HeartbeatApp } from './app.ts';

export function startupBanner(app: HeartbeatApp, bootstrapKeyConfigured: boolean): string {
  const lines = [
    '',
    'Heartbeat is running.',
    `  GraphiQL:  ${app.graphqlUrl}`,
    `  Database:  ${app.embedded ? 'embedded PostgreSQL (data in HEARTBEAT_DATA_DIR)' : 'DATABASE_URL'}`,
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
