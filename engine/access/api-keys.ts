// API keys: generation, storage as a digest, and lookup.
import { createHash, randomBytes } from 'node:crypto';
import { and, eq, isNull, ne, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import type { ApiKeyRole } from '../../db/enums.ts';
import { apiKeys, companies, heartbeatRuns } from '../../db/schema.ts';
import { Batcher } from '../store/batcher.ts';
import { badInput, conflict, notFound } from '../model/errors.ts';
import type { Principal } from './principal.ts';

const KEY_PREFIX = 'hb_';
/** Shortest key we accept when an operator supplies one (HEARTBEAT_BOOTSTRAP_KEY). */
export const MIN_API_KEY_LENGTH = 24;

export function generateApiKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** `Authorization: Bearer <key>` -> key; anything else -> null. */
export function parseBearer(header: string | null | undefined): string | null {
  if (typeof header !== 'string') return null;
  const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : null;
}

export interface CreatedApiKey {
  id: string;
  key: string;
  keyPrefix: string;
  role: ApiKeyRole;
}

export async function createApiKey(
  db: Executor,
  input: { companyId: string; name: string; role?: ApiKeyRole; key?: string },
): Promise<CreatedApiKey> {
  const key = input.key ?? generateApiKey();
  if (key.length < MIN_API_KEY_LENGTH || /\s/.test(key)) {
    throw badInput(`An API key must be at least ${MIN_API_KEY_LENGTH} characters without spaces`);
  }
  const keyPrefix = key.slice(0, KEY_PREFIX.length + 6);
  const [row] = await db
    .insert(apiKeys)
    .values({
      companyId: input.companyId,
      name: input.name,
      role: input.role ?? 'admin',
      keyHash: hashApiKey(key),
      keyPrefix,
    })
    .returning({ id: apiKeys.id, role: apiKeys.role });
  return { id: row.id, key, keyPrefix, role: row.role };
}

/** Prefix of run tokens (see claim.ts), which authenticate against the run rather than api_keys. */
export const RUN_TOKEN_PREFIX = 'hbr_';

/**
 * Who a credential stands for, and the database snapshot (`pg_current_snapshot()`) current when it
 * was checked. The snapshot comes with the same statement, so it costs no round trip; the response
 * cache (server/response-cache.ts) compares it with the one an answer was computed after.
 */
export interface Authentication {
  principal: Principal;
  snapshot: string;
}

const currentSnapshot = sql<string>`pg_current_snapshot()::text`;

/**
 * The principal a bearer token stands for: an API key (not revoked) or a run token (its run still
 * running); null otherwise.
 */
export async function authenticateBearer(db: Executor, token: string): Promise<Authentication | null> {
  if (!token.startsWith(RUN_TOKEN_PREFIX)) return authenticateApiKey(db, token);
  const [run] = await db
    .select({
      id: heartbeatRuns.id,
      companyId: heartbeatRuns.companyId,
      agentId: heartbeatRuns.agentId,
      issueId: heartbeatRuns.issueId,
      snapshot: currentSnapshot,
    })
    .from(heartbeatRuns)
    .where(and(eq(heartbeatRuns.runTokenHash, hashApiKey(token)), eq(heartbeatRuns.status, 'running')))
    .limit(1);
  if (!run) return null;
  return {
    principal: { kind: 'runToken', runId: run.id, companyId: run.companyId, agentId: run.agentId, issueId: run.issueId },
    snapshot: run.snapshot,
  };
}

/**
 * Every HTTP request checks its key, so the checks of concurrent requests share one statement
 * (built once per database handle). A check joins a statement that starts after it was asked,
 * so its snapshot is never older than its request.
 */
function apiKeyLookups(db: Executor): Batcher<string, Authentication | null> {
  const lookup = db
    .select({ keyHash: apiKeys.keyHash, id: apiKeys.id, companyId: apiKeys.companyId, role: apiKeys.role, snapshot: currentSnapshot })
    .from(apiKeys)
    .where(and(sql`${apiKeys.keyHash} = any(${sql.placeholder('keyHashes')})`, isNull(apiKeys.revokedAt)))
    .prepare('authenticate_api_keys');
  return new Batcher<string, Authentication | null>(
    async (keyHashes) => {
      const rows = await lookup.execute({ keyHashes: [...new Set(keyHashes)] });
      const byHash = new Map(rows.map((row) => [row.keyHash, row]));
      return keyHashes.map((keyHash) => {
        const row = byHash.get(keyHash);
        if (!row) return null;
        return { principal: { kind: 'apiKey', keyId: row.id, companyId: row.companyId, role: row.role }, snapshot: row.snapshot };
      });
    },
    { maxBatch: 500, maxInFlight: 2 },
  );
}

const lookupsByDatabase = new WeakMap<Executor, Batcher<string, Authentication | null>>();

/** The principal a key stands for, or null for unknown and revoked keys. */
export function authenticateApiKey(db: Executor, key: string): Promise<Authentication | null> {
  let lookups = lookupsByDatabase.get(db);
  if (!lookups) lookupsByDatabase.set(db, (lookups = apiKeyLookups(db)));
  return lookups.submit(hashApiKey(key));
}

/** Channel the key revocation is announced on, so every instance closes the key's WebSockets. */
export const KEY_REVOKED_CONTROL = 'revoke-key';

/**
 * Revokes a key of the company at once (idempotent); every instance hears of it. The company's
 * last active admin key is not revoked (CONFLICT): nobody could create or revoke keys any more.
 */
export async function revokeApiKey(db: Executor, input: { companyId: string; keyId: string; now: Date }) {
  return db.transaction(async (tx) => {
    // One revocation per company at a time, so two admins revoking each other's keys cannot both pass the check.
    await tx.select({ id: companies.id }).from(companies).where(eq(companies.id, input.companyId)).for('update');
    const [key] = await tx.select().from(apiKeys).where(and(eq(apiKeys.id, input.keyId), eq(apiKeys.companyId, input.companyId)));
    if (!key) throw notFound('API key');
    if (key.revokedAt) return key;
    if (key.role === 'admin') {
      const others = await tx.$count(
        apiKeys,
        and(eq(apiKeys.companyId, input.companyId), eq(apiKeys.role, 'admin'), isNull(apiKeys.revokedAt), ne(apiKeys.id, key.id)),
      );
      if (others === 0) {
        throw conflict('This is the last active admin key of the company: create another admin key before revoking it');
      }
    }
    const [revoked] = await tx.update(apiKeys).set({ revokedAt: input.now }).where(eq(apiKeys.id, key.id)).returning();
    // Sent when the transaction commits.
    await tx.execute(sql`select pg_notify('heartbeat_control', ${JSON.stringify({ kind: KEY_REVOKED_CONTROL, keyId: key.id })})`);
    return revoked;
  });
}
