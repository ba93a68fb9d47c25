import type { ApiKeyRole } from '../../db/enums.ts';

/** Who is calling: resolved once per request (HTTP) or connection (WebSocket). */
export type Principal =
  | {
      kind: 'apiKey';
      keyId: string;
      companyId: string;
      role: ApiKeyRole;
    }
  | {
      /** An agent process acting on its own run's issue; valid only while the run is running. */
      kind: 'runToken';
      runId: string;
      companyId: string;
      agentId: string;
      issueId: string | null;
    };

export type ApiKeyPrincipal = Extract<Principal, { kind: 'apiKey' }>;
export type RunTokenPrincipal = Extract<Principal, { kind: 'runToken' }>;
