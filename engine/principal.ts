import type { ApiKeyRole } from '../db/enums.ts';

/** Who is calling: resolved once per request (HTTP) or connection (WebSocket). */
export type Principal = {
  kind: 'apiKey';
  keyId: string;
  companyId: string;
  role: ApiKeyRole;
};
