// Every table, for drizzle's relational queries and drizzle-kit.
export * from './enums.ts';
export * from './companies.ts';
export * from './api-keys.ts';
export * from './agents.ts';
export * from './wakeup-requests.ts';
export * from './heartbeat-runs.ts';
export * from './run-events.ts';
export * from './run-log-chunks.ts';
export * from './issues.ts';
export * from './activity-log.ts';
export * from './engine-instances.ts';
export * from './costs.ts';
