// The `heartbeat` CLI's client commands: they talk to a running server through the SDK.
// HEARTBEAT_URL and HEARTBEAT_API_KEY say where and as whom; tables for people, --json for scripts.
// The commands themselves live by subject: cli-runs.ts, cli-agents.ts, cli-issues.ts, cli-costs.ts.
import type { Command } from 'commander';
import WebSocket from 'ws';
import { registerAgentCommands } from './cli-agents.ts';
import { registerCostCommands } from './cli-costs.ts';
import { resolveAgent } from './cli-ids.ts';
import { registerIssueCommands } from './cli-issues.ts';
import { print, table, type CliKit } from './cli-kit.ts';
import { registerRunCommands } from './cli-runs.ts';
import { graphqlEndpoint } from './endpoint.ts';
import { createHeartbeatClient, HeartbeatApiError } from './index.ts';

export { parseUntil } from './cli-runs.ts';

const DEFAULT_URL = 'http://127.0.0.1:4000';

interface GlobalOptions {
  url?: string;
  apiKey?: string;
}

/** A clear one-line reason for any failure, for people. */
export function describeFailure(error: unknown, url: string): string {
  if (error instanceof HeartbeatApiError) {
    if (error.code === 'UNAUTHENTICATED') return `the API key was refused (${error.code}); check HEARTBEAT_API_KEY`;
    if (error.code === 'NETWORK_ERROR') return `cannot reach Heartbeat at ${url}: ${error.message}`;
    // These name the URL, or the run, themselves.
    if (error.code === 'NOT_GRAPHQL' || error.code === 'LOG_EXPIRED') return error.message;
    return `${error.message} (${error.code})`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** The server's GraphQL endpoint from --url or HEARTBEAT_URL; undefined when it is no http(s) URL. */
function endpointFrom(text: string): string | undefined {
  try {
    const url = new URL(text);
    return /^https?:$/.test(url.protocol) ? graphqlEndpoint(text) : undefined;
  } catch {
    return undefined;
  }
}

/** Registers the client commands on `program` and returns them (the top-level ones). */
export function registerClientCommands(program: Command): Set<Command> {
  program
    .option('--url <url>', `the server: its address or its /graphql endpoint (default: HEARTBEAT_URL or ${DEFAULT_URL})`)
    .option('--api-key <key>', 'API key (default: HEARTBEAT_API_KEY)');

  const withClient: CliKit['withClient'] = (work) =>
    async (...args: any[]) => {
      const command = args.at(-1) as Command;
      const globals = command.optsWithGlobals() as GlobalOptions & { json?: boolean };
      const given = globals.url ?? process.env.HEARTBEAT_URL ?? DEFAULT_URL;
      const url = endpointFrom(given);
      const apiKey = globals.apiKey ?? process.env.HEARTBEAT_API_KEY;
      if (!url) {
        process.stderr.write(`heartbeat: ${JSON.stringify(given)} is not an http(s) URL; set HEARTBEAT_URL (or pass --url) to the server, e.g. ${DEFAULT_URL}\n`);
        process.exitCode = 2;
        return;
      }
      if (!apiKey) {
        process.stderr.write('heartbeat: set HEARTBEAT_API_KEY (or pass --api-key)\n');
        process.exitCode = 2;
        return;
      }
      const client = createHeartbeatClient({ url, apiKey, webSocketImpl: WebSocket, retryAttempts: 3 });
      try {
        const code = await work(client, !!globals.json, ...args.slice(0, -1));
        process.exitCode = code ?? 0;
      } catch (error) {
        process.stderr.write(`heartbeat: ${describeFailure(error, url)}\n`);
        process.exitCode = 1;
      } finally {
        await client.close();
      }
    };

  const kit: CliKit = { withClient, print, table, resolveAgent };
  const before = new Set(program.commands);
  registerAgentCommands(program, kit);
  registerRunCommands(program, kit);
  registerIssueCommands(program, kit);
  registerCostCommands(program, kit);
  return new Set(program.commands.filter((command) => !before.has(command)));
}
